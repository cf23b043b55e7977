//! Unit tests of planning: the install/sync diff, the NSS diff and remove's selection.

use std::collections::HashSet;

use super::*;
use crate::cert::fake::{candidate, entry};
use crate::store::State;

fn state(entries: Vec<Entry>) -> State {
    State {
        entries,
        effective: None,
    }
}

#[test]
fn install_keeps_effective_adds_new_and_repairs_ineffective() {
    let desired = [candidate(1, "A"), candidate(2, "B"), candidate(3, "C")];
    let managed = [entry(1, "A", ""), entry(2, "B", "")];
    let effective: HashSet<[u8; 32]> = HashSet::from([[1; 32]]);
    let plan = diff(&desired, &managed, Some(&effective), Mode::Install);
    assert_eq!(plan.keep, vec![(0, 0)]);
    assert_eq!(plan.remove, Vec::<usize>::new());
    let adds: Vec<(usize, &str, bool)> = plan
        .add
        .iter()
        .map(|a| (a.desired, a.name.as_str(), a.repair))
        .collect();
    assert_eq!(adds, vec![(1, "B", true), (2, "C", false)]);
    // --no-update: the files alone count.
    let plan = diff(&desired, &managed, None, Mode::Install);
    assert_eq!(plan.keep, vec![(0, 0), (1, 1)]);
}

#[test]
fn sync_removes_unwanted_and_duplicates_and_renames_on_name_clash() {
    let desired = [candidate(1, "A"), candidate(3, "B")];
    // Entry 1 duplicates A's certificate; entry 2 holds name "B" with another certificate.
    let managed = [entry(1, "A", ""), entry(1, "A2", ""), entry(2, "B", "")];
    let plan = diff(&desired, &managed, None, Mode::Sync);
    assert_eq!(plan.keep, vec![(0, 0)]);
    assert_eq!(plan.remove, vec![1, 2]);
    // "B" is freed by the removal, so the new anchor takes it.
    assert_eq!(plan.add[0].name, "B");
    let plan = diff(&desired, &managed, None, Mode::Install);
    assert!(plan.remove.is_empty());
    assert_eq!(plan.add[0].name, format!("B-{}", "03".repeat(4)));
}

#[test]
fn names_lists_kept_then_added() {
    let desired = [candidate(1, "A"), candidate(2, "B")];
    let managed = [entry(2, "old-B", "")];
    let plan = diff(&desired, &managed, None, Mode::Install);
    assert_eq!(
        names(&plan, &managed),
        vec![(1, "old-B".to_string()), (0, "A".to_string())]
    );
}

#[test]
fn nss_diff_keeps_by_fingerprint_warns_on_untrusted_and_refuses_nickname_clash() {
    let desired = [candidate(1, "A"), candidate(2, "B")];
    let named = vec![(0, "A".to_string()), (1, "B".to_string())];
    let mut foreign = entry(1, "corp", "Corp Root");
    foreign.trust = ",,".into();
    let st = state(vec![foreign, entry(9, "old", "anchorage-old")]);
    let plan = diff_nss(&desired, &named, &st, Mode::Sync, None, "/db").unwrap();
    assert_eq!(plan.keep, vec![(0, 0)]);
    assert_eq!(plan.remove, vec![1]);
    assert_eq!(plan.add.len(), 1);
    assert_eq!(plan.add[0].key, "anchorage-B");
    assert_eq!(plan.notes.len(), 1);
    assert!(
        plan.notes[0].contains("with trust ',,'"),
        "{:?}",
        plan.notes
    );
    // install never removes; a nickname holding another certificate stops the plan.
    let st = state(vec![entry(9, "B", "anchorage-B")]);
    let err = diff_nss(&desired, &named, &st, Mode::Install, None, "/db").unwrap_err();
    assert!(err
        .to_string()
        .contains("nickname 'anchorage-B' already holds"));
    // ... unless sync removes that entry in the same plan.
    let plan = diff_nss(&desired, &named, &st, Mode::Sync, None, "/db").unwrap();
    assert_eq!(plan.remove, vec![0]);
    // --name is the nickname of a single anchor.
    let one = vec![(0, "A".to_string())];
    let plan = diff_nss(
        &desired,
        &one,
        &state(vec![]),
        Mode::Install,
        Some("My CA"),
        "/db",
    );
    assert_eq!(plan.unwrap().add[0].key, "anchorage-My CA");
}

