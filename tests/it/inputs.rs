//! Inputs from the real world (issue 14 §1): a certificate OpenSSL cannot load is never
//! installed, and the effect check and doctor catch a bundle that OpenSSL would refuse.
//! The broken certificates are made here: a real `openssl req` certificate with its name
//! strings byte-edited (lengths kept, so the DER stays well-formed).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// `openssl req -x509` with a P-256 key: a self-signed CA with `subj`, valid `days`, as DER.
fn self_signed(dir: &Path, name: &str, subj: &str, days: &str) -> PathBuf {
    let der = dir.join(format!("{name}.der"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-keyout"])
        .arg(dir.join(format!("{name}.key")))
        .args(["-subj", subj, "-days", days])
        .args([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-outform",
            "DER",
            "-out",
        ])
        .arg(&der)
        .output()
        .expect("run openssl req");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    der
}

/// A self-signed CA with subject and issuer `CN=XQXQXQXQ Root, O=Test` (both UTF8String).
fn base_der(dir: &Path) -> Vec<u8> {
    let der = self_signed(dir, "base", "/CN=XQXQXQXQ Root/O=Test", "3650");
    std::fs::read(der).expect("read the certificate")
}

/// The certificate with `O=Test`'s value (tag + 4 bytes) replaced in subject and issuer.
fn edited(dir: &Path, name: &str, tag: u8, value: &[u8; 4]) -> PathBuf {
    let der = base_der(dir);
    let old = [0x0c, 0x04, b'T', b'e', b's', b't'];
    let mut new = vec![tag, 4];
    new.extend_from_slice(value);
    let mut out = Vec::with_capacity(der.len());
    let mut i = 0;
    let mut hits = 0;
    while i < der.len() {
        if der[i..].starts_with(&old) {
            out.extend_from_slice(&new);
            i += old.len();
            hits += 1;
        } else {
            out.push(der[i]);
            i += 1;
        }
    }
    assert_eq!(hits, 2, "subject and issuer both hold O=Test");
    let path = dir.join(format!("{name}.der"));
    std::fs::write(&path, out).expect("write the edited certificate");
    path
}

fn openssl_loads(cert: &Path) -> bool {
    Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-in"])
        .arg(cert)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn certificates_openssl_cannot_load_are_refused_with_the_field_named() {
    let t = debian_tree();
    let root = t.path();
    let work = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, u8, &[u8; 4], &str); 5] = [
        (
            "utf8",
            0x0c,
            b"\xc3\x28AB",
            "UTF8String that is not valid UTF-8",
        ),
        (
            "bmp",
            0x1e,
            b"\xd8\x00\x00A",
            "BMPString holding a UTF-16 surrogate",
        ),
        (
            "universal",
            0x1c,
            b"\x00\x11\x00\x00",
            "UniversalString holding an invalid",
        ),
        ("visible", 0x1a, b"Test", "VisibleString"),
        ("octets", 0x04, b"Test", "OCTET STRING"),
    ];
    let before = snapshot(root);
    for (name, tag, value, why) in cases {
        let cert = edited(work.path(), name, tag, value);
        assert!(!openssl_loads(&cert), "{name}: the oracle refuses it");
        let o = run(anchorage(root)
            .args(["install", "--format", "json"])
            .arg(&cert));
        assert_eq!(code(&o), 65, "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&cert.display().to_string()), "{err}");
        assert!(err.contains("O (2.5.4.10)") && err.contains(why), "{err}");
        assert!(err.contains("hint: re-issue"), "{err}");
        assert_eq!(failure(&o).error.kind, "bad_input");
    }
    assert_eq!(snapshot(root), before, "nothing was written");
}

#[test]
fn byte_strings_openssl_loads_are_still_installed_and_the_bundle_stays_loadable() {
    let t = debian_tree();
    let root = t.path();
    let work = tempfile::tempdir().expect("tempdir");
    // OpenSSL loads a PrintableString or IA5String whatever its bytes.
    let cert = edited(work.path(), "ia5", 0x16, b"T\xffst");
    assert!(openssl_loads(&cert));
    let o = run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(&cert));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    let o = Command::new("openssl")
        .args(["storeutl", "-noout", "-certs"])
        .arg(&bundle)
        .output()
        .expect("openssl storeutl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_hook_that_leaves_an_unloadable_bundle_fails_the_effect_check_and_doctor_says_why() {
    let t = debian_tree();
    let root = t.path();
    let work = tempfile::tempdir().expect("tempdir");
    // A foreign file the hook concatenates: PEM of a certificate OpenSSL refuses.
    let bad = edited(work.path(), "foreign", 0x0c, b"\xc3\x28AB");
    let pem = Command::new("openssl")
        .args(["base64", "-in"])
        .arg(&bad)
        .output()
        .expect("openssl base64");
    let text = format!(
        "-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----\n",
        String::from_utf8_lossy(&pem.stdout)
    );
    std::fs::write(
        root.join("usr/local/share/ca-certificates/foreign.crt"),
        text,
    )
    .unwrap();
    let o = run(anchorage(root).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("not wholly loadable") && err.contains("block #"),
        "{err}"
    );
    let o = run(anchorage(root).arg("doctor"));
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("OpenSSL refuses the whole bundle"), "{out}");
}

#[test]
fn doctor_reports_binary_data_in_the_bundle() {
    let t = debian_tree();
    let root = t.path();
    assert_eq!(
        code(&run(anchorage(root).arg("install").arg(fx("myNewCa.pem")))),
        0
    );
    let o = run(anchorage(root).arg("doctor"));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    // A DER file concatenated into the bundle (what a foreign `.crt` in DER becomes).
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    let mut bytes = std::fs::read(&bundle).unwrap();
    bytes.extend_from_slice(&std::fs::read(fx("myNewCa.der")).unwrap());
    std::fs::write(&bundle, bytes).unwrap();
    let o = run(anchorage(root).arg("doctor"));
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("bytes of binary data outside its PEM blocks"),
        "{out}"
    );
}

#[test]
fn an_unparseable_time_field_is_named_as_such() {
    let t = debian_tree();
    let root = t.path();
    let work = tempfile::tempdir().expect("tempdir");
    let der = self_signed(work.path(), "long", "/CN=Long Lived Root", "36500");
    // notAfter is a GeneralizedTime (after 2049): relabel it a UTCTime of 14 digits.
    let mut bytes = std::fs::read(&der).unwrap();
    let at = bytes
        .windows(2)
        .position(|w| w == [0x18, 0x0f])
        .expect("a GeneralizedTime");
    bytes[at] = 0x17;
    std::fs::write(&der, bytes).unwrap();
    let o = run(anchorage(root).arg("install").arg(&der));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("validity: notAfter is not a valid UTCTime"),
        "{err}"
    );
    assert!(!err.contains("check that the file is complete"), "{err}");
}
