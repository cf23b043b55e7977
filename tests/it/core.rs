//! Core contract (issue 2): install/remove/sync/list/doctor against temporary Debian trees
//! with the real `update-ca-certificates`, fixtures made with the vendor guides' openssl
//! commands, and the non-Debian layouts with `--no-update`.

use crate::common::*;
use std::path::Path;

const CA: &str = "myNewCa_Test_Root";

fn local_file(root: &Path, name: &str) -> std::path::PathBuf {
    root.join("usr/local/share/ca-certificates/anchorage")
        .join(format!("{name}.crt"))
}

#[test]
fn install_der_is_trusted_then_idempotent_without_hook() {
    let t = debian_tree();
    let root = t.path();
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    let r = report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.crt"))));
    assert!(r.changed);
    assert!(!r.check);
    assert_eq!(r.platform, "debian");
    assert_eq!(r.certificates.len(), 1);
    let c = &r.certificates[0];
    assert_eq!(c.action, "added");
    assert_eq!(c.name, CA);
    assert_eq!(c.sha256, openssl_sha256(&fx("myNewCa.crt")));
    assert_eq!(c.stores, vec!["system"]);
    assert!(
        c.not_after.ends_with('Z') && c.not_after.contains('T'),
        "RFC 3339: {}",
        c.not_after
    );
    let hook = r.hook.expect("hook ran");
    assert!(hook.ran);
    assert_eq!(hook.exit_code, Some(0));
    assert!(hook.command[0].ends_with("update-ca-certificates"));
    // The managed file is one PEM certificate named *.crt, the hook's rules.
    let file = std::fs::read_to_string(local_file(root, CA)).unwrap();
    assert_eq!(file.matches("BEGIN CERTIFICATE").count(), 1);
    assert!(
        verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")),
        "server cert must verify after install"
    );

    // Second run, same CA in another encoding: nothing to do, no hook.
    let bundle_before = std::fs::metadata(root.join(DEBIAN_BUNDLE))
        .unwrap()
        .modified()
        .unwrap();
    let before = snapshot(root);
    let r = report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    assert!(!r.changed);
    assert!(r.hook.is_none(), "no hook on a no-op run");
    assert_eq!(r.certificates[0].action, "unchanged");
    assert_eq!(snapshot(root), before);
    assert_eq!(
        std::fs::metadata(root.join(DEBIAN_BUNDLE))
            .unwrap()
            .modified()
            .unwrap(),
        bundle_before
    );
}

#[test]
fn every_encoding_is_the_same_anchor() {
    let t = debian_tree();
    let root = t.path();
    let want = openssl_sha256(&fx("myNewCa.crt"));
    let pw = fx("password.txt");
    let cases: &[(&str, Option<&Path>, Option<&str>)] = &[
        ("myNewCa.crt", None, None),
        ("myNewCa.cer", None, None),
        ("myNewCa.der", None, None),
        ("myNewCa.pem", None, None),
        ("myNewCa-text.pem", None, None),
        ("myNewCa-crlf.pem", None, None),
        ("myNewCa-trusted.pem", None, None),
        ("myNewCa-with-key.pem", None, None),
        ("bundle.pem", None, None),
        ("bundle.p7b", None, None),
        ("bundle-der.p7b", None, None),
        ("bundle.p7c", None, None),
        ("signed-ber.p7m", None, None),
        ("default.p12", Some(&pw), None),
        ("legacy.p12", Some(&pw), None),
        ("des3.pfx", Some(&pw), None),
        ("nokeys.p12", Some(&pw), None),
        ("ca-only.p12", None, Some("s3cret pass")),
        ("empty-pass.p12", None, None),
        ("truststore.p12", None, Some("changeit")),
    ];
    for (file, pwfile, env) in cases {
        if *file == "truststore.p12" && !fx(file).exists() {
            eprintln!("keytool missing: truststore.p12 not made");
            continue;
        }
        let mut cmd = anchorage(root);
        cmd.args(["install", "--check", "--format", "json"])
            .arg(fx(file));
        if let Some(p) = pwfile {
            cmd.arg("--password-file").arg(p);
        }
        if let Some(e) = env {
            cmd.env("ANCHORAGE_PASSWORD", e);
        }
        let r = report(&run(&mut cmd));
        let hit = r.certificates.iter().find(|c| c.sha256 == want);
        let hit = hit.unwrap_or_else(|| panic!("{file}: CA not found in {:?}", r.certificates));
        assert_eq!(hit.action, "would_add", "{file}");
        assert_eq!(hit.name, CA, "{file}");
    }
    // The PKCS#12 key is ignored and never written anywhere in the tree.
    let r = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("default.p12"))
        .arg("--password-file")
        .arg(&pw));
    assert_eq!(code(&r), 0, "{}", stderr(&r));
    assert!(stderr(&r).contains("private key"), "{}", stderr(&r));
    for (path, _) in snapshot(root) {
        let p = root.join(&path);
        if p.is_file() {
            let s = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&s).contains("PRIVATE KEY"),
                "key written to {}",
                p.display()
            );
        }
    }
}

