//! Link safety and failures: chown never follows a planted link, no certutil (69), a database
//! certutil cannot read or a nickname conflict (1, before any write), one that fails while
//! applying (1, with the system changes reported), one its owner cannot read.

use super::{certutil_add, certutil_create, with_users, DB};
use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

#[test]
fn chown_never_follows_a_planted_link() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    let db = root.join(DB.trim_start_matches('/'));
    certutil_create(&db);
    // A file outside the tree standing in for /etc/shadow, and a link to it inside the db.
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(outside.path(), db.join("shadow-link")).unwrap();
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--nssdb",
            DB,
            "--nss-owner",
            "browserbot",
        ])
        .arg(fx("myNewCa.pem"))));
    assert!(r.changed);
    let m = std::fs::metadata(outside.path()).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (0, 0, 0o640),
        "link target untouched"
    );
    let l = std::fs::symlink_metadata(db.join("shadow-link")).unwrap();
    assert_eq!(l.uid(), 0, "the link itself is not chowned");
    assert_eq!(std::fs::metadata(db.join("cert9.db")).unwrap().uid(), 4242);
    // A database file that is a link is refused (certutil would follow it).
    let t2 = debian_tree();
    let db2 = t2.path().join("srv/nssdb");
    std::fs::create_dir_all(&db2).unwrap();
    std::os::unix::fs::symlink(outside.path(), db2.join("cert9.db")).unwrap();
    let o = run(anchorage(t2.path())
        .args(["install", "--no-update", "--nssdb", "/srv/nssdb"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
}

#[test]
fn missing_certutil_is_69_and_changes_nothing() {
    let t = debian_tree();
    let root = t.path();
    let before = snapshot(root);
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--nssdb", DB])
        .arg(fx("myNewCa.pem"))
        .env("PATH", "/nonexistent"));
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(stderr(&o).contains("libnss3-tools"), "{}", stderr(&o));
    assert_eq!(snapshot(root), before);
    let o = run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--platform",
            "rhel",
            "--nssdb",
            DB,
        ])
        .arg(fx("myNewCa.pem"))
        .env("PATH", "/nonexistent"));
    assert!(stderr(&o).contains("nss-tools"), "{}", stderr(&o));
}

#[test]
fn certutil_failure_is_1_and_reports_system_changes() {
    let t = debian_tree();
    let root = t.path();
    let db = root.join("srv/broken");
    std::fs::create_dir_all(&db).unwrap();
    // No cert9.db yet, so planning reads nothing; a garbage key4.db makes `certutil -N` fail
    // while applying, after the system store was written.
    std::fs::write(db.join("key4.db"), b"this is not sqlite").unwrap();
    let o = run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--nssdb",
            "/srv/broken",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("certutil"), "{}", stderr(&o));
    let f = failure(&o);
    assert!(f.failed);
    assert!(f.changed, "the system store was changed and says so");
    let certs = f.certificates.expect("partial report");
    assert_eq!(certs[0].action, "added");
    assert_eq!(certs[0].stores, vec!["system"]);
}

#[test]
fn unreadable_database_stops_the_run_before_the_system_store_changes() {
    let t = debian_tree();
    let root = t.path();
    let db = root.join("srv/broken");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("cert9.db"), b"this is not sqlite").unwrap();
    let before = snapshot(root);
    let o = run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--nssdb",
            "/srv/broken",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("certutil"), "{}", stderr(&o));
    let f = failure(&o);
    assert!(f.failed && !f.changed);
    assert!(f.certificates.is_none(), "nothing was applied");
    assert_eq!(
        snapshot(root),
        before,
        "every store is planned before any is written"
    );
}

#[test]
fn nickname_conflict_stops_the_run_before_the_system_store_changes() {
    let t = debian_tree();
    let root = t.path();
    let db = root.join(DB.trim_start_matches('/'));
    std::fs::create_dir_all(&db).unwrap();
    certutil_create(&db);
    certutil_add(&db, "anchorage-Mine", &fx("ca2.pem"));
    let before = snapshot(root);
    let o = run(anchorage(root)
        .args([
            "install", "--format", "json", "--name", "Mine", "--nssdb", DB,
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already holds a different certificate"),
        "{}",
        stderr(&o)
    );
    let f = failure(&o);
    assert!(!f.changed && f.certificates.is_none());
    assert_eq!(snapshot(root), before, "the system store was not written");
}

#[test]
fn doctor_flags_a_database_its_owner_cannot_read() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    report(&run(anchorage(root)
        .args([
            "install",
            "--format",
            "json",
            "--nssdb",
            DB,
            "--nss-owner",
            "browserbot",
        ])
        .arg(fx("myNewCa.pem"))));
    let o = run(anchorage(root).args([
        "doctor",
        "--format",
        "json",
        "--nssdb",
        DB,
        "--nss-owner",
        "browserbot",
    ]));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let db = root.join(DB.trim_start_matches('/'));
    Command::new("chown")
        .arg("0:0")
        .arg(db.join("cert9.db"))
        .status()
        .unwrap();
    let o = run(anchorage(root).args([
        "doctor",
        "--format",
        "json",
        "--nssdb",
        DB,
        "--nss-owner",
        "browserbot",
    ]));
    assert_eq!(code(&o), 1);
    let d: serde_json::Value = value::<Doctor>(&o.stdout);
    assert!(
        d["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("cannot read")),
        "{d}"
    );
}
