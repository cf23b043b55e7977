//! The NSS side of a run: which databases (--nssdb, --nss-discover), certutil and the owner
//! resolved up front (so a missing certutil or unknown user changes nothing), then per
//! database: plan by fingerprint, apply, chown, and merge the result into the report.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::Target;
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::plan::Mode;
use crate::platform;
use crate::report::{Action, CertReport, ListEntry, Report};
use crate::store::nss::{self, DbKind, NssDb};

#[derive(Debug, Clone, Default)]
pub struct NssOpts {
    pub dirs: Vec<String>,
    pub owner: Option<String>,
    pub discover: bool,
}

pub struct NssCtx {
    certutil: PathBuf,
    pub dbs: Vec<NssDb>,
    owner: Option<(u32, u32)>,
    pub notes: Vec<String>,
}

/// Resolve everything that can fail before a write. `None` when no database is in play.
pub fn context(target: &Target, o: &NssOpts) -> Result<Option<NssCtx>> {
    let mut dbs: Vec<NssDb> = o
        .dirs
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| NssDb::new(&target.root, d, false))
        .collect();
    let mut notes = Vec::new();
    if o.discover {
        for db in nss::discover(&target.root) {
            if dbs.iter().any(|d| d.abs == db.abs) {
                continue;
            }
            if db.kind() == DbKind::Dbm {
                notes.push(format!(
                    "found NSS database {} (legacy dbm: cert8.db), left untouched",
                    db.rel
                ));
                continue;
            }
            notes.push(format!("found NSS database {}", db.rel));
            dbs.push(db);
        }
    }
    if dbs.is_empty() {
        if o.owner.is_some() {
            return Err(Error::usage("--nss-owner needs --nssdb"));
        }
        return Ok(None);
    }
    for db in dbs
        .iter()
        .filter(|d| !d.discovered && d.kind() == DbKind::Dbm)
    {
        notes.push(format!(
            "{}: legacy dbm database (cert8.db); used as is, not converted",
            db.rel
        ));
    }
    let certutil = nss::find_certutil(platform::layout(target.detected.id).nss_package)?;
    let owner = o
        .owner
        .as_deref()
        .map(|s| crate::users::resolve_owner(&target.root, s))
        .transpose()?;
    for db in &dbs {
        db.check_safe(&target.root)?;
    }
    Ok(Some(NssCtx {
        certutil,
        dbs,
        owner,
        notes,
    }))
}

/// Put a per-store outcome into the report: one entry per certificate, `stores` lists every
/// store it is in (or was removed from), and the action is the strongest of the stores'.
fn merge(
    report: &mut Report,
    cert: &Certificate,
    name: &str,
    action: Action,
    store: &str,
    source: &str,
) {
    let sha = cert.fingerprint();
    if let Some(r) = report
        .certificates
        .iter_mut()
        .find(|r| r.sha256 == sha && r.action != Action::Skipped)
    {
        let stronger = matches!(
            (r.action, action),
            (
                Action::Unchanged,
                Action::Added | Action::WouldAdd | Action::Removed | Action::WouldRemove
            )
        );
        if stronger {
            r.action = action;
        }
        if !r.stores.iter().any(|s| s == store) {
            r.stores.push(store.to_string());
        }
        return;
    }
    let mut r = CertReport::new(cert, name, action, source);
    r.stores.push(store.to_string());
    report.certificates.push(r);
}

