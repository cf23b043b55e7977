//! Java keystores (JKS, JCEKS) as input, made at test time with the JDK's `keytool` from the
//! openssl fixtures: trusted CAs are listed with the fingerprints openssl computes, a
//! private-key entry is skipped and its key never written, the store password is checked
//! (given, `changeit` tried, or a note), broken stores exit 65 with nothing written.
//! `vectors` feeds hand-built byte vectors to the decoder.

mod vectors;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// `keytool` with the store and key password `pass`; panics with its output on failure.
fn keytool(pass: &str, args: &[&str]) {
    let o = Command::new("keytool")
        .args(["-noprompt", "-storepass", pass, "-keypass", pass])
        .args(args)
        .output()
        .expect("run keytool (install a JDK, e.g. openjdk-17-jdk-headless)");
    assert!(o.status.success(), "keytool {args:?}: {}", stderr(&o));
}

/// A keystore of `kind` (JKS/JCEKS) in `dir` holding the given fixtures as trusted entries.
fn store(dir: &Path, name: &str, kind: &str, pass: &str, cas: &[&str]) -> PathBuf {
    let path = dir.join(name);
    for ca in cas {
        let file = fx(ca);
        keytool(
            pass,
            &[
                "-importcert",
                "-alias",
                ca,
                "-file",
                path_str(&file),
                "-keystore",
                path_str(&path),
                "-storetype",
                kind,
            ],
        );
    }
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `install --check --format json STORE` with ANCHORAGE_PASSWORD `pass` (None: unset).
fn check(root: &Path, store: &Path, pass: Option<&str>) -> std::process::Output {
    let mut cmd = anchorage(root);
    cmd.args(["install", "--check", "--format", "json"])
        .arg(store);
    if let Some(p) = pass {
        cmd.env("ANCHORAGE_PASSWORD", p);
    }
    run(&mut cmd)
}

fn fingerprints(o: &std::process::Output) -> Vec<String> {
    let mut v: Vec<String> = report(o)
        .certificates
        .into_iter()
        .map(|c| c.sha256)
        .collect();
    v.sort();
    v
}

fn want(cas: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = cas.iter().map(|c| openssl_sha256(&fx(c))).collect();
    v.sort();
    v
}

#[test]
fn jks_truststore_lists_exactly_its_trusted_cas() {
    let t = debian_tree();
    let d = tempfile::tempdir().unwrap();
    let cas = ["myNewCa.pem", "ca2.pem"];
    let jks = store(d.path(), "trust.jks", "JKS", "changeit", &cas);
    // Given password, and none (changeit is tried): both verified, no integrity note.
    for pass in [Some("changeit"), None] {
        let o = check(t.path(), &jks, pass);
        assert_eq!(code(&o), 0, "{pass:?}: {}", stderr(&o));
        assert_eq!(fingerprints(&o), want(&cas), "{pass:?}");
        let r = report(&o);
        assert!(
            r.warnings.iter().all(|w| !w.contains("integrity")),
            "{:?}",
            r.warnings
        );
        assert!(r.certificates.iter().all(|c| c.action == "would_add"));
    }
}

#[test]
fn jceks_and_other_passwords() {
    let t = debian_tree();
    let d = tempfile::tempdir().unwrap();
    let cas = ["myNewCa.pem", "ca3.pem"];
    let jceks = store(d.path(), "trust.jceks", "JCEKS", "0ther-pass", &cas);
    let o = check(t.path(), &jceks, Some("0ther-pass"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fingerprints(&o), want(&cas));
    assert!(report(&o).warnings.is_empty(), "{:?}", report(&o).warnings);
    // No password, changeit does not match: still read, with the note.
    let o = check(t.path(), &jceks, None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fingerprints(&o), want(&cas));
    let w = report(&o).warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("integrity not checked (no password")),
        "{w:?}"
    );
    // A wrong given password: 65, a keystore message (not PKCS#12), nothing written.
    let before = snapshot(t.path());
    let o = run(anchorage(t.path())
        .args(["install"])
        .arg(&jceks)
        .env("ANCHORAGE_PASSWORD", "changeit"));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("wrong keystore password") && !e.contains("PKCS#12"),
        "{e}"
    );
    assert!(e.contains("trust.jceks"), "{e}");
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn private_key_entry_is_skipped_and_never_written() {
    let t = debian_tree();
    let root = t.path();
    let d = tempfile::tempdir().unwrap();
    let ks = d.path().join("agent.jks");
    let ks_s = path_str(&ks);
    keytool(
        "changeit",
        &[
            "-genkeypair",
            "-alias",
            "agent",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-dname",
            "CN=agent leaf",
            "-keystore",
            ks_s,
            "-storetype",
            "JKS",
        ],
    );
    store(d.path(), "agent.jks", "JKS", "changeit", &["myNewCa.pem"]);
    // The key, as openssl sees it (through a PKCS#12 copy), to look for it afterwards.
    let p12 = d.path().join("agent.p12");
    keytool(
        "changeit",
        &[
            "-importkeystore",
            "-srckeystore",
            ks_s,
            "-srcstorepass",
            "changeit",
            "-destkeystore",
            path_str(&p12),
            "-deststoretype",
            "pkcs12",
            "-deststorepass",
            "changeit",
        ],
    );
    let key = Command::new("openssl")
        .args([
            "pkcs12",
            "-nocerts",
            "-nodes",
            "-passin",
            "pass:changeit",
            "-in",
        ])
        .arg(&p12)
        .output()
        .expect("openssl pkcs12");
    let key_pem = String::from_utf8_lossy(&key.stdout).into_owned();
    let key_line = key_pem
        .lines()
        .find(|l| l.len() == 64 && !l.starts_with("-----"))
        .expect("a base64 line of the key")
        .to_string();

    let o = check(root, &ks, Some("changeit"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fingerprints(&o), want(&["myNewCa.pem"]));
    let o = run(anchorage(root).arg("install").arg(&ks));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ignored 1 private key"),
        "{}",
        stderr(&o)
    );
    let local = root.join("usr/local/share/ca-certificates");
    let mut installed = 0;
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
        assert!(
            !text.contains("PRIVATE KEY"),
            "key in {}",
            e.path().display()
        );
        assert!(
            !text.contains(&key_line),
            "key material in {}",
            e.path().display()
        );
        if e.path().starts_with(&local) {
            installed += 1;
            assert_eq!(
                text.matches("-----BEGIN ").count(),
                1,
                "{}",
                e.path().display()
            );
            assert_eq!(openssl_sha256(e.path()), openssl_sha256(&fx("myNewCa.pem")));
        }
    }
    assert_eq!(installed, 1);
}

