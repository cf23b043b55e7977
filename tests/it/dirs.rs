//! Directories hold more than certificates (issue 14 §4, §5): CRLs, CSRs, public keys,
//! private keys (legacy encrypted PEM, encrypted PKCS#8), OCSP responses, S/MIME messages and
//! cross-certificate pairs, all made here with `openssl`. In a directory each is skipped with a
//! `note:` naming what it is (the CAs next to it are installed); named alone, each is refused
//! with exit 65, that name and its own hint.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Two self-signed CAs (`ca.pem`/`ca.key`, `cb.pem`/`cb.key`) in `dir`.
fn two_cas(dir: &Path) {
    for (name, subj) in [("ca", "/CN=Dirs CA A"), ("cb", "/CN=Dirs CA B")] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-subj",
                subj,
                "-days",
                "365",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
        );
    }
}

fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=127 => vec![len as u8],
        128..=255 => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(content.len()));
    v.extend_from_slice(content);
    v
}

fn der_of(dir: &Path, pem: &str) -> Vec<u8> {
    let out = format!("{pem}.der");
    openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &out]);
    std::fs::read(dir.join(out)).expect("read DER")
}

/// Every kind of non-certificate, made in `dir`: (file name, the words that name it).
fn others(dir: &Path) -> Vec<(&'static str, &'static str)> {
    std::fs::create_dir_all(dir.join("db")).expect("mkdir");
    std::fs::write(dir.join("db/index.txt"), "").expect("index");
    std::fs::write(dir.join("db/crlnumber"), "01\n").expect("crlnumber");
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca=c\n[c]\ndatabase=db/index.txt\ncrlnumber=db/crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n",
    )
    .expect("cnf");
    let o = |args: &[&str]| openssl(dir, args);
    o(&[
        "genrsa",
        "-aes128",
        "-traditional",
        "-passout",
        "pass:x",
        "-out",
        "legacy.key",
        "2048",
    ]);
    o(&[
        "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem", "-out",
        "crl.pem",
    ]);
    o(&[
        "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
    ]);
    o(&[
        "req", "-new", "-key", "cb.key", "-subj", "/CN=req", "-outform", "DER", "-out", "req.der",
    ]);
    o(&[
        "req", "-new", "-key", "cb.key", "-subj", "/CN=req", "-out", "req.pem",
    ]);
    o(&[
        "pkey", "-in", "cb.key", "-pubout", "-outform", "DER", "-out", "pub.der",
    ]);
    o(&["pkey", "-in", "cb.key", "-pubout", "-out", "pub.pem"]);
    o(&[
        "pkcs8", "-topk8", "-v2", "aes256", "-in", "cb.key", "-passout", "pass:x", "-outform",
        "DER", "-out", "enc8.der",
    ]);
    o(&[
        "pkcs8", "-topk8", "-v2", "aes256", "-in", "cb.key", "-passout", "pass:x", "-out",
        "enc8.pem",
    ]);
    o(&[
        "ocsp",
        "-issuer",
        "ca.pem",
        "-serial",
        "0x01",
        "-reqout",
        "ocsp-req.der",
    ]);
    o(&[
        "ocsp",
        "-index",
        "db/index.txt",
        "-rsigner",
        "ca.pem",
        "-rkey",
        "ca.key",
        "-CA",
        "ca.pem",
        "-reqin",
        "ocsp-req.der",
        "-respout",
        "ocsp.der",
    ]);
    std::fs::write(dir.join("msg.txt"), "hello\n").expect("msg");
    o(&[
        "smime", "-sign", "-in", "msg.txt", "-signer", "ca.pem", "-inkey", "ca.key", "-out",
        "mail.eml",
    ]);
    vec![
        ("legacy.key", "a private key — ignored, never installed"),
        (
            "crl.der",
            "a certificate revocation list, not a certificate",
        ),
        (
            "crl.pem",
            "a certificate revocation list, not a certificate",
        ),
        (
            "req.der",
            "a certificate signing request, not a certificate",
        ),
        (
            "req.pem",
            "a certificate signing request, not a certificate",
        ),
        ("pub.der", "a public key, not a certificate"),
        ("pub.pem", "a public key, not a certificate"),
        ("enc8.der", "a private key — ignored, never installed"),
        ("enc8.pem", "a private key — ignored, never installed"),
        ("ocsp.der", "an OCSP response, not a certificate"),
        ("ocsp-req.der", "an OCSP request, not a certificate"),
        (
            "mail.eml",
            "an S/MIME message: extract its certificates with `openssl smime -pk7out",
        ),
    ]
}

/// A directory with the two CAs and `file`.
fn dir_with(work: &Path, file: &str) -> PathBuf {
    let d = work.join(format!("dir-{file}"));
    std::fs::create_dir_all(&d).expect("mkdir");
    for f in ["ca.pem", "cb.pem", file] {
        std::fs::copy(work.join(f), d.join(f)).expect("copy");
    }
    d
}

