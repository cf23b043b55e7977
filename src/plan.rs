//! Planning (pure): desired anchors vs what each store holds and what is effective now →
//! what to add, remove and keep, one `StorePlan` per store. install/sync diff the desired set;
//! remove selects managed entries. `--check` stops after this; every store is planned before
//! any store is written.

use std::collections::{HashMap, HashSet};

use crate::error::Error;
use crate::policy::Candidate;
use crate::store::{nss, Entry, State};
pub use crate::store::{Add, StorePlan};

pub use crate::request::Mode;

/// The system store: `effective` is the bundle's digests, or `None` when it is not consulted
/// (`--no-update`, where only the files count).
pub fn diff(
    desired: &[Candidate],
    managed: &[Entry],
    effective: Option<&HashSet<[u8; 32]>>,
    mode: Mode,
) -> StorePlan {
    diff_avoiding(desired, managed, effective, mode, &HashSet::new())
}

/// As `diff`, and a new anchor never takes one of the `reserved` names (the platform's own, see
/// `store::shadow`): it gets the fingerprint suffix instead, the same every run, and a managed
/// anchor keeps the name it has (so nothing churns).
pub fn diff_avoiding(
    desired: &[Candidate],
    managed: &[Entry],
    effective: Option<&HashSet<[u8; 32]>>,
    mode: Mode,
    reserved: &HashSet<String>,
) -> StorePlan {
    let mut plan = StorePlan::default();
    let mut by_sha: HashMap<[u8; 32], usize> = HashMap::with_capacity(managed.len());
    for (i, m) in managed.iter().enumerate() {
        if let Some(c) = &m.cert {
            by_sha.entry(c.sha256).or_insert(i);
        }
    }
    let wanted: HashSet<[u8; 32]> = desired.iter().map(|d| d.cert.sha256).collect();
    if mode == Mode::Sync {
        for (i, m) in managed.iter().enumerate() {
            let keep = m
                .cert
                .as_ref()
                .is_some_and(|c| wanted.contains(&c.sha256) && by_sha.get(&c.sha256) == Some(&i));
            if !keep {
                plan.remove.push(i);
            }
        }
    }
    // Names held by managed files that stay.
    let removed: HashSet<usize> = plan.remove.iter().copied().collect();
    let mut taken: HashSet<String> = managed
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, m)| m.name.clone())
        .collect();
    taken.extend(reserved.iter().cloned());
    for (d, cand) in desired.iter().enumerate() {
        let sha = cand.cert.sha256;
        if let Some(&i) = by_sha.get(&sha) {
            let effective_now = effective.is_none_or(|e| e.contains(&sha));
            if managed[i].registered && effective_now {
                plan.keep.push((d, i));
            } else {
                let name = managed[i].name.clone();
                plan.add.push(Add {
                    desired: d,
                    key: name.clone(),
                    name,
                    repair: true,
                });
            }
            continue;
        }
        let mut name = cand.name.clone();
        if taken.contains(&name) {
            name = format!("{name}-{}", &cand.cert.fingerprint()[..8]);
        }
        taken.insert(name.clone());
        plan.add.push(Add {
            desired: d,
            key: name.clone(),
            name,
            repair: false,
        });
    }
    plan
}

/// The managed name the system plan gave each desired anchor, kept ones first (the order the
/// other stores are planned in).
pub fn names(plan: &StorePlan, managed: &[Entry]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = plan
        .keep
        .iter()
        .map(|&(d, i)| (d, managed[i].name.clone()))
        .collect();
    out.extend(plan.add.iter().map(|a| (a.desired, a.name.clone())));
    out.extend(plan.elsewhere.iter().map(|(d, n, _)| (*d, n.clone())));
    out
}

/// Issue 16: a new anchor (not managed) that the effective bundle already holds through a file
/// anchorage does not manage is not added: no second copy, no hook. `via` says where from, or
/// `None` when no source provides it any more (a bundle not rebuilt since that file went):
/// then it is added as usual.
pub fn trusted_elsewhere(
    plan: &mut StorePlan,
    desired: &[Candidate],
    effective: Option<&HashSet<[u8; 32]>>,
    via: impl Fn(&[u8; 32]) -> Option<String>,
) {
    let Some(effective) = effective else {
        return;
    };
    for a in std::mem::take(&mut plan.add) {
        let sha = &desired[a.desired].cert.sha256;
        match (!a.repair && effective.contains(sha))
            .then(|| via(sha))
            .flatten()
        {
            Some(from) => plan.elsewhere.push((a.desired, a.name, from)),
            None => plan.add.push(a),
        }
    }
}

/// An NSS database: present by fingerprint (under any nickname) is kept; sync removes our
/// entries nobody wants; a new nickname never takes one that holds another certificate.
/// `raw_name`: `--name` as given, the nickname of a single anchor. `label`: for messages.
pub fn diff_nss(
    desired: &[Candidate],
    named: &[(usize, String)],
    state: &State,
    mode: Mode,
    raw_name: Option<&str>,
    label: &str,
) -> Result<StorePlan, Error> {
    diff_keyed(desired, named, state, mode, raw_name, label, Keyed::NSS)
}