#[test]
fn broken_stores_exit_65_and_write_nothing() {
    let t = debian_tree();
    let d = tempfile::tempdir().unwrap();
    let jks = store(
        d.path(),
        "t.jks",
        "JKS",
        "changeit",
        &["myNewCa.pem", "ca2.pem"],
    );
    let bytes = std::fs::read(&jks).unwrap();
    let n = bytes.len();
    let cut = d.path().join("cut.jks");
    std::fs::write(&cut, &bytes[..n / 2]).unwrap();
    let mut flipped = bytes.clone();
    flipped[n - 5] ^= 0x01;
    let flip = d.path().join("flip.jks");
    std::fs::write(&flip, &flipped).unwrap();
    let secret = d.path().join("secret.jceks");
    keytool(
        "changeit",
        &[
            "-genseckey",
            "-alias",
            "sk",
            "-keyalg",
            "AES",
            "-keysize",
            "128",
            "-keystore",
            path_str(&secret),
            "-storetype",
            "JCEKS",
        ],
    );
    store(
        d.path(),
        "secret.jceks",
        "JCEKS",
        "changeit",
        &["myNewCa.pem"],
    );
    let cases: [(&Path, &str); 3] = [
        (&cut, "truncated"),
        (
            &flip,
            "wrong keystore password, or the keystore was modified",
        ),
        (&secret, "secret-key entries are not supported"),
    ];
    let before = snapshot(t.path());
    for (file, msg) in cases {
        let o = run(anchorage(t.path())
            .arg("install")
            .arg(file)
            .env("ANCHORAGE_PASSWORD", "changeit"));
        assert_eq!(code(&o), 65, "{}: {}", file.display(), stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(msg) && e.contains(path_str(file)), "{e}");
        assert_eq!(snapshot(t.path()), before, "{}", file.display());
    }
    let o = run(anchorage(t.path()).arg("install").arg(&secret));
    assert!(
        stderr(&o).contains("-deststoretype pkcs12"),
        "{}",
        stderr(&o)
    );
}
