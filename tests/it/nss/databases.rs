//! The BrowserBot steps in one command, the fingerprint (not the nickname) decides, names with
//! spaces and quotes, discovery of the users' databases.

use super::{certutil_add, certutil_create, nicknames, with_users, DB};
use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

#[test]
fn browserbot_steps_in_one_command() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    let db = root.join(DB.trim_start_matches('/'));
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--format",
            "json",
            "--nssdb",
            DB,
            "--nss-owner",
            "browserbot",
        ])
        .arg(fx("myNewCa.der"))));
    assert!(r.changed);
    let c = &r.certificates[0];
    assert_eq!(c.action, "added");
    assert_eq!(c.stores, vec!["system".to_string(), format!("nss:{DB}")]);
    assert_eq!(
        nicknames(&db),
        vec![("anchorage-myNewCa_Test_Root".to_string(), "C,,".to_string())]
    );
    // Owner from the tree's passwd (4242:4343, not a host user), for the db and the .pki parent
    // anchorage created; the home and /var/lib stay root's and 0755.
    for p in [
        db.clone(),
        db.parent().unwrap().to_path_buf(),
        db.join("cert9.db"),
        db.join("key4.db"),
    ] {
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (4242, 4343), "{}", p.display());
    }
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(db.join("cert9.db"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let home = root.join("var/lib/te-browserbot");
    assert_eq!(std::fs::metadata(&home).unwrap().uid(), 0);
    assert_eq!(
        std::fs::metadata(root.join("var/lib"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );

    // Second run: unchanged in both stores, database bytes untouched.
    let before = snapshot(&db);
    let r = report(&run(anchorage(root)
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
    assert!(!r.changed);
    assert_eq!(r.certificates[0].action, "unchanged");
    assert_eq!(r.certificates[0].stores.len(), 2);
    assert_eq!(snapshot(&db), before);

    // list shows the NSS state.
    let o = run(anchorage(root).args(["list", "--format", "json", "--nssdb", DB]));
    let v: serde_json::Value = value::<List>(&o.stdout);
    assert_eq!(v["certificates"][0]["stores"][1], format!("nss:{DB}"));

    // --check changes nothing in the database.
    let r = report(&run(anchorage(root)
        .args(["sync", "--check", "--format", "json", "--nssdb", DB])
        .arg(fx("ca2.pem"))));
    assert!(r.changed);
    assert_eq!(snapshot(&db), before);

    // sync rotates inside the database too; remove clears it.
    let r = report(&run(anchorage(root)
        .args([
            "sync",
            "--format",
            "json",
            "--nssdb",
            DB,
            "--nss-owner",
            "browserbot",
        ])
        .arg(fx("ca2.pem"))));
    let mut a: Vec<&str> = r.certificates.iter().map(|c| c.action.as_str()).collect();
    a.sort();
    assert_eq!(a, vec!["added", "removed"]);
    assert_eq!(
        nicknames(&db),
        vec![("anchorage-Rotation_Root_2".to_string(), "C,,".to_string())]
    );
    let r = report(&run(anchorage(root).args([
        "remove",
        "--format",
        "json",
        "--nssdb",
        DB,
        "Rotation_Root_2",
    ])));
    assert_eq!(r.certificates[0].action, "removed");
    assert!(r.certificates[0].stores.contains(&format!("nss:{DB}")));
    assert!(nicknames(&db).is_empty());
    assert_eq!(
        std::fs::metadata(db.join("cert9.db")).unwrap().uid(),
        4242,
        "owner kept after remove"
    );
}

#[test]
fn fingerprint_not_nickname_decides() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    let db = root.join(DB.trim_start_matches('/'));
    certutil_create(&db);
    // The same CA under an operator's own nickname: unchanged, no second entry.
    certutil_add(&db, "MY-CA-CERT", &fx("myNewCa.pem"));
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json", "--nssdb", DB])
        .arg(fx("myNewCa.pem"))));
    let c = &r.certificates[0];
    assert_eq!(c.action, "added", "the system store still gets it");
    assert!(c.stores.contains(&format!("nss:{DB}")));
    assert_eq!(nicknames(&db).len(), 1);
    // remove never deletes the operator's entry.
    report(&run(anchorage(root).args([
        "remove",
        "--no-update",
        "--format",
        "json",
        "--nssdb",
        DB,
        "myNewCa_Test_Root",
    ])));
    assert_eq!(
        nicknames(&db),
        vec![("MY-CA-CERT".to_string(), "C,,".to_string())]
    );
    // A different certificate under our nickname: exit 1 naming both.
    certutil_add(&db, "anchorage-Rotation_Root_2", &fx("ca3.pem"));
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--nssdb", DB])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("Third Root") && e.contains("Rotation Root 2"),
        "{e}"
    );
}

#[test]
fn names_with_spaces_and_quotes() {
    let t = debian_tree();
    let root = t.path();
    let dir = "/home/alice/my \"odd\" dir/nssdb";
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--nssdb",
            dir,
            "--name",
            "Corp \"Proxy\" CA",
        ])
        .arg(fx("myNewCa.pem"))));
    assert_eq!(r.certificates[0].action, "added");
    let db = root.join(dir.trim_start_matches('/'));
    assert_eq!(nicknames(&db)[0].0, "anchorage-Corp \"Proxy\" CA");
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json", "--nssdb", dir])
        .arg(fx("myNewCa.pem"))));
    assert!(!r.changed);
}

