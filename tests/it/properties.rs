//! Property tests of the decoder (`anchorage::input::decode`), which is pure: no I/O, no
//! panics, and it never returns certificate bytes that were not in the input.
//!
//! (a) any bytes → Ok or Err, never a panic (also behind a PEM header and behind 0x30);
//! (b) `Certificate::to_pem()` then decode round-trips the DER and the SHA-256 of every fixture
//!     certificate; one mutated byte of the DER, of the PEM, of a PKCS#7 or PKCS#12 container
//!     never panics, and an accepted mutated DER is returned byte for byte; every strict prefix
//!     of a DER certificate is refused.
//!
//! Case counts are kept small enough for the whole file to run in a few seconds in debug.

use anchorage::cert::Certificate;
use anchorage::input::{decode, Decoded};
use proptest::prelude::*;

use crate::hostile::fixtures::{fixtures, P12_PASSWORD};

/// The fixture certificates, as parsed DER (every PEM and DER certificate fixture).
fn fixture_certs() -> &'static [Certificate] {
    static CERTS: std::sync::OnceLock<Vec<Certificate>> = std::sync::OnceLock::new();
    CERTS.get_or_init(|| {
        let fx = fixtures();
        let mut certs = Vec::new();
        for name in [
            "myNewCa.crt",
            "ca2.der",
            "ca3.pem",
            "tls.crt",
            "tls2.pem",
            "intermediate.pem",
            "leaf-by-int.pem",
            "selfsigned-leaf.pem",
            "expired-ca.pem",
            "expired-server.pem",
            "expiring-ca.pem",
            "myNewCa-trusted.pem",
        ] {
            let decoded =
                decode(fx.get(name), None).unwrap_or_else(|e| panic!("{name}: {}", e.message()));
            assert_eq!(decoded.certs.len(), 1, "{name}");
            certs.extend(decoded.certs);
        }
        certs
    })
}