/// How a keyed store (NSS database, Java truststore) names entries.
#[derive(Debug, Clone, Copy)]
pub struct Keyed {
    /// "nickname", "alias" (messages).
    pub word: &'static str,
    /// The key of a managed name.
    pub key: fn(&str) -> String,
    /// NSS: note entries present without TLS trust.
    pub check_trust: bool,
    /// Java: aliases are case-insensitive (keytool folds them).
    pub fold_case: bool,
}

impl Keyed {
    pub const NSS: Keyed = Keyed {
        word: "nickname",
        key: nss::nickname,
        check_trust: true,
        fold_case: false,
    };
    pub const JAVA: Keyed = Keyed {
        word: "alias",
        key: crate::store::java::alias,
        check_trust: false,
        fold_case: true,
    };
}

/// A Java truststore: like an NSS database, with lowercase `anchorage-` aliases.
pub fn diff_java(
    desired: &[Candidate],
    named: &[(usize, String)],
    state: &State,
    mode: Mode,
    raw_name: Option<&str>,
    label: &str,
) -> Result<StorePlan, Error> {
    diff_keyed(desired, named, state, mode, raw_name, label, Keyed::JAVA)
}

fn diff_keyed(
    desired: &[Candidate],
    named: &[(usize, String)],
    state: &State,
    mode: Mode,
    raw_name: Option<&str>,
    label: &str,
    keyed: Keyed,
) -> Result<StorePlan, Error> {
    let mut plan = StorePlan::default();
    let entries = &state.entries;
    let cert_of = |e: &Entry| e.cert.as_ref().map(|c| c.sha256);
    let present: HashSet<[u8; 32]> = entries.iter().filter_map(cert_of).collect();
    let wanted: HashSet<[u8; 32]> = named.iter().map(|(d, _)| desired[*d].cert.sha256).collect();
    if mode == Mode::Sync {
        plan.remove = state
            .managed()
            .filter(|(_, e)| cert_of(e).is_some_and(|s| !wanted.contains(&s)))
            .map(|(i, _)| i)
            .collect();
    }
    let removed: HashSet<&str> = plan
        .remove
        .iter()
        .map(|&i| entries[i].nickname.as_str())
        .collect();
    for (d, name) in named {
        let cert = &desired[*d].cert;
        if present.contains(&cert.sha256) {
            let Some(i) = entries.iter().position(|e| cert_of(e) == Some(cert.sha256)) else {
                continue;
            };
            plan.keep.push((*d, i));
            let e = &entries[i];
            if keyed.check_trust && !e.trust.starts_with(['C', 'T']) && !e.trust.contains('C') {
                plan.notes.push(format!(
                    "{label}: '{}' is present as '{}' with trust '{}' (not a trusted TLS CA)",
                    cert.subject, e.nickname, e.trust
                ));
            }
            continue;
        }
        let nick = (keyed.key)(if named.len() == 1 {
            raw_name.unwrap_or(name)
        } else {
            name
        });
        if let Some(other) = entries.iter().find(|e| {
            let same = if keyed.fold_case {
                e.nickname.eq_ignore_ascii_case(&nick)
            } else {
                e.nickname == nick
            };
            same && !removed.contains(e.nickname.as_str())
        }) {
            let (subject, fp) = other
                .cert
                .as_ref()
                .map(|c| (c.subject.clone(), c.fingerprint()))
                .unwrap_or_default();
            return Err(Error::Failed {
                msg: format!(
                    "{label}: {} '{nick}' already holds a different certificate ('{subject}', sha256 {fp}); refusing to add '{}' (sha256 {})",
                    keyed.word,
                    cert.subject,
                    cert.fingerprint()
                ),
                path: Some(other.path.clone()),
                hint: Some(
                    "remove the old entry (`anchorage remove`) or choose another --name".into(),
                ),
            });
        }
        plan.add.push(Add {
            desired: *d,
            name: name.clone(),
            key: nick,
            repair: false,
        });
    }
    Ok(plan)
}

/// What `remove` selects: managed entries whose fingerprint or managed name is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub fingerprints: HashSet<String>,
    pub names: HashSet<String>,
}

impl Selection {
    pub fn matches(&self, e: &Entry) -> bool {
        e.cert
            .as_ref()
            .is_some_and(|c| self.fingerprints.contains(&c.fingerprint()))
            || self.names.contains(&e.name)
    }

    /// Also select what `entries` are (NSS entries go by the names and fingerprints of the
    /// files they mirror).
    pub fn widen<'a>(&mut self, entries: impl IntoIterator<Item = &'a Entry>) {
        for e in entries {
            self.names.insert(e.name.clone());
            if let Some(c) = &e.cert {
                self.fingerprints.insert(c.fingerprint());
            }
        }
    }
}

/// What a typed `remove` selector stands for among the managed entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The managed entries it names: their fingerprints and names.
    Matched(Selection),
    /// A fingerprint prefix shared by several certificates: (name, full sha256) of each.
    Ambiguous(Vec<(String, String)>),
    /// Nothing; the closest managed name or CN when one is close.
    Unmatched(Option<String>),
}

