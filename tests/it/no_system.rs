//! Issue 16, part 3: `--no-system` as a real unprivileged user on their own `~/.pki/nssdb`
//! (made by that user with the real certutil): install, list, doctor and remove work without
//! touching the system store (which that user cannot write: without the flag, 77); a database
//! reached through a link is still refused; the flag with no database is a usage error.

use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// A uid of its own (no other test uses it).
const UID: u32 = 64_926;

fn as_user(home: &Path, program: &str, args: &[&str]) -> std::process::Output {
    run(Command::new("setpriv")
        .arg(format!("--reuid={UID}"))
        .arg(format!("--regid={UID}"))
        .args(["--clear-groups", "--", program])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home))
}

/// A home owned by the user with `~/.pki/nssdb` made by the user's own certutil.
fn home_with_nssdb() -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(home.join(".pki/nssdb")).unwrap();
    let st = Command::new("chown")
        .arg("-R")
        .arg(format!("{UID}:{UID}"))
        .arg(&home)
        .status()
        .unwrap();
    assert!(st.success());
    let db = home.join(".pki/nssdb").display().to_string();
    let o = as_user(
        &home,
        "certutil",
        &["-N", "--empty-password", "-d", &format!("sql:{db}")],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::copy(fx("myNewCa.pem"), t.path().join("ca.pem")).unwrap();
    std::fs::set_permissions(
        t.path().join("ca.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    (t, db)
}

fn nicknames(home: &Path, db: &str) -> String {
    let o = as_user(home, "certutil", &["-L", "-d", &format!("sql:{db}")]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_normal_user_manages_their_own_nssdb_with_no_system() {
    let (t, db) = home_with_nssdb();
    let home = t.path().join("home");
    let ca = t.path().join("ca.pem").display().to_string();
    let bin = bin();
    // Without the flag the system store stops it, as before.
    let o = as_user(&home, bin, &["install", "--nssdb", &db, &ca]);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(!nicknames(&home, &db).contains("anchorage-"));

    let o = as_user(
        &home,
        bin,
        &[
            "--format",
            "json",
            "install",
            "--no-system",
            "--nssdb",
            &db,
            &ca,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.changed);
    assert_eq!(r.certificates[0].action, "added");
    assert_eq!(r.certificates[0].stores, [format!("nss:{db}")]);
    assert!(r.hook.is_none());
    let list = nicknames(&home, &db);
    let line = list
        .lines()
        .find(|l| l.starts_with("anchorage-"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(line.trim_end().ends_with("C,,"), "{line}");
    // The database files stay the user's.
    for f in ["cert9.db", "key4.db"] {
        let m = std::fs::metadata(Path::new(&db).join(f)).unwrap();
        assert_eq!((m.uid(), m.gid()), (UID, UID), "{f}");
    }
    // Idempotent.
    let o = as_user(
        &home,
        bin,
        &[
            "--format",
            "json",
            "install",
            "--no-system",
            "--nssdb",
            &db,
            &ca,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!report(&o).changed);

    // list and doctor honour it: only the database, no system problems.
    let o = as_user(
        &home,
        bin,
        &["--format", "json", "list", "--no-system", "--nssdb", &db],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{v}");
    assert_eq!(certs[0]["stores"], serde_json::json!([format!("nss:{db}")]));
    let o = as_user(
        &home,
        bin,
        &["--format", "json", "doctor", "--no-system", "--nssdb", &db],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    // --runtimes=strict judges the stores in play: the system-bundle runtimes are not managed
    // by a --no-system run (they would always "miss" the user's anchors), so only the nss row.
    let o = as_user(
        &home,
        bin,
        &[
            "--format",
            "json",
            "doctor",
            "--runtimes=strict",
            "--no-system",
            "--nssdb",
            &db,
        ],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["runtimes"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["runtime"], "nss");
    assert_eq!(rows[0]["path"], db.as_str());
    assert_eq!(rows[0]["trusts"], true);

    let o = as_user(
        &home,
        bin,
        &["remove", "--no-system", "--nssdb", &db, "myNewCa_Test_Root"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!nicknames(&home, &db).contains("anchorage-"));
}

#[test]
fn no_system_still_refuses_a_database_reached_through_a_link_and_needs_a_database() {
    let (t, db) = home_with_nssdb();
    let home = t.path().join("home");
    let ca = t.path().join("ca.pem").display().to_string();
    // ~/.pki/browser -> nssdb: a link in the path is refused, nothing written.
    let link = home.join(".pki/browser");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    let o = as_user(
        &home,
        bin(),
        &[
            "install",
            "--no-system",
            "--nssdb",
            &link.display().to_string(),
            &ca,
        ],
    );
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(!nicknames(&home, &db).contains("anchorage-"));
    let o = as_user(&home, bin(), &["install", "--no-system", &ca]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--nssdb"), "{}", stderr(&o));
}