#[test]
fn bad_inputs_exit_65_or_66_and_change_nothing() {
    let t = debian_tree();
    let root = t.path();
    // A batch with one bad file writes nothing, not even the good one.
    let cases: Vec<(Vec<std::path::PathBuf>, i32, &str)> = vec![
        (
            vec![fx("myNewCa.pem"), fx("garbage.bin")],
            65,
            "garbage.bin",
        ),
        (
            vec![fx("myNewCa.pem"), fx("key-only.pem")],
            65,
            "key-only.pem",
        ),
        (vec![fx("key-only.der")], 65, "key-only.der"),
        (vec![fx("p7-empty.p7b")], 65, "p7-empty.p7b"),
        (vec![fx("readme.txt")], 65, "readme.txt"),
        (vec![fx("default.p12")], 65, "default.p12"),
        (vec![fx("intermediate.pem")], 65, "--allow-intermediate"),
        (vec![fx("tls.pem")], 65, "issued by"),
        (vec![fx("expired-ca.pem")], 65, "expired"),
        (
            vec![fx("myNewCa.pem"), fx("does-not-exist.pem")],
            66,
            "does-not-exist.pem",
        ),
    ];
    let before = snapshot(root);
    for (files, want, needle) in cases {
        let o = run(anchorage(root).arg("install").args(&files));
        assert_eq!(code(&o), want, "{files:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{files:?}: stderr lacks {needle}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("hint:"),
            "a hint says what to do: {}",
            stderr(&o)
        );
        assert_eq!(snapshot(root), before, "{files:?} changed the tree");
        let o = run(anchorage(root)
            .args(["install", "--format", "json"])
            .args(&files));
        let f = failure(&o);
        assert!(f.failed && !f.changed);
        assert!(!f.error.kind.is_empty());
        assert!(f.msg.contains(needle) || f.error.path.is_some());
    }
    // The leaf message names the issuer to install instead.
    let o = run(anchorage(root).arg("install").arg(fx("tls.pem")));
    assert!(stderr(&o).contains("myNewCa Test Root"), "{}", stderr(&o));
    assert_eq!(snapshot(root), before);
}

#[test]
fn policy_skips_non_anchors_next_to_an_anchor_and_allows_on_request() {
    let t = debian_tree();
    let root = t.path();
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("chain-leaf-int-root.pem"))));
    let actions: Vec<(&str, &str)> = r
        .certificates
        .iter()
        .map(|c| (c.name.as_str(), c.action.as_str()))
        .collect();
    assert_eq!(
        actions.iter().filter(|(_, a)| *a == "skipped").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&(CA, "added")));
    assert!(r
        .certificates
        .iter()
        .filter(|c| c.action == "skipped")
        .all(|c| !c.warnings.is_empty()));
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--allow-intermediate",
            "--format",
            "json",
        ])
        .arg(fx("intermediate.pem"))));
    assert_eq!(r.certificates[0].action, "added");
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--allow-leaf", "--format", "json"])
        .arg(fx("tls.pem"))));
    assert_eq!(r.certificates[0].action, "added");
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--allow-expired",
            "--format",
            "json",
        ])
        .arg(fx("expired-ca.pem"))));
    assert!(r.certificates[0]
        .warnings
        .iter()
        .any(|w| w.contains("expired")));
    // A self-signed appliance certificate (CA:FALSE) is a trust anchor.
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("selfsigned-leaf.pem"))));
    assert_eq!(r.certificates[0].action, "added");
    // Expiring soon: a warning.
    let r = report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("expiring-ca.pem"))));
    assert!(
        r.certificates[0]
            .warnings
            .iter()
            .any(|w| w.contains("expires in")),
        "{:?}",
        r.certificates[0].warnings
    );
}