/// Install (or sync) `desired` (certificate, managed name, source) into every database.
pub fn apply(
    ctx: &NssCtx,
    root: &Path,
    desired: &[(Certificate, String, String)],
    raw_name: Option<&str>,
    mode: Mode,
    check: bool,
    report: &mut Report,
) -> Result<()> {
    for db in &ctx.dbs {
        let label = db.label();
        let entries = db.entries(&ctx.certutil)?;
        let present: HashSet<[u8; 32]> = entries.iter().map(|e| e.cert.sha256).collect();
        let wanted: HashSet<[u8; 32]> = desired.iter().map(|(c, _, _)| c.sha256).collect();
        let removals: Vec<&nss::Entry> = if mode == Mode::Sync {
            entries
                .iter()
                .filter(|e| e.ours() && !wanted.contains(&e.cert.sha256))
                .collect()
        } else {
            Vec::new()
        };
        let removed_nicks: HashSet<&str> = removals.iter().map(|e| e.nickname.as_str()).collect();
        let mut adds = Vec::new();
        for (cert, name, source) in desired {
            if present.contains(&cert.sha256) {
                merge(report, cert, name, Action::Unchanged, &label, source);
                if let Some(e) = entries.iter().find(|e| e.cert.sha256 == cert.sha256) {
                    if !e.trust.starts_with(['C', 'T']) && !e.trust.contains('C') {
                        report.warnings.push(format!(
                            "{}: '{}' is present as '{}' with trust '{}' (not a trusted TLS CA)",
                            db.rel, cert.subject, e.nickname, e.trust
                        ));
                    }
                }
                continue;
            }
            let nick = nss::nickname(if desired.len() == 1 {
                raw_name.unwrap_or(name)
            } else {
                name
            });
            if let Some(other) = entries
                .iter()
                .find(|e| e.nickname == nick && !removed_nicks.contains(e.nickname.as_str()))
            {
                return Err(Error::Failed {
                    msg: format!(
                        "{}: nickname '{nick}' already holds a different certificate ('{}', sha256 {}); refusing to add '{}' (sha256 {})",
                        db.rel,
                        other.cert.subject,
                        other.cert.fingerprint(),
                        cert.subject,
                        cert.fingerprint()
                    ),
                    path: Some(db.abs.clone()),
                    hint: "remove the old entry (`anchorage remove`) or choose another --name".into(),
                });
            }
            adds.push((cert, name, source, nick));
        }
        if check {
            for e in &removals {
                merge(
                    report,
                    &e.cert,
                    e.nickname.trim_start_matches(nss::NICK_PREFIX),
                    Action::WouldRemove,
                    &label,
                    &db.rel,
                );
            }
            for (cert, name, source, _) in &adds {
                merge(report, cert, name, Action::WouldAdd, &label, source);
            }
            if !removals.is_empty() || !adds.is_empty() {
                report.changed = true;
            }
            continue;
        }
        if removals.is_empty() && adds.is_empty() {
            continue;
        }
        let created = if db.kind() == DbKind::Missing {
            db.create(root, &ctx.certutil)?
        } else {
            Vec::new()
        };
        for e in &removals {
            db.delete(&ctx.certutil, &e.nickname)?;
            report.changed = true;
            merge(
                report,
                &e.cert,
                e.nickname.trim_start_matches(nss::NICK_PREFIX),
                Action::Removed,
                &label,
                &db.rel,
            );
        }
        for (cert, name, source, nick) in &adds {
            db.add(&ctx.certutil, nick, cert)?;
            report.changed = true;
            merge(report, cert, name, Action::Added, &label, source);
        }
        give_owner(ctx, db, &created)?;
    }
    Ok(())
}

/// Explicit databases go to --nss-owner; discovered ones keep their owner.
fn give_owner(ctx: &NssCtx, db: &NssDb, created: &[PathBuf]) -> Result<()> {
    let owner = if db.discovered { db.owner() } else { ctx.owner };
    match owner {
        Some(o) => db.chown(o, created),
        None => Ok(()),
    }
}

/// Remove our entries matching fingerprints or names from every database.
pub fn remove(
    ctx: &NssCtx,
    shas: &HashSet<String>,
    names: &HashSet<String>,
    check: bool,
    report: &mut Report,
) -> Result<HashSet<String>> {
    let mut matched = HashSet::new();
    for db in &ctx.dbs {
        let label = db.label();
        let entries = db.entries(&ctx.certutil)?;
        let mut changed = false;
        for e in entries.iter().filter(|e| e.ours()) {
            let name = e.nickname.trim_start_matches(nss::NICK_PREFIX);
            let fp = e.cert.fingerprint();
            if !(shas.contains(&fp) || names.contains(name)) {
                continue;
            }
            matched.insert(fp.clone());
            matched.insert(name.to_string());
            if check {
                report.changed = true;
                merge(report, &e.cert, name, Action::WouldRemove, &label, &db.rel);
                continue;
            }
            db.delete(&ctx.certutil, &e.nickname)?;
            report.changed = true;
            changed = true;
            merge(report, &e.cert, name, Action::Removed, &label, &db.rel);
        }
        if changed {
            give_owner(ctx, db, &[])?;
        }
    }
    Ok(matched)
}

/// Add NSS presence to list entries (and entries only in a database); problems for doctor.
pub fn annotate(ctx: &NssCtx, entries: &mut Vec<ListEntry>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for db in &ctx.dbs {
        let label = db.label();
        if db.kind() == DbKind::Missing {
            problems.push(format!("{}: no NSS database there", db.rel));
            continue;
        }
        let owner = if db.discovered {
            db.owner()
        } else {
            ctx.owner.or_else(|| db.owner())
        };
        if let Some(o) = owner {
            for f in db.unreadable_by(o) {
                problems.push(format!(
                    "{}: the owner ({}:{}) cannot read {f}",
                    db.rel, o.0, o.1
                ));
            }
        }
        for e in db.entries(&ctx.certutil)? {
            let fp = e.cert.fingerprint();
            if let Some(le) = entries.iter_mut().find(|le| le.sha256 == fp) {
                le.stores.push(label.clone());
            } else if e.ours() {
                entries.push(ListEntry {
                    name: e.nickname.trim_start_matches(nss::NICK_PREFIX).to_string(),
                    subject: e.cert.subject.clone(),
                    issuer: e.cert.issuer.clone(),
                    sha256: fp,
                    not_after: e.cert.not_after_rfc3339(),
                    stores: vec![label.clone()],
                    paths: vec![db.abs.display().to_string()],
                    in_bundle: false,
                });
            }
        }
        for le in entries
            .iter()
            .filter(|le| le.stores.iter().any(|s| s == "system") && !le.stores.contains(&label))
        {
            problems.push(format!(
                "{}: managed anchor '{}' is not in this database",
                db.rel, le.name
            ));
        }
    }
    Ok(problems)
}
