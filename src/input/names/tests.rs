//! Unit tests: the value rules OpenSSL 3.0 applies when it loads a certificate (each case was
//! checked with `openssl x509 -inform DER` on a byte-edited certificate).

use super::*;

fn value(tag: u8, content: &[u8]) -> Result<(), String> {
    check_value(&Tlv {
        tag,
        content,
        raw: content,
        indefinite: false,
    })
}

#[test]
fn utf8_must_be_valid_utf8_without_surrogates_or_overlong_forms() {
    assert!(value(0x0c, "Corp Root é".as_bytes()).is_ok());
    assert!(value(0x0c, b"A\x00BC").is_ok(), "OpenSSL loads a NUL");
    for bad in [&b"\xc3\x28XQ"[..], b"\xed\xa0\x80A", b"\xc0\x80AB"] {
        let err = value(0x0c, bad).unwrap_err();
        assert!(err.contains("UTF8String"), "{err}");
    }
}

#[test]
fn bmp_and_universal_strings_must_be_whole_code_points() {
    assert!(value(0x1e, b"\x00T\x00e").is_ok());
    assert!(value(0x1e, b"\x00T\x00")
        .unwrap_err()
        .contains("odd length"));
    // OpenSSL refuses surrogates in a BMPString, even a valid pair.
    assert!(value(0x1e, b"\xd8\x3d\xde\x00").is_err());
    assert!(value(0x1c, b"\x00\x01\xf6\x00").is_ok());
    assert!(value(0x1c, b"\x00\x00\x00")
        .unwrap_err()
        .contains("multiple of 4"));
    assert!(value(0x1c, b"\x00\x11\x00\x00").is_err());
    assert!(value(0x1c, b"\x00\x00\xd8\x00").is_err());
}

#[test]
fn byte_strings_load_whatever_their_bytes_but_some_types_never_do() {
    for tag in [0x13, 0x16, 0x14, 0x12] {
        assert!(value(tag, b"T\xff@*").is_ok(), "tag {tag:#x}");
    }
    for tag in [0x1a, 0x1b, 0x04, 0x15, 0x19] {
        let err = value(tag, b"Test").unwrap_err();
        assert!(err.contains("a name may not hold"), "{err}");
    }
}

#[test]
fn attribute_names_and_oids() {
    assert_eq!(attribute_name(&[0x55, 0x04, 0x03]), "CN (2.5.4.3)");
    assert_eq!(
        dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]),
        "1.2.840.113549.1.9.1"
    );
    assert_eq!(attribute_name(&[0x2b, 0x06, 0x01]), "attribute 1.3.6.1");
}