fn config(cases: u32) -> ProptestConfig {
    // No regression files: a failure prints the minimal input, and the hostile corpus
    // (tests/it/hostile) is where fixed inputs are kept.
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every certificate returned must be one whose DER occurs verbatim in `input` (or, for PEM,
/// in its decoded base64) — checked here for the DER case, where it must be the whole input.
fn assert_der_result(input: &[u8], result: &Result<Decoded, anchorage::input::DecodeError>) {
    if let Ok(decoded) = result {
        if decoded.format == "der" {
            assert_eq!(decoded.certs.len(), 1);
            assert_eq!(
                decoded.certs[0].der, input,
                "a DER input decoded to different bytes"
            );
        }
        for cert in &decoded.certs {
            assert!(!cert.der.is_empty());
            assert_eq!(cert.sha256, anchorage::cert::sha256(&cert.der));
        }
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// (a) Arbitrary bytes never panic, whatever the password mode.
    #[test]
    fn any_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let r = decode(&bytes, None);
        assert_der_result(&bytes, &r);
        let _ = decode(&bytes, Some("x"));
    }

    /// (a) Arbitrary bytes behind a PEM certificate header (the PEM path).
    #[test]
    fn any_bytes_after_pem_header_decode_without_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        end in any::<bool>(),
    ) {
        let mut input = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        input.extend(&bytes);
        if end {
            input.extend(b"\n-----END CERTIFICATE-----\n");
        }
        let _ = decode(&input, None);
    }

    /// (a) Arbitrary bytes behind a SEQUENCE tag (the DER/PKCS#7/PKCS#12 paths).
    #[test]
    fn any_bytes_after_sequence_tag_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut input = vec![0x30];
        input.extend(&bytes);
        let r = decode(&input, None);
        assert_der_result(&input, &r);
    }

    /// (a) Arbitrary base64 text in a CERTIFICATE block.
    #[test]
    fn any_base64_in_pem_decodes_without_panic(body in "[A-Za-z0-9+/=\n]{0,600}") {
        let input = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        let _ = decode(input.as_bytes(), None);
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// (b) PEM encoding round-trips the DER and the fingerprint, with text before the block and
    /// CRLF line ends.
    #[test]
    fn pem_round_trip(index in 0usize..12, preamble in "[A-Za-z0-9 :.,]{0,60}", crlf in any::<bool>()) {
        let cert = &fixture_certs()[index];
        let mut pem = cert.to_pem();
        if crlf {
            pem = pem.replace('\n', "\r\n");
        }
        let input = format!("{preamble}\n{pem}");
        let decoded = decode(input.as_bytes(), None).map_err(|e| TestCaseError::fail(e.message()))?;
        prop_assert_eq!(decoded.format, "pem");
        prop_assert_eq!(decoded.certs.len(), 1);
        prop_assert_eq!(&decoded.certs[0].der, &cert.der);
        prop_assert_eq!(decoded.certs[0].sha256, cert.sha256);
        prop_assert_eq!(&decoded.certs[0].subject, &cert.subject);
    }

    /// (b) DER round-trips too, and a bundle of PEMs yields the certificates in order.
    #[test]
    fn der_and_bundle_round_trip(indexes in prop::collection::vec(0usize..12, 1..5)) {
        let certs = fixture_certs();
        let first = &certs[indexes[0]];
        let decoded = decode(&first.der, None).map_err(|e| TestCaseError::fail(e.message()))?;
        prop_assert_eq!(decoded.format, "der");
        prop_assert_eq!(decoded.certs[0].sha256, first.sha256);
        let bundle: String = indexes.iter().map(|&i| certs[i].to_pem()).collect();
        let decoded = decode(bundle.as_bytes(), None).map_err(|e| TestCaseError::fail(e.message()))?;
        let got: Vec<[u8; 32]> = decoded.certs.iter().map(|c| c.sha256).collect();
        let want: Vec<[u8; 32]> = indexes.iter().map(|&i| certs[i].sha256).collect();
        prop_assert_eq!(got, want);
    }

    /// (b) One mutated byte of a DER certificate: Ok or Err, never a panic; if accepted, the
    /// certificate is exactly the mutated bytes (never some other certificate).
    #[test]
    fn mutated_der_never_panics(index in 0usize..12, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut der = fixture_certs()[index].der.clone();
        let at = at.index(der.len());
        der[at] = byte;
        let r = decode(&der, None);
        assert_der_result(&der, &r);
    }

    /// (b) One mutated byte of the PEM form: never a panic.
    #[test]
    fn mutated_pem_never_panics(index in 0usize..12, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut pem = fixture_certs()[index].to_pem().into_bytes();
        let at = at.index(pem.len());
        pem[at] = byte;
        let _ = decode(&pem, None);
    }

    /// Every strict prefix of a DER certificate is refused.
    #[test]
    fn truncated_der_is_refused(index in 0usize..12, cut in any::<prop::sample::Index>()) {
        let der = &fixture_certs()[index].der;
        let cut = cut.index(der.len());
        prop_assert!(decode(&der[..cut], None).is_err(), "a {}-byte prefix of {} bytes was accepted", cut, der.len());
    }

    /// One mutated byte of a PKCS#7 bundle (DER and BER): never a panic.
    #[test]
    fn mutated_pkcs7_never_panics(ber in any::<bool>(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = fixtures().get(if ber { "signed-ber.p7m" } else { "bundle-der.p7b" }).to_vec();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let _ = decode(&bytes, None);
    }
}

proptest! {
    // PKCS#12 runs a (debug-build) key derivation per case: fewer cases.
    #![proptest_config(config(40))]

    /// One mutated byte of a PKCS#12 file, with and without its password: never a panic.
    #[test]
    fn mutated_pkcs12_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), with_password in any::<bool>()) {
        let mut bytes = fixtures().get("nokeys.p12").to_vec();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let _ = decode(&bytes, with_password.then_some(P12_PASSWORD));
    }
}

/// The PKCS#12 fixtures decode to the same certificates as their PEM sources.
#[test]
fn pkcs12_certificates_match_their_sources() {
    let fx = fixtures();
    let ca = decode(fx.get("myNewCa.pem"), None)
        .expect("myNewCa.pem")
        .certs
        .remove(0);
    for name in ["ca-only.p12", "nokeys.p12", "default.p12"] {
        let decoded = decode(fx.get(name), Some(P12_PASSWORD))
            .unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        assert!(
            decoded.certs.iter().any(|c| c.sha256 == ca.sha256),
            "{name} lacks myNewCa"
        );
    }
}