#[test]
fn check_mode_changes_nothing_and_reports_would_add() {
    let t = debian_tree();
    let root = t.path();
    let before = snapshot(root);
    let r = report(&run(anchorage(root)
        .args(["install", "--check", "--format", "json"])
        .arg(fx("bundle.pem"))));
    assert!(r.changed && r.check);
    assert_eq!(r.certificates.len(), 3);
    assert!(r.certificates.iter().all(|c| c.action == "would_add"));
    assert!(r.hook.as_ref().is_some_and(|h| !h.ran));
    assert_eq!(snapshot(root), before);
    run(anchorage(root).arg("install").arg(fx("myNewCa.pem")));
    let before = snapshot(root);
    let r = report(&run(anchorage(root)
        .args(["sync", "--check", "--format", "json"])
        .arg(fx("ca2.pem"))));
    let mut actions: Vec<&str> = r.certificates.iter().map(|c| c.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, vec!["would_add", "would_remove"]);
    let r = report(&run(
        anchorage(root).args(["remove", "--check", "--format", "json", CA])
    ));
    assert_eq!(r.certificates[0].action, "would_remove");
    assert_eq!(snapshot(root), before);
}

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
        .args(["sync", "--format", "json"])
        .arg(dir.path())));
    assert!(r.changed);
    let distro_count = count_certs(&root.join(DEBIAN_BUNDLE)) - 1;
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem")));
    std::fs::copy(fx("ca2.der"), dir.path().join("new.der")).unwrap();
    let r = report(&run(anchorage(root)
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
    let o = run(anchorage(root).arg("install").arg(dir.path()));
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

#[test]
fn stdin_and_directories() {
    let t = debian_tree();
    let root = t.path();
    let pem = std::fs::read(fx("myNewCa.pem")).unwrap();
    let mut child = anchorage(root)
        .args(["install", "--no-update", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&pem).unwrap();
    let o = child.wait_with_output().unwrap();
    let r = report(&o);
    assert_eq!(r.certificates[0].source, "-");
    // A directory: non-certificate files are reported and skipped.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::copy(fx("ca2.der"), dir.path().join("sub/ca2.cer")).unwrap();
    std::fs::copy(fx("readme.txt"), dir.path().join("readme.txt")).unwrap();
    std::fs::copy(fx("key-only.pem"), dir.path().join("key.pem")).unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(dir.path()));
    let r = report(&o);
    assert_eq!(r.certificates.len(), 1);
    assert!(
        r.warnings.iter().any(|w| w.contains("readme.txt")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("key.pem")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn name_option_and_unsafe_names() {
    let t = debian_tree();
    let root = t.path();
    let r = report(&run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--format",
            "json",
            "--name",
            "corp proxy (2026)",
        ])
        .arg(fx("myNewCa.pem"))));
    assert_eq!(r.certificates[0].name, "corp_proxy_2026");
    assert!(local_file(root, "corp_proxy_2026").is_file());
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--name", "x"])
        .arg(fx("bundle.pem")));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn list_and_doctor() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let o = run(anchorage(root).args(["list", "--format", "json"]));
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
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
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["ok"], true);
    assert_eq!(d["platform"], "debian");
    assert_eq!(d["hook"]["found"], true);
    // An anchor installed without the hook is missing from the bundle: doctor says so, exit 1.
    report(&run(anchorage(root)
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("expiring-ca.pem"))));
    let o = run(anchorage(root).args(["doctor", "--format", "json"]));
    assert_eq!(code(&o), 1);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
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
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["platform"], "debian");
    let o = run(std::process::Command::new(bin())
        .args(["list"])
        .env("ANCHORAGE_ROOT", t.path())
        .env("ANCHORAGE_PLATFORM", "suse"));
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("suse"));
}

/// Regression (found by the kill -9 test): the same CA managed in both Debian modes. Removing
/// it must delete both, run the hook once and then judge; syncing one mode must not fail on
/// the copy the other mode still provides.
#[test]
fn same_anchor_in_both_debian_modes() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let dir = tempfile::tempdir().unwrap();
    let r = report(&run(anchorage(root)
        .args(["sync", "--debian-conf", "--format", "json"])
        .arg(dir.path())));
    assert_eq!(r.certificates[0].action, "removed");
    assert!(
        verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")),
        "still provided by the default mode"
    );
    report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let r = report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert_eq!(r.certificates.len(), 2, "{:?}", r.certificates);
    assert_eq!(r.hook.as_ref().map(|h| h.ran), Some(true));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
}
