//! list and doctor, the non-Debian layouts with `--no-update`, usage errors and global options.

use super::CA;
use crate::common::*;

#[test]
fn list_and_doctor() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let o = run(anchorage(root).args(["list", "--format", "json"]));
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = value::<List>(&o.stdout);
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["name"], CA);
    assert_eq!(certs[0]["sha256"], openssl_sha256(&fx("myNewCa.pem")));
    assert_eq!(certs[0]["in_bundle"], true);
    assert!(certs[0]["paths"][0]
        .as_str()
        .unwrap()
        .ends_with("anchorage/myNewCa_Test_Root.crt"));
    let o = run(anchorage(root).args(["doctor", "--format", "json"]));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let d: serde_json::Value = value::<Doctor>(&o.stdout);
    assert_eq!(d["ok"], true);
    assert_eq!(d["platform"], "debian");
    assert_eq!(d["hook"]["found"], true);
    // An anchor installed without the hook is missing from the bundle: doctor says so, exit 1.
    report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("expiring-ca.pem"))));
    let o = run(anchorage(root).args(["doctor", "--format", "json"]));
    assert_eq!(code(&o), 1);
    let d: serde_json::Value = value::<Doctor>(&o.stdout);
    assert_eq!(d["missing_from_bundle"][0], "Expiring_Root");
    assert_eq!(d["expiring"][0], "Expiring_Root");
    // The next install repairs it (file there, not effective → hook).
    let r = report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("expiring-ca.pem"))));
    assert!(r.changed);
    let o = run(anchorage(root).args(["doctor", "--warn-days", "10"]));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn non_debian_layouts_with_no_update() {
    let cases = [
        (
            "rocky",
            "rhel centos fedora",
            "rhel",
            "etc/pki/ca-trust/source/anchors/anchorage-myNewCa_Test_Root.pem",
        ),
        (
            "opensuse-leap",
            "suse opensuse",
            "suse",
            "etc/pki/trust/anchors/anchorage-myNewCa_Test_Root.pem",
        ),
        (
            "alpine",
            "",
            "alpine",
            "usr/local/share/ca-certificates/anchorage-myNewCa_Test_Root.crt",
        ),
        (
            "arch",
            "",
            "arch",
            "etc/ca-certificates/trust-source/anchors/anchorage-myNewCa_Test_Root.crt",
        ),
    ];
    for (id, like, platform, path) in cases {
        let t = family_tree(id, like);
        let root = t.path();
        let r = report(&run(anchorage(root)
            .args(["install", "--no-update", "--format", "json"])
            .arg(fx("myNewCa.crt"))));
        assert_eq!(r.platform, platform);
        assert_eq!(r.certificates[0].action, "added");
        let written = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|_| panic!("{platform}: {path} missing"));
        assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
        // No temporaries left where the hook would read them.
        let anchors = root.join(path).parent().unwrap().to_path_buf();
        assert_eq!(
            std::fs::read_dir(&anchors).unwrap().count(),
            1,
            "{platform}: only our file in {}",
            anchors.display()
        );
        let r = report(&run(anchorage(root)
            .args(["install", "--no-update", "--format", "json"])
            .arg(fx("myNewCa.pem"))));
        assert!(!r.changed, "{platform}: idempotent");
        // Without --no-update and without a hook in the tree: exit 69 naming the package, no change.
        let before = snapshot(root);
        let o = run(anchorage(root).arg("install").arg(fx("ca2.pem")));
        assert_eq!(code(&o), 69, "{platform}: {}", stderr(&o));
        assert!(stderr(&o).contains("--no-update"));
        assert_eq!(snapshot(root), before);
        let r = report(&run(anchorage(root).args([
            "remove",
            "--no-update",
            "--format",
            "json",
            CA,
        ])));
        assert_eq!(r.certificates[0].action, "removed");
        assert!(!root.join(path).exists());
    }
    // --platform overrides detection.
    let t = family_tree("debian", "");
    let r = report(&run(anchorage(t.path())
        .args([
            "install",
            "--no-update",
            "--platform",
            "rhel",
            "--format",
            "json",
        ])
        .arg(fx("myNewCa.crt"))));
    assert_eq!(r.platform, "rhel");
}

#[test]
fn usage_errors_exit_2_and_global_options_anywhere() {
    let t = debian_tree();
    let o = run(std::process::Command::new(bin()).args(["install"]));
    assert_eq!(code(&o), 2);
    let o = run(std::process::Command::new(bin()).args(["frobnicate"]));
    assert_eq!(code(&o), 2);
    // Global options after the subcommand and from the environment.
    let o = run(std::process::Command::new(bin())
        .args(["list", "--root"])
        .arg(t.path())
        .env("ANCHORAGE_FORMAT", "json"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = value::<List>(&o.stdout);
    assert_eq!(v["platform"], "debian");
    let o = run(std::process::Command::new(bin())
        .args(["list"])
        .env("ANCHORAGE_ROOT", t.path())
        .env("ANCHORAGE_PLATFORM", "suse"));
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("suse"));
}
