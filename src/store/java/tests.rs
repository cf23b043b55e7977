//! Unit tests of the pure parts: aliases, format detection, the JKS keyed digest, what a
//! truststore lacks (`missing_in`, for `doctor --runtimes`), and PKCS#12 DER lengths.

use super::format::{self, Format};
use super::{alias, jks, missing_in, pkcs12};

#[test]
fn aliases_are_lowercase_with_the_prefix() {
    assert_eq!(alias("myNewCa_Test_Root"), "anchorage-mynewca_test_root");
}

#[test]
fn formats_are_detected_and_kept() {
    for f in [Format::Jks, Format::Pkcs12] {
        let empty = format::empty(f, "changeit").unwrap();
        assert_eq!(format::detect(&empty), Some(f));
        let one = format::rewrite(&empty, "changeit", &[], &[("a", b"\x30\x00")], 5).unwrap();
        assert_eq!(format::detect(&one), Some(f));
        assert_eq!(format::read(&one, "changeit").unwrap().format, f);
    }
    assert_eq!(format::detect(b"\xce\xce\xce\xce"), None);
}

#[test]
fn jks_digest_is_over_password_whitener_and_body() {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(b"\x00p\x00w");
    h.update(b"Mighty Aphrodite");
    h.update(b"body");
    let want: [u8; 20] = h.finalize().into();
    assert_eq!(jks::digest("pw", b"body"), want);
}

#[test]
fn a_wrong_password_is_refused() {
    for f in [Format::Jks, Format::Pkcs12] {
        let s = format::empty(f, "right").unwrap();
        assert_eq!(
            format::read(&s, "wrong").unwrap_err(),
            format::KsError::WrongPassword
        );
    }
}

#[test]
fn missing_in_lists_the_fingerprints_not_trusted() {
    let empty = format::empty(Format::Pkcs12, "changeit").unwrap();
    let s = format::rewrite(&empty, "changeit", &[], &[("x", b"cert-a")], 0).unwrap();
    let ks = format::read(&s, "changeit").unwrap();
    let a = crate::cert::sha256(b"cert-a");
    let b = crate::cert::sha256(b"cert-b");
    assert_eq!(missing_in(&ks, &[a, b]), vec![b]);
    assert!(missing_in(&ks, &[a]).is_empty());
}

#[test]
fn der_lengths() {
    assert_eq!(pkcs12::tlv(0x04, &[0; 3])[..2], [0x04, 3]);
    assert_eq!(pkcs12::tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
    assert_eq!(pkcs12::tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
}

/// A PFX whose MacData asks for i32::MAX iterations is refused before any is run (it used to
/// be derived: minutes of work from a crafted `cacerts`), with the input reader's cap.
#[test]
fn pkcs12_store_over_the_kdf_cap_is_refused_before_any_work() {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    }
    let data_oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    let auth = tlv(0x04, &tlv(0x30, &[]));
    let ci = tlv(0x30, &[tlv(0x06, &data_oid), tlv(0xa0, &auth)].concat());
    let alg = tlv(
        0x30,
        &[tlv(0x06, &[0x2b, 0x0e, 0x03, 0x02, 0x1a]), vec![0x05, 0x00]].concat(),
    );
    let digest = tlv(0x30, &[alg, tlv(0x04, &[0; 20])].concat());
    let mac = tlv(
        0x30,
        &[
            digest,
            tlv(0x04, &[1; 8]),
            tlv(0x02, &[0x7f, 0xff, 0xff, 0xff]),
        ]
        .concat(),
    );
    let pfx = tlv(0x30, &[tlv(0x02, &[3]), ci, mac].concat());
    let started = std::time::Instant::now();
    let err = format::read(&pfx, "changeit").err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("key-derivation iterations")),
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