#[test]
fn select_matches_managed_names_and_fingerprints_only() {
    let st = state(vec![
        entry(1, "A", "anchorage-A"),
        entry(2, "B", "anchorage-B"),
        entry(3, "C", "Someone Else"),
    ]);
    let mut sel = Selection::default();
    sel.names.insert("A".into());
    sel.fingerprints.insert(hex::encode([3u8; 32]));
    // C matches by fingerprint but is not ours.
    assert_eq!(select(&st, &sel).remove, vec![0]);
    sel.widen([&st.entries[1]]);
    let plan = select(&st, &sel);
    assert_eq!(plan.remove, vec![0, 1]);
    assert!(plan.add.is_empty() && plan.keep.is_empty());
}

#[test]
fn fingerprint_prefixes_as_printed() {
    let fp = hex::encode([0x8b; 32]);
    assert_eq!(
        fingerprint_prefix("sha256:8b8b8b8b8b8b8b8b…"),
        Some("8b8b8b8b8b8b8b8b".into())
    );
    assert_eq!(fingerprint_prefix("8B:8B:8B:8B"), Some("8b8b8b8b".into()));
    assert_eq!(
        fingerprint_prefix("SHA256:8b8b8b8b..."),
        Some("8b8b8b8b".into())
    );
    assert_eq!(fingerprint_prefix(&fp), Some(fp.clone()));
    assert_eq!(fingerprint_prefix("8b8b8b8"), None, "fewer than 8 digits");
    assert_eq!(fingerprint_prefix("Corp_Root"), None);
    assert_eq!(
        fingerprint_prefix(&format!("{fp}00")),
        None,
        "longer than sha256"
    );
}

fn named(n: u8, name: &str, cn: &str) -> Entry {
    let mut e = entry(n, name, "");
    if let Some(c) = e.cert.as_mut() {
        c.common_name = cn.into();
        c.subject = format!("CN={cn}, O=Corp");
    }
    e
}

#[test]
fn resolve_by_name_cn_and_unique_prefix() {
    let a = named(0xab, "Corp_Root_CA_2", "Corp Root CA 2");
    let mut b = named(0xac, "Other", "Other CA");
    // b's fingerprint shares its first 8 digits with c's.
    if let Some(c) = b.cert.as_mut() {
        c.sha256 = [0xcd; 32];
    }
    let mut c = named(0xce, "Third", "Third CA");
    if let Some(cert) = c.cert.as_mut() {
        cert.sha256[..4].copy_from_slice(&[0xcd; 4]);
    }
    let managed = [&a, &b, &c];
    let sel = |names: &[&str], fps: &[[u8; 32]]| {
        Resolved::Matched(Selection {
            names: names.iter().map(|s| s.to_string()).collect(),
            fingerprints: fps.iter().map(hex::encode).collect(),
        })
    };
    let want_a = sel(&["Corp_Root_CA_2"], &[[0xab; 32]]);
    assert_eq!(resolve("Corp_Root_CA_2", &managed), want_a);
    assert_eq!(resolve("Corp Root CA 2", &managed), want_a);
    assert_eq!(resolve("CN=Corp Root CA 2, O=Corp", &managed), want_a);
    assert_eq!(resolve("sha256:abababababababab…", &managed), want_a);
    assert_eq!(resolve("AB:AB:AB:AB", &managed), want_a);
    // Shared prefix: ambiguous, listing both with their full sha256.
    match resolve("cdcdcdcd", &managed) {
        Resolved::Ambiguous(c) => assert_eq!(
            c,
            vec![
                ("Other".to_string(), hex::encode([0xcd; 32])),
                (
                    "Third".to_string(),
                    format!("{}{}", "cd".repeat(4), "ce".repeat(28))
                ),
            ]
        ),
        other => panic!("{other:?}"),
    }
    // One more digit decides.
    assert!(matches!(
        resolve("cdcdcdcdcd", &managed),
        Resolved::Matched(_)
    ));
    // The same certificate in two stores is one candidate, not an ambiguity.
    let a_nss = entry(0xab, "Corp_Root_CA_2", "anchorage-Corp_Root_CA_2");
    assert_eq!(resolve("abababab", &[&a, &a_nss]), want_a);
}

#[test]
fn unmatched_selectors_suggest_a_close_name_or_cn() {
    let a = named(1, "Corp_Root_CA_2", "Corp Root CA 2");
    let b = named(2, "Other", "Other CA");
    let managed = [&a, &b];
    let hint = |s: &str| match resolve(s, &managed) {
        Resolved::Unmatched(h) => h,
        other => panic!("{other:?}"),
    };
    assert_eq!(hint("corp_root_ca_2"), Some("Corp_Root_CA_2".into()));
    assert_eq!(hint("corp root ca 2"), Some("Corp_Root_CA_2".into()));
    assert_eq!(hint("Corp_Root_CA_3"), Some("Corp_Root_CA_2".into()));
    assert_eq!(hint("Othr CA"), Some("Other CA".into()));
    assert_eq!(hint("Something else entirely"), None);
    assert_eq!(hint("deadbeefdeadbeef"), None);
}