/// `n` distinct certificates: `ca2.der` with serial numbers 0..n (signatures are not re-made;
/// decoding does not check them), as DER.
fn distinct_certs(n: u32) -> Vec<Vec<u8>> {
    let template = fixture_certs()[1].der.clone();
    let (cert, _) = anchorage::input::asn1::read(&template, 0).expect("template");
    let (tbs, _) = anchorage::input::asn1::read(cert.content, 1).expect("tbs");
    let (mut serial, mut rest) = anchorage::input::asn1::read(tbs.content, 2).expect("field");
    if serial.tag == 0xa0 {
        (serial, rest) = anchorage::input::asn1::read(rest, 2).expect("serial");
    }
    let _ = rest;
    assert!(serial.content.len() >= 5);
    let end = serial.content.as_ptr() as usize - template.as_ptr() as usize + serial.content.len();
    (0..n)
        .map(|i| {
            let mut der = template.clone();
            der[end - 4..end].copy_from_slice(&i.to_be_bytes());
            der
        })
        .collect()
}

/// Large bundles are decoded on several threads: the result is the sequential one (order,
/// keys counted, other blocks noted), and the error reported is the first one in the file.
#[test]
fn large_bundles_decode_in_order_and_report_the_first_error() {
    let ders = distinct_certs(700);
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let other = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
    let mut text = String::from("a bundle\n");
    for (i, der) in ders.iter().enumerate() {
        text.push_str(&anchorage::cert::pem_encode("CERTIFICATE", der));
        match i % 100 {
            10 => text.push_str(key),
            20 => text.push_str(other),
            _ => {}
        }
    }
    let decoded = decode(text.as_bytes(), None).expect("bundle decodes");
    assert_eq!(decoded.certs.len(), 700);
    for (cert, der) in decoded.certs.iter().zip(&ders) {
        assert_eq!(&cert.der, der);
    }
    assert_eq!(decoded.keys_ignored, 7);
    assert_eq!(decoded.notes, ["ignored 7 PEM blocks labelled 'X509 CRL'"]);

    // Ignored blocks are noted per label (at most 16 labels, then one line for the rest).
    let mut many = anchorage::cert::pem_encode("CERTIFICATE", &ders[0]);
    for i in 0..20 {
        many.push_str(&format!(
            "-----BEGIN LABEL {i}-----\nAAAA\n-----END LABEL {i}-----\n"
        ));
    }
    many.push_str("-----BEGIN LABEL 3-----\n-----END LABEL 3-----\n");
    let notes = decode(many.as_bytes(), None)
        .expect("cert and others")
        .notes;
    assert_eq!(notes.len(), 17, "{notes:?}");
    assert_eq!(notes[0], "ignored a PEM block labelled 'LABEL 0'");
    assert_eq!(notes[3], "ignored 2 PEM blocks labelled 'LABEL 3'");
    assert_eq!(notes[16], "ignored 4 PEM blocks labelled '(other labels)'");

    // Block numbers count every block: 700 certificates + 7 keys + 7 CRLs = 714.
    let corrupt = |text: &str, block: usize| -> String {
        let mut at = 0;
        for _ in 0..block {
            at += text[at..]
                .find("-----BEGIN CERTIFICATE-----\n")
                .expect("block")
                + 1;
        }
        let body = at - 1 + "-----BEGIN CERTIFICATE-----\n".len();
        // "MII" (SEQUENCE, two-byte length) becomes "EII": not a SEQUENCE any more.
        format!("{}E{}", &text[..body], &text[body + 1..])
    };
    let late = corrupt(&text, 650); // block #650 + the 7 keys and 7 CRLs before it
    let err = decode(late.as_bytes(), None)
        .expect_err("corrupt block")
        .message();
    assert!(err.contains("PEM block #664 "), "{err}");
    let both = format!("{}-----BEGIN CERTIFICATE-----\nAAAA\n", corrupt(&late, 100));
    let err = decode(both.as_bytes(), None)
        .expect_err("two errors")
        .message();
    assert!(err.contains("PEM block #102 "), "{err}");
    let framing = format!("{text}-----BEGIN CERTIFICATE-----\nAAAA\n");
    let err = decode(framing.as_bytes(), None)
        .expect_err("framing")
        .message();
    assert!(
        err.contains("PEM block #715 ") && err.contains("no END line"),
        "{err}"
    );
}