fn added(report: &Report) -> Vec<String> {
    let mut v: Vec<String> = report
        .certificates
        .iter()
        .filter(|c| c.action == "added")
        .map(|c| c.subject.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn each_non_certificate_is_skipped_in_a_directory_and_refused_alone() {
    let work = tempfile::tempdir().expect("tempdir");
    let work = work.path();
    two_cas(work);
    for (file, what) in others(work) {
        let tree = debian_tree();
        let d = dir_with(work, file);
        let o = run(anchorage(tree.path())
            .args(["install", "--format", "json"])
            .arg(&d));
        let report = report(&o);
        assert_eq!(added(&report).len(), 2, "{file}: {:?}", report.certificates);
        let notes: Vec<&String> = report
            .warnings
            .iter()
            .filter(|w| w.contains(file) && w.contains(what) && w.ends_with("skipped"))
            .collect();
        assert_eq!(notes.len(), 1, "{file}: {:?}", report.warnings);
        // Text: the skip is a note, not a warning.
        let tree = debian_tree();
        let o = run(anchorage(tree.path()).arg("install").arg(&d));
        assert_eq!(code(&o), 0, "{file}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.lines()
                .any(|l| l.starts_with("note: ") && l.contains(what)),
            "{file}: {err}"
        );
        assert!(
            !err.lines()
                .any(|l| l.starts_with("warning: ") && l.contains(what)),
            "{err}"
        );
        // Alone: exit 65, the same words, a hint of its own.
        let tree = debian_tree();
        let o = run(anchorage(tree.path()).arg("install").arg(work.join(file)));
        let err = stderr(&o);
        assert_eq!(code(&o), 65, "{file}: {err}");
        assert!(err.contains(what), "{file}: {err}");
        assert!(err.contains("hint: "), "{file}: {err}");
        assert!(
            !err.contains("check that the file is complete"),
            "{file}: {err}"
        );
    }
}

#[test]
fn a_certificate_next_to_a_legacy_encrypted_key_is_read() {
    let work = tempfile::tempdir().expect("tempdir");
    let work = work.path();
    two_cas(work);
    openssl(
        work,
        &[
            "genrsa",
            "-aes128",
            "-traditional",
            "-passout",
            "pass:x",
            "-out",
            "legacy2.pem",
            "2048",
        ],
    );
    let legacy = std::fs::read_to_string(work.join("legacy2.pem")).expect("read");
    assert!(legacy.contains("Proc-Type: 4,ENCRYPTED") && legacy.contains("DEK-Info:"));
    let both = [
        std::fs::read(work.join("ca.pem")).expect("read"),
        legacy.into_bytes(),
    ]
    .concat();
    std::fs::write(work.join("both.pem"), both).expect("write");
    let tree = debian_tree();
    let o = run(anchorage(tree.path())
        .args(["install", "--format", "json"])
        .arg(work.join("both.pem")));
    let report = report(&o);
    assert_eq!(added(&report), vec!["CN=Dirs CA A".to_string()]);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("ignored 1 private key")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_cross_certificate_pair_yields_its_certificates() {
    let work = tempfile::tempdir().expect("tempdir");
    let work = work.path();
    two_cas(work);
    let (a, b) = (der_of(work, "ca.pem"), der_of(work, "cb.pem"));
    let explicit = tlv(0x30, &[tlv(0xa0, &a), tlv(0xa1, &b)].concat());
    // RFC 2587's IMPLICIT form: the context tag replaces the certificate's SEQUENCE tag.
    let implicit = {
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2[0] = 0xa0;
        b2[0] = 0xa1;
        tlv(0x30, &[a2, b2].concat())
    };
    for (name, der) in [("pair.der", explicit), ("pair-implicit.der", implicit)] {
        std::fs::write(work.join(name), der).expect("write");
        let tree = debian_tree();
        let o = run(anchorage(tree.path())
            .args(["install", "--format", "json"])
            .arg(work.join(name)));
        let report = report(&o);
        assert_eq!(
            added(&report),
            vec!["CN=Dirs CA A", "CN=Dirs CA B"],
            "{name}"
        );
    }
}

#[test]
fn informational_lines_are_notes() {
    let work = tempfile::tempdir().expect("tempdir");
    let work = work.path();
    two_cas(work);
    std::fs::write(work.join("readme.txt"), "not a certificate\n").expect("write");
    let tree = debian_tree();
    let o = run(anchorage(tree.path()).arg("install").arg(work));
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("note: ") && l.contains("readme.txt: no certificate")),
        "{err}"
    );
    assert!(!err.contains("warning: "), "{err}");
}
