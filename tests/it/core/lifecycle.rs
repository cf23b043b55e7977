//! After install: the `--debian-conf` mode, sync rotation, remove by every selector, and the
//! same anchor managed in both Debian modes.

use super::{local_file, CA};
use crate::common::*;

#[test]
fn debian_conf_mode_adds_exactly_one_line() {
    let t = debian_tree();
    let root = t.path();
    let conf = root.join("etc/ca-certificates.conf");
    let original = std::fs::read(&conf).unwrap();
    let r = report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.crt"))));
    assert_eq!(r.certificates[0].action, "added");
    let after = std::fs::read(&conf).unwrap();
    assert!(after.starts_with(&original), "existing lines untouched");
    assert_eq!(
        String::from_utf8_lossy(&after[original.len()..]),
        format!("anchorage/{CA}.crt\n")
    );
    assert!(root
        .join(format!("usr/share/ca-certificates/anchorage/{CA}.crt"))
        .is_file());
    assert!(!local_file(root, CA).exists());
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    // Second run adds no line.
    let r = report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    assert!(!r.changed);
    assert_eq!(std::fs::read(&conf).unwrap(), after);
    // Remove restores the conf byte for byte, and the CA is no longer trusted.
    let r = report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert_eq!(r.certificates[0].action, "removed");
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
}

#[test]
fn sync_rotation_old_then_both_then_new_only() {
    let t = debian_tree();
    let root = t.path();
    let distro_before = snapshot(&root.join("usr/share/ca-certificates"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fx("myNewCa.pem"), dir.path().join("old.pem")).unwrap();
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["sync", "--format", "json"])
        .arg(dir.path())));
    assert!(r.changed);
    let distro_count = count_certs(&root.join(DEBIAN_BUNDLE)) - 1;
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem")));
    std::fs::copy(fx("ca2.der"), dir.path().join("new.der")).unwrap();
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["sync", "--format", "json"])
        .arg(dir.path())));
    let mut actions: Vec<&str> = r.certificates.iter().map(|c| c.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, vec!["added", "unchanged"]);
    assert!(
        verifies(root, DEBIAN_BUNDLE, &fx("tls.pem"))
            && verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem"))
    );
    std::fs::remove_file(dir.path().join("old.pem")).unwrap();
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["sync", "--format", "json"])
        .arg(dir.path())));
    let mut actions: Vec<&str> = r.certificates.iter().map(|c| c.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, vec!["removed", "unchanged"]);
    assert!(
        r.hook
            .as_ref()
            .is_some_and(|h| h.command.iter().any(|a| a == "--fresh")),
        "--fresh after removal"
    );
    assert!(
        !verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")),
        "old CA gone"
    );
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem")));
    assert_eq!(
        count_certs(&root.join(DEBIAN_BUNDLE)),
        distro_count + 1,
        "distro anchors untouched"
    );
    assert_eq!(
        snapshot(&root.join("usr/share/ca-certificates")),
        distro_before
    );
    // An empty directory is a valid desired set for sync: everything managed goes.
    std::fs::remove_file(dir.path().join("new.der")).unwrap();
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["sync", "--format", "json"])
        .arg(dir.path())));
    assert_eq!(
        r.certificates
            .iter()
            .filter(|c| c.action == "removed")
            .count(),
        1
    );
    assert_eq!(count_certs(&root.join(DEBIAN_BUNDLE)), distro_count);
    // ... but install of an empty directory is bad input.
    let o = run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .arg("install")
        .arg(dir.path()));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
}

#[test]
fn remove_by_name_fingerprint_and_source_file() {
    let t = debian_tree();
    let root = t.path();
    let sha = openssl_sha256(&fx("myNewCa.crt"));
    let colons: String = sha
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    for selector in [
        CA.to_string(),
        colons,
        fx("myNewCa.der").display().to_string(),
    ] {
        report(&run(anchorage(root)
            .args(["install", "--format", "json"])
            .arg(fx("bundle.pem"))));
        assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
        let r = report(&run(anchorage(root)
            .args(["remove", "--format", "json"])
            .arg(&selector)));
        assert!(r.changed, "{selector}");
        assert_eq!(r.certificates.len(), 1, "{selector}");
        assert_eq!(r.certificates[0].sha256, sha);
        assert_eq!(r.certificates[0].action, "removed");
        assert!(
            !verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")),
            "{selector}: still trusted"
        );
        assert!(!local_file(root, CA).exists());
        assert!(
            verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem")),
            "other anchors stay"
        );
    }
    // Removing again: nothing to do, a warning, exit 0.
    let r = report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert!(!r.changed);
    assert!(r.warnings.iter().any(|w| w.contains(CA)));
}

/// Regression (found by the kill -9 test): the same CA managed in both Debian modes. Removing
/// it must delete both, run the hook once and then judge. Issue 16: both placements are one
/// managed set — installing in the other mode is `unchanged` (already trusted via the first),
/// and `sync` removes from whichever holds it.
#[test]
fn same_anchor_in_both_debian_modes() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let r = report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    assert_eq!(r.certificates[0].action, "unchanged");
    assert!(
        r.warnings.iter().any(|w| w.contains("already trusted via")
            && w.contains("/usr/local/share/ca-certificates/anchorage/")),
        "{:?}",
        r.warnings
    );
    let dir = tempfile::tempdir().unwrap();
    let r = report(&run(anchorage(root)
        .args(["sync", "--debian-conf", "--format", "json"])
        .arg(dir.path())));
    assert_eq!(r.certificates[0].action, "removed");
    assert!(
        !verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")),
        "sync removed it from the directory placement too"
    );
    // Both copies anyway (--no-update does not consult the bundle), then remove.
    for mode in [None, Some("--debian-conf")] {
        report(&run(anchorage(root)
            .args(["install", "--no-update", "--format", "json"])
            .args(mode)
            .arg(fx("myNewCa.pem"))));
    }
    let r = report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert_eq!(r.certificates.len(), 2, "{:?}", r.certificates);
    assert_eq!(r.hook.as_ref().map(|h| h.ran), Some(true));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
}