/// The selection of every selector (a file's fingerprints; a typed selector resolved against
/// `managed`), and a warning for each that selects nothing. An ambiguous fingerprint prefix is
/// a usage error listing the candidates.
pub fn resolve_all(
    selectors: &[(String, Option<HashSet<String>>)],
    managed: &[&Entry],
) -> Result<(Selection, Vec<String>), Error> {
    let mut selection = Selection::default();
    let mut unmatched = Vec::new();
    let present: HashSet<String> = managed
        .iter()
        .filter_map(|e| e.cert.as_ref().map(|c| c.fingerprint()))
        .collect();
    for (sel, set) in selectors {
        let none = format!("nothing managed by anchorage matches '{sel}'");
        match set {
            Some(fps) => {
                if !fps.iter().any(|f| present.contains(f)) {
                    unmatched.push(none);
                }
                selection.fingerprints.extend(fps.iter().cloned());
            }
            None => match resolve(sel, managed) {
                Resolved::Matched(s) => {
                    selection.fingerprints.extend(s.fingerprints);
                    selection.names.extend(s.names);
                }
                Resolved::Ambiguous(candidates) => {
                    let list: Vec<String> = candidates
                        .iter()
                        .map(|(name, fp)| format!("{name} (sha256 {fp})"))
                        .collect();
                    return Err(Error::usage_hint(
                        format!(
                            "'{sel}' matches {} managed anchors: {}",
                            candidates.len(),
                            list.join(", ")
                        ),
                        "give more digits of the sha256, or the managed name",
                    ));
                }
                Resolved::Unmatched(close) => unmatched.push(match close {
                    Some(c) => format!("{none}; did you mean '{c}'?"),
                    None => none,
                }),
            },
        }
    }
    Ok((selection, unmatched))
}

/// Shortest fingerprint prefix accepted (hex digits).
pub const MIN_PREFIX: usize = 8;

/// A selector as a sha256 prefix: `sha256:` optional, a trailing `…` (or `...`) as the text
/// report prints it, colons anywhere, any case; at least `MIN_PREFIX` hex digits.
pub fn fingerprint_prefix(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sha256:"))
        .map_or(s, |_| &s[7..]);
    let s = s.trim_end_matches('…').trim_end_matches("...");
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    (hex.len() >= MIN_PREFIX && hex.len() <= 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Resolve a typed selector against `managed` (every store's managed entries): the managed
/// name, the subject CN (or the whole subject) as printed, or a unique fingerprint prefix.
pub fn resolve(selector: &str, managed: &[&Entry]) -> Resolved {
    let mut sel = Selection::default();
    let named = |e: &Entry| {
        e.name == selector
            // A Java alias is the managed name in lowercase (keytool folds aliases).
            || (e.trust == crate::store::java::TRUST && e.name.eq_ignore_ascii_case(selector))
            || e.cert.as_ref().is_some_and(|c| {
                c.common_name == selector
                    || c.subject == selector
                    || selector.strip_prefix("CN=") == Some(&c.common_name)
            })
    };
    let mut hits: Vec<&Entry> = managed.iter().copied().filter(|e| named(e)).collect();
    if hits.is_empty() {
        if let Some(prefix) = fingerprint_prefix(selector) {
            hits = managed
                .iter()
                .copied()
                .filter(|e| {
                    e.cert
                        .as_ref()
                        .is_some_and(|c| c.fingerprint().starts_with(&prefix))
                })
                .collect();
            let mut distinct: Vec<(String, String)> = Vec::new();
            for e in &hits {
                let fp = e.cert.as_ref().map(|c| c.fingerprint()).unwrap_or_default();
                if !distinct.iter().any(|(_, f)| *f == fp) {
                    distinct.push((e.name.clone(), fp));
                }
            }
            if distinct.len() > 1 {
                distinct.sort();
                return Resolved::Ambiguous(distinct);
            }
        }
    }
    if hits.is_empty() {
        return Resolved::Unmatched(suggest(selector, managed));
    }
    sel.widen(hits);
    Resolved::Matched(sel)
}

/// The managed name or CN closest to `selector`, when one is close: equal but for case or
/// `_` against space, or within an edit distance of 2 (the first closest: a name before its CN).
fn suggest(selector: &str, managed: &[&Entry]) -> Option<String> {
    let fold = |s: &str| s.to_lowercase().replace(' ', "_");
    let wanted = fold(selector);
    let mut best: Option<(usize, String)> = None;
    for e in managed {
        let cn = e.cert.as_ref().map(|c| c.common_name.as_str());
        for candidate in std::iter::once(e.name.as_str()).chain(cn) {
            let d = if fold(candidate) == wanted {
                0
            } else {
                distance(selector, candidate)
            };
            if d <= 2 && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                best = Some((d, candidate.to_string()));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// remove: a plan whose adds are empty: the managed entries that match.
pub fn select(state: &State, selection: &Selection) -> StorePlan {
    StorePlan {
        remove: state
            .managed()
            .filter(|(_, e)| selection.matches(e))
            .map(|(i, _)| i)
            .collect(),
        ..StorePlan::default()
    }
}

#[cfg(test)]
mod tests;
