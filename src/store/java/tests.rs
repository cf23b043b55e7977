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
