//! install: a DER CA trusted then idempotent, every encoding the same anchor, bad inputs,
//! the anchor policy, `--check`, standard input and directories, `--name`.

use super::{local_file, CA};
use crate::common::*;
use std::path::Path;

#[test]
fn install_der_is_trusted_then_idempotent_without_hook() {
    let t = debian_tree();
    let root = t.path();
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
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
        .env("ANCHORAGE_REFRESH", "hook")
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
        // Not a skip: without keytool this case would silently test nothing (.ci/run installs
        // openjdk-17-jdk-headless).
        assert!(
            *file != "truststore.p12" || fx(file).exists(),
            "keytool missing: truststore.p12 not made (install a JDK, e.g. openjdk-17-jdk-headless)"
        );
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
