//! Issue 15 — Java truststores as a store, against the real JDK: JKS and PKCS#12 stores made
//! by `keytool` (one with a private-key entry in each), `keytool -list` after every change,
//! the store password (65, untouched), conflicts, links inside the tree, discovery, `--check`,
//! and a real TLS handshake by a Java client (compiled with `javac`) against `openssl s_server`
//! on 127.0.0.1, before and after, directly and through `env`'s JAVA_TOOL_OPTIONS.

mod links;
mod merged;
mod properties;
mod review;
mod tls;

use std::path::Path;
use std::process::Command;

use crate::common::*;

pub const PASS: &str = "changeit";
/// keytool folds aliases to lowercase: the managed name of the myNewCa fixture, as an alias.
pub const ALIAS: &str = "anchorage-mynewca_test_root";

/// `keytool` with the store (and key) password `pass`; panics with its output on failure.
pub fn keytool(pass: &str, args: &[&str]) -> String {
    let o = Command::new("keytool")
        .args(args)
        .args(["-noprompt", "-storepass", pass])
        .output()
        .expect("run keytool (install a JDK, e.g. openjdk-17-jdk-headless)");
    assert!(
        o.status.success(),
        "keytool {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A store of `kind` (JKS, PKCS12) at `path` with a private-key entry `mykey` and ca2 as the
/// trusted entry `corp-ca2`.
pub fn store_with_key(path: &Path, kind: &str) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    keytool(
        PASS,
        &[
            "-genkeypair",
            "-keystore",
            s(path),
            "-storetype",
            kind,
            "-keypass",
            PASS,
            "-alias",
            "mykey",
            "-keyalg",
            "EC",
            "-dname",
            "CN=agent key",
            "-validity",
            "30",
        ],
    );
    keytool(
        PASS,
        &[
            "-importcert",
            "-keystore",
            s(path),
            "-storetype",
            kind,
            "-alias",
            "corp-ca2",
            "-file",
            s(&fx("ca2.pem")),
        ],
    );
}

/// `keytool -list` entries: "alias, date, kind, " lines without the dates, and fingerprints.
pub fn listing(path: &Path, pass: &str) -> Vec<String> {
    let out = keytool(pass, &["-list", "-keystore", s(path)]);
    let mut lines: Vec<String> = Vec::new();
    let mut it = out.lines();
    while let Some(l) = it.next() {
        if l.contains("Entry,") {
            let parts: Vec<&str> = l.split(", ").collect();
            let fp = it.next().unwrap_or("").to_string();
            let kind = parts
                .iter()
                .rev()
                .find(|p| !p.trim().is_empty())
                .unwrap_or(&"");
            lines.push(format!("{} {} {fp}", parts[0], kind.trim()));
        }
    }
    lines.sort();
    lines
}

fn install(root: &Path, stores: &[&str], extra: &[&str], src: &str) -> std::process::Output {
    let mut c = anchorage(root);
    c.env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE");
    for st in stores {
        c.args(["--java-truststore", st]);
    }
    run(c
        .args(["install", "--format", "json", "--no-update"])
        .args(extra)
        .arg(fx(src)))
}

fn java_cmd(root: &Path, stores: &[&str], args: &[&str]) -> std::process::Output {
    let mut c = anchorage(root);
    c.env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE");
    for st in stores {
        c.args(["--java-truststore", st]);
    }
    run(c.args(args))
}

#[test]
fn keytool_stores_install_idempotent_remove() {
    let t = debian_tree();
    let root = t.path();
    let jks = root.join("opt/agent/jre/lib/security/cacerts");
    let p12 = root.join("srv/app/truststore.p12");
    store_with_key(&jks, "JKS");
    store_with_key(&p12, "PKCS12");
    let before = [std::fs::read(&jks).unwrap(), std::fs::read(&p12).unwrap()];
    let lists = [listing(&jks, PASS), listing(&p12, PASS)];
    let names = [
        "/opt/agent/jre/lib/security/cacerts",
        "/srv/app/truststore.p12",
    ];

    let o = install(root, &names, &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.changed);
    assert_eq!(r.certificates[0].action, "added");
    assert_eq!(
        r.certificates[0].stores,
        vec![
            "system".to_string(),
            format!("java:{}", names[0]),
            format!("java:{}", names[1])
        ]
    );
    let fp = openssl_sha256(&fx("myNewCa.pem"));
    for (path, old) in [(&jks, &lists[0]), (&p12, &lists[1])] {
        let now = listing(path, PASS);
        // Our entry, a trusted certificate with the fixture's fingerprint; the key and the
        // other CA exactly as before.
        let ours: Vec<&String> = now.iter().filter(|l| l.starts_with(ALIAS)).collect();
        assert_eq!(ours.len(), 1, "{now:?}");
        assert!(ours[0].contains("trustedCertEntry"), "{now:?}");
        let colon_fp: String = fp
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert!(ours[0].contains(&colon_fp), "{} vs {colon_fp}", ours[0]);
        let rest: Vec<String> = now
            .iter()
            .filter(|l| !l.starts_with(ALIAS))
            .cloned()
            .collect();
        assert_eq!(&rest, old);
        assert!(rest
            .iter()
            .any(|l| l.starts_with("mykey ") && l.contains("PrivateKeyEntry")));
    }
    let after = [std::fs::read(&jks).unwrap(), std::fs::read(&p12).unwrap()];

    // Second run: unchanged, the files byte-identical.
    let o = install(root, &names, &[], "myNewCa.der");
    let r = report(&o);
    assert!(!r.changed, "{}", stderr(&o));
    assert_eq!(r.certificates[0].action, "unchanged");
    assert_eq!(std::fs::read(&jks).unwrap(), after[0]);
    assert_eq!(std::fs::read(&p12).unwrap(), after[1]);

    // remove --check: would_remove, nothing written.
    let o = java_cmd(
        root,
        &names,
        &[
            "remove",
            "--check",
            "--format",
            "json",
            "--no-update",
            "myNewCa_Test_Root",
        ],
    );
    let r = report(&o);
    assert_eq!(r.certificates[0].action, "would_remove", "{}", stderr(&o));
    assert!(r.certificates[0]
        .stores
        .contains(&format!("java:{}", names[1])));
    assert_eq!(std::fs::read(&p12).unwrap(), after[1]);

    // remove: the stores as they were (entries and key; here even byte for byte).
    let o = java_cmd(
        root,
        &names,
        &[
            "remove",
            "--format",
            "json",
            "--no-update",
            "myNewCa_Test_Root",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(listing(&jks, PASS), lists[0]);
    assert_eq!(listing(&p12, PASS), lists[1]);
    assert_eq!(std::fs::read(&jks).unwrap(), before[0]);
    assert_eq!(std::fs::read(&p12).unwrap(), before[1]);
}

#[test]
fn check_reports_would_add_and_writes_nothing() {
    let t = debian_tree();
    let root = t.path();
    let p12 = root.join("srv/ts.p12");
    store_with_key(&p12, "PKCS12");
    let jks = root.join("srv/ts.jks");
    store_with_key(&jks, "JKS");
    let before = [std::fs::read(&p12).unwrap(), std::fs::read(&jks).unwrap()];
    let o = install(root, &["/srv/ts.p12"], &["--check"], "myNewCa.pem");
    let r = report(&o);
    assert_eq!(r.certificates[0].action, "would_add");
    assert!(r.certificates[0]
        .stores
        .contains(&"java:/srv/ts.p12".to_string()));
    // The stores from ANCHORAGE_JAVA_TRUSTSTORE, colon-separated.
    let o = run(anchorage(root)
        .env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env("ANCHORAGE_JAVA_TRUSTSTORE", "/srv/ts.p12:/srv/ts.jks")
        .args(["install", "--check", "--format", "json"])
        .arg(fx("myNewCa.pem")));
    let r = report(&o);
    assert_eq!(r.certificates[0].action, "would_add", "{}", stderr(&o));
    assert_eq!(
        r.certificates[0].stores,
        ["system", "java:/srv/ts.p12", "java:/srv/ts.jks"]
    );
    assert_eq!(std::fs::read(&p12).unwrap(), before[0]);
    assert_eq!(std::fs::read(&jks).unwrap(), before[1]);
}

#[test]
fn wrong_password_is_65_and_leaves_the_store_untouched() {
    let t = debian_tree();
    let root = t.path();
    for (kind, name) in [("JKS", "srv/a.jks"), ("PKCS12", "srv/b.p12")] {
        let path = root.join(name);
        store_with_key(&path, kind);
        let before = std::fs::read(&path).unwrap();
        let rel = format!("/{name}");
        let pw = root.join("pw");
        std::fs::write(&pw, "not-the-password\n").unwrap();
        let o = install(
            root,
            &[&rel],
            &["--java-password-file", s(&pw)],
            "myNewCa.pem",
        );
        assert_eq!(code(&o), 65, "{kind}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(name) && e.contains("password") && e.contains("--java-password-file"),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // Nothing else was written either (the system store comes first in the plan, but
        // every store is read before any write).
        assert!(!root
            .join("usr/local/share/ca-certificates/anchorage")
            .exists());
        let o = run(anchorage(root)
            .env("ANCHORAGE_JAVA_PASSWORD", "wrong")
            .args(["--java-truststore", &rel, "install", "--no-update"])
            .arg(fx("myNewCa.pem")));
        assert_eq!(code(&o), 65, "{}", stderr(&o));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    // The right password from the environment works, and keytool reads the result with it.
    let path = root.join("srv/c.p12");
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    keytool(
        "s3cret!",
        &[
            "-importcert",
            "-keystore",
            s(&path),
            "-storetype",
            "PKCS12",
            "-alias",
            "x",
            "-file",
            s(&fx("ca2.pem")),
        ],
    );
    let o = run(anchorage(root)
        .env("ANCHORAGE_JAVA_PASSWORD", "s3cret!")
        .args(["--java-truststore", "/srv/c.p12", "install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(listing(&path, "s3cret!")
        .iter()
        .any(|l| l.starts_with(ALIAS)));
}

#[test]
fn present_under_another_alias_is_unchanged_and_a_conflict_names_both() {
    let t = debian_tree();
    let root = t.path();
    let jks = root.join("srv/a.jks");
    std::fs::create_dir_all(jks.parent().unwrap()).unwrap();
    keytool(
        PASS,
        &[
            "-importcert",
            "-keystore",
            s(&jks),
            "-storetype",
            "JKS",
            "-alias",
            "corp-root",
            "-file",
            s(&fx("myNewCa.pem")),
        ],
    );
    let before = std::fs::read(&jks).unwrap();
    let o = install(root, &["/srv/a.jks"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read(&jks).unwrap(), before, "not duplicated");

    // Our alias holding another certificate: exit 1, both named, nothing written.
    let p12 = root.join("srv/b.p12");
    keytool(
        PASS,
        &[
            "-importcert",
            "-keystore",
            s(&p12),
            "-storetype",
            "PKCS12",
            "-alias",
            ALIAS,
            "-file",
            s(&fx("ca2.pem")),
        ],
    );
    let before = std::fs::read(&p12).unwrap();
    let o = install(root, &["/srv/b.p12"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(ALIAS) && e.contains("myNewCa Test Root"), "{e}");
    assert!(e.contains(&openssl_sha256(&fx("ca2.pem"))), "{e}");
    assert_eq!(std::fs::read(&p12).unwrap(), before);
}

#[test]
fn sync_removes_only_anchorage_aliases() {
    let t = debian_tree();
    let root = t.path();
    let jks = root.join("srv/a.jks");
    store_with_key(&jks, "JKS");
    let o = install(root, &["/srv/a.jks"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = java_cmd(
        root,
        &["/srv/a.jks"],
        &["sync", "--format", "json", "--no-update", s(&fx("ca3.pem"))],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let l = listing(&jks, PASS);
    assert!(!l.iter().any(|x| x.starts_with(ALIAS)), "{l:?}");
    assert!(l.iter().any(|x| x.starts_with("anchorage-")), "{l:?}");
    assert!(l.iter().any(|x| x.starts_with("corp-ca2 ")), "{l:?}");
    assert!(l.iter().any(|x| x.starts_with("mykey ")), "{l:?}");
}

#[test]
fn after_keytool_rewrote_the_store_remove_still_works_and_passwordless_stores_are_kept() {
    let t = debian_tree();
    let root = t.path();
    // keytool rewrites the whole store after our install: our entry moves into its encrypted
    // certificate SafeContents; remove re-encrypts that without it, the key stays.
    let p12 = root.join("srv/k.p12");
    store_with_key(&p12, "PKCS12");
    let o = install(root, &["/srv/k.p12"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    keytool(
        PASS,
        &[
            "-importcert",
            "-keystore",
            s(&p12),
            "-alias",
            "later",
            "-file",
            s(&fx("ca3.pem")),
        ],
    );
    let with_later = listing(&p12, PASS);
    let o = java_cmd(
        root,
        &["/srv/k.p12"],
        &["remove", "--no-update", "myNewCa_Test_Root"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let now = listing(&p12, PASS);
    let want: Vec<String> = with_later
        .into_iter()
        .filter(|l| !l.starts_with(ALIAS))
        .collect();
    assert_eq!(now, want);
    assert!(now
        .iter()
        .any(|l| l.starts_with("mykey ") && l.contains("PrivateKeyEntry")));

    // A password-less PKCS#12 (no MAC, certificates unencrypted: JDK 18+'s cacerts) stays one.
    let nopw = root.join("srv/nopw.p12");
    let o = Command::new("keytool")
        .args([
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-importcert",
            "-noprompt",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASS,
            "-alias",
            "x",
            "-keystore",
            s(&nopw),
            "-file",
            s(&fx("ca2.pem")),
        ])
        .output()
        .expect("keytool");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = install(root, &["/srv/nopw.p12"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let info = Command::new("openssl")
        .args([
            "pkcs12",
            "-info",
            "-nokeys",
            "-noout",
            "-passin",
            "pass:",
            "-in",
            s(&nopw),
        ])
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&info.stderr).contains("MAC is absent"),
        "{}",
        stderr(&info)
    );
    assert!(listing(&nopw, "any-password")
        .iter()
        .any(|l| l.starts_with(ALIAS)));
}

#[test]
fn remove_by_managed_name_reaches_a_java_store_the_system_no_longer_manages() {
    let t = debian_tree();
    let root = t.path();
    let jks = root.join("srv/a.jks");
    store_with_key(&jks, "JKS");
    let o = install(root, &["/srv/a.jks"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The system's managed file goes first (no Java store named), then the Java entry by the
    // managed name as the user knows it (the alias is its lowercase form).
    let o = run(anchorage(root).args(["remove", "--no-update", "myNewCa_Test_Root"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = java_cmd(
        root,
        &["/srv/a.jks"],
        &[
            "remove",
            "--format",
            "json",
            "--no-update",
            "myNewCa_Test_Root",
        ],
    );
    let r = report(&o);
    assert_eq!(r.certificates.len(), 1, "{}", stderr(&o));
    assert_eq!(r.certificates[0].action, "removed");
    assert_eq!(
        r.certificates[0].stores,
        vec!["java:/srv/a.jks".to_string()]
    );
    assert!(!listing(&jks, PASS).iter().any(|l| l.starts_with(ALIAS)));
}
