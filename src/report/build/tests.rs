//! Unit tests of `report::build`: actions, stores, warnings and `changed` from plans alone.

use super::*;
use crate::cert::fake::{candidate, entry};
use crate::plan::{Add, StorePlan};
use crate::store::Done;

fn header(check: bool) -> Header {
    Header {
        platform: "debian".into(),
        root: "/t".into(),
        check,
    }
}

fn add(desired: usize, name: &str, repair: bool) -> Add {
    Add {
        desired,
        name: name.into(),
        key: name.into(),
        repair,
    }
}

#[test]
fn check_reports_would_and_changed_from_the_plan() {
    let desired = [candidate(1, "A"), candidate(2, "B")];
    let entries = [entry(1, "A", ""), entry(7, "old", "")];
    let plan = StorePlan {
        add: vec![add(1, "B", false)],
        remove: vec![1],
        keep: vec![(0, 0)],
        notes: vec![],
        elsewhere: vec![],
    };
    let run = StoreRun {
        id: StoreId::System,
        entries: &entries,
        plan: &plan,
        done: None,
    };
    let r = build(header(true), &desired, &[], &[run], None, vec![]);
    let got: Vec<(Action, &str)> = r
        .certificates
        .iter()
        .map(|c| (c.action, c.name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Action::Unchanged, "A"),
            (Action::WouldRemove, "old"),
            (Action::WouldAdd, "B")
        ]
    );
    assert!(r.changed && r.check);
    assert_eq!(r.certificates[1].source, "/anchors/old.crt");
}

#[test]
fn applied_reports_only_what_was_done_and_merges_nss_lines() {
    let desired = [candidate(1, "A"), candidate(2, "B")];
    let plan = StorePlan {
        add: vec![add(0, "A", true), add(1, "B", false)],
        ..StorePlan::default()
    };
    // The system store wrote the first file only, then failed.
    let partial = Done {
        removed: 0,
        added: 1,
    };
    let sys = StoreRun {
        id: StoreId::System,
        entries: &[],
        plan: &plan,
        done: Some(partial),
    };
    let r = build(header(false), &desired, &[], &[sys], None, vec![]);
    assert_eq!(r.certificates.len(), 1);
    assert_eq!(r.certificates[0].action, Action::Added);
    assert!(r.certificates[0].warnings[0].contains("re-registered"));
    assert!(r.changed);

    // Kept in the system store, added to a database: one line, both stores, "added".
    let keep = StorePlan {
        keep: vec![(0, 0)],
        ..StorePlan::default()
    };
    let entries = [entry(1, "A", "")];
    let nss_plan = StorePlan {
        add: vec![add(0, "A", false)],
        ..StorePlan::default()
    };
    let runs = [
        StoreRun {
            id: StoreId::System,
            entries: &entries,
            plan: &keep,
            done: Some(Done::default()),
        },
        StoreRun {
            id: StoreId::Nss("/db".into()),
            entries: &[],
            plan: &nss_plan,
            done: Some(Done {
                removed: 0,
                added: 1,
            }),
        },
    ];
    let r = build(header(false), &desired[..1], &[], &runs, None, vec![]);
    assert_eq!(r.certificates.len(), 1);
    assert_eq!(r.certificates[0].action, Action::Added);
    let stores: Vec<String> = r.certificates[0]
        .stores
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(stores, vec!["system", "nss:/db"]);
    assert!(r.changed);
}

#[test]
fn skipped_come_first_and_nothing_done_is_unchanged() {
    let skipped = [crate::policy::Skipped {
        cert: std::sync::Arc::new(crate::cert::fake::cert(5, "Leaf (x)")),
        source: "leaf.pem".into(),
        reason: "an end-entity certificate".into(),
    }];
    let desired = [candidate(1, "A")];
    let keep = StorePlan {
        keep: vec![(0, 0)],
        ..StorePlan::default()
    };
    let entries = [entry(1, "A", "")];
    let run = StoreRun {
        id: StoreId::System,
        entries: &entries,
        plan: &keep,
        done: Some(Done::default()),
    };
    let r = build(
        header(false),
        &desired,
        &skipped,
        &[run],
        None,
        vec!["w".into()],
    );
    assert_eq!(r.certificates[0].action, Action::Skipped);
    assert_eq!(r.certificates[0].name, "Leaf_x");
    assert!(r.certificates[0].stores.is_empty());
    assert_eq!(r.certificates[1].action, Action::Unchanged);
    assert!(!r.changed);
    assert_eq!(r.warnings, vec!["w".to_string()]);
}