#[test]
fn discovery_of_user_databases_keeps_owners() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    let home = root.join("home/alice");
    let ff = home.join(".mozilla/firefox/abcd.default-release");
    let chromium = home.join(".pki/nssdb");
    let legacy = home.join(".mozilla/firefox/old.default");
    certutil_create(&ff);
    certutil_create(&chromium);
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join("cert8.db"), b"legacy").unwrap();
    Command::new("chown")
        .args(["-R", "1000:1000"])
        .arg(&home)
        .status()
        .unwrap();
    let legacy_before = snapshot(&legacy);
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--nss-discover",
        ])
        .arg(fx("myNewCa.pem"))));
    let stores = &r.certificates[0].stores;
    assert!(
        stores.contains(&"nss:/home/alice/.pki/nssdb".to_string()),
        "{stores:?}"
    );
    assert!(
        stores.contains(&"nss:/home/alice/.mozilla/firefox/abcd.default-release".to_string()),
        "{stores:?}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("old.default") && w.contains("legacy")),
        "{:?}",
        r.warnings
    );
    assert_eq!(snapshot(&legacy), legacy_before, "dbm database untouched");
    for db in [&ff, &chromium] {
        assert_eq!(nicknames(db).len(), 1);
        for f in ["cert9.db", "key4.db"] {
            let m = std::fs::metadata(db.join(f)).unwrap();
            assert_eq!((m.uid(), m.gid()), (1000, 1000), "{}", db.join(f).display());
        }
    }
}

#[test]
fn doctor_judges_each_database_by_its_own_entries() {
    let t = debian_tree();
    let root = t.path();
    with_users(root);
    let nss = ["--nssdb", DB, "--nss-owner", "browserbot"];
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .args(nss)
        .arg(fx("myNewCa.pem"))));
    // A second CA for the system only: not a problem of the database.
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca2.pem"))));
    let o = run(anchorage(root)
        .args(["doctor", "--format", "json"])
        .args(nss));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let d: serde_json::Value = value::<Doctor>(&o.stdout);
    assert!(
        d["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("was not installed into this database")),
        "{d}"
    );
    // One of its own entries no longer trusted: a problem.
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(root.join(DB.trim_start_matches('/')));
    let st = Command::new("certutil")
        .args(["-M", "-n", "anchorage-myNewCa_Test_Root", "-t", ",,", "-d"])
        .arg(&spec)
        .status()
        .unwrap();
    assert!(st.success());
    let o = run(anchorage(root)
        .args(["doctor", "--format", "json"])
        .args(nss));
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
    let d: serde_json::Value = value::<Doctor>(&o.stdout);
    assert!(
        d["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("not a trusted TLS CA")),
        "{d}"
    );
}
