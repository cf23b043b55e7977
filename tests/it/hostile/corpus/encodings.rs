//! Corpus items: random bytes, truncated DER and PEM, corrupt base64, PEM structure, DER
//! structure, deeply nested ASN.1.

use super::{Corpus, EMPTY_BLOCK};
use crate::hostile::der::{
    int, nested_definite, nested_indefinite, oid, pem, seq, splice, tlv, Rng, OID_DATA,
    OID_SIGNED_DATA,
};
use crate::hostile::fixtures::Fixtures;

pub fn add(c: &mut Corpus, rng: &mut Rng, fx: &Fixtures) {
    let der = fx.get("myNewCa.crt");
    let pem_text = fx.get("myNewCa.pem");

    // --- random bytes ------------------------------------------------------------------------
    for n in [1usize, 2, 3, 16, 64, 256, 1024, 4096, 65_536, 1 << 20] {
        let bytes = rng.bytes(n);
        c.bad_file(&format!("random-{n:07}.bin"), &bytes);
    }
    for n in [100usize, 1000, 5000] {
        // Random content behind a plausible DER certificate header.
        let mut bytes = vec![0x30, 0x82, (n >> 8) as u8, n as u8];
        bytes.extend(rng.bytes(n));
        c.bad_file(&format!("random-der-header-{n}.crt"), &bytes);
        let mut bytes = vec![0x30, 0x80];
        bytes.extend(rng.bytes(n));
        c.bad_file(&format!("random-indefinite-header-{n}.crt"), &bytes);
    }
    let random = rng.bytes(900);
    c.bad_file("random-base64-in-pem.pem", &pem("CERTIFICATE", &random));

    // --- truncated DER and PEM ---------------------------------------------------------------
    let len = der.len();
    let offsets = [
        0,
        1,
        2,
        3,
        4,
        5,
        8,
        16,
        32,
        64,
        128,
        256,
        400,
        512,
        700,
        len - 100,
        len - 10,
        len - 2,
        len - 1,
    ];
    for at in offsets {
        c.bad_file(&format!("truncated-der-at-{at:04}.crt"), &der[..at]);
    }
    let plen = pem_text.len();
    // (A cut inside the END line leaves the certificate complete, and is accepted.)
    for at in [11, 28, 100, plen / 2, plen - 40, plen - 27, plen - 26] {
        c.bad_file(&format!("truncated-pem-at-{at:04}.pem"), &pem_text[..at]);
    }
    for (fixture, ext) in [
        ("default.p12", "p12"),
        ("bundle-der.p7b", "p7b"),
        ("signed-ber.p7m", "p7m"),
    ] {
        let bytes = fx.get(fixture);
        let stem = fixture.split('.').next().unwrap_or(fixture);
        for at in [40, bytes.len() / 2, bytes.len() - 2, bytes.len() - 1] {
            c.bad_file(&format!("truncated-{stem}-at-{at:04}.{ext}"), &bytes[..at]);
        }
    }

    // --- corrupt base64 ----------------------------------------------------------------------
    // Bit flips in the 6-bit values of the first four base64 characters: they encode the outer
    // SEQUENCE tag and length, so every flip breaks the structure whatever the key material.
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body = pem_text
        .iter()
        .position(|&b| b == b'\n')
        .expect("PEM header line")
        + 1;
    for ch in 0..4 {
        for bit in 0..6 {
            let mut bytes = pem_text.to_vec();
            let value = B64
                .iter()
                .position(|&b| b == bytes[body + ch])
                .expect("base64 char");
            bytes[body + ch] = B64[value ^ (1 << bit)];
            c.bad_file(&format!("base64-flip-char{ch}-bit{bit}.pem"), &bytes);
        }
    }
    for at in [0, 10, 100, 500, 1000] {
        let mut bytes = pem_text.to_vec();
        bytes[body + at] = b'*';
        c.bad_file(&format!("base64-invalid-char-at-{at:04}.pem"), &bytes);
        let bytes = splice(pem_text, body + at, 1, b"");
        c.bad_file(&format!("base64-deleted-char-at-{at:04}.pem"), &bytes);
    }
    let bytes = splice(pem_text, body + 200, 0, b"\0\0\0\0");
    c.bad_file("base64-with-nul-bytes.pem", &bytes);
    let utf16: Vec<u8> = pem_text.iter().flat_map(|&b| [b, 0]).collect();
    c.bad_file("pem-as-utf16le.pem", &utf16);

    // --- PEM structure -----------------------------------------------------------------------
    c.bad_file("pem-empty-block.pem", EMPTY_BLOCK);
    c.bad_file(
        "pem-empty-block-then-valid.pem",
        &[EMPTY_BLOCK, pem_text].concat(),
    );
    c.bad_file(
        "pem-valid-then-empty-block.pem",
        &[pem_text, EMPTY_BLOCK].concat(),
    );
    c.bad_file("pem-begin-only.pem", b"-----BEGIN CERTIFICATE-----\n");
    c.bad_file("pem-begin-marker-only.pem", b"-----BEGIN ");
    c.bad_file(
        "pem-20000-begin-lines.pem",
        &b"-----BEGIN CERTIFICATE-----\n".repeat(20_000),
    );
    let mut bytes = fx.get("garbage.bin").to_vec();
    bytes.splice(2000..2000, b"-----BEGIN CERTIFICATE-----\n".iter().copied());
    c.bad_file("binary-with-begin-marker.bin", &bytes);
    let mut bytes = rng.bytes(3000);
    bytes.splice(
        1000..1000,
        b"\n-----BEGIN CERTIFICATE-----\n".iter().copied(),
    );
    bytes.splice(2000..2000, b"\n-----END CERTIFICATE-----\n".iter().copied());
    c.bad_file("binary-with-begin-and-end-markers.bin", &bytes);
    c.bad_file(
        "der-then-pem-marker.crt",
        &[der, b"-----BEGIN CERTIFICATE-----\n".as_slice()].concat(),
    );
    c.bad_file(
        "pem-unknown-label-only.pem",
        &pem("X509 CRL", &rng.bytes(200)),
    );
    c.bad_file("pem-certificate-request.pem", fx.get("myNewCa-csr.pem"));
    c.bad_file("pem-pkcs7-garbage.pem", &pem("PKCS7", &rng.bytes(300)));
    c.bad_file(
        "pem-certificate-holding-a-key.pem",
        &pem("CERTIFICATE", fx.get("key-only.der")),
    );
    let many = pem("X", b"").repeat((4 << 20) / pem("X", b"").len());
    c.bad_file("pem-4mib-of-unknown-blocks.pem", &many);
    let mut bytes = pem_text.repeat((2 << 20) / pem_text.len());
    bytes.extend(b"-----BEGIN CERTIFICATE-----\nAAAA*AAA\n-----END CERTIFICATE-----\n");
    c.bad_file("pem-2mib-valid-then-corrupt.pem", &bytes);

    // --- DER structure -----------------------------------------------------------------------
    c.bad_file("der-trailing-garbage.crt", &[der, &rng.bytes(16)].concat());
    // Class/constructed bits flipped: x509-parser checks only tag numbers, OpenSSL refuses these.
    assert_eq!(der[8], 0xa0);
    for (name, at, tag) in [
        ("outer-0x10", 0, 0x10),
        ("tbs-0xb0", 4, 0xb0),
        ("tbs-0x10", 4, 0x10),
        ("version-0x80", 8, 0x80),
    ] {
        let mut bytes = der.to_vec();
        bytes[at] = tag;
        c.bad_file(
            &format!("tag-class-{name}.pem"),
            &pem("CERTIFICATE", &bytes),
        );
        c.bad_file(&format!("tag-class-{name}.crt"), &bytes);
    }
    c.bad_file("der-csr.der", fx.get("myNewCa.csr"));
    // Huge lengths: the outer SEQUENCE header 30 82 LL LL patched.
    assert_eq!(&der[..2], [0x30, 0x82]);
    let huge = [
        ("outer-84ffffffff", vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
        ("outer-847fffffff", vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]),
        (
            "outer-88ff",
            vec![0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        ("outer-ff-length-octets", vec![0x30, 0xff]),
        ("outer-length-zero", vec![0x30, 0x00]),
    ];
    for (name, header) in &huge {
        let bytes = splice(der, 0, 4, header);
        c.bad_file(&format!("der-huge-length-{name}.crt"), &bytes);
        if *name == "outer-84ffffffff" {
            c.bad_file(
                &format!("pem-huge-length-{name}.pem"),
                &pem("CERTIFICATE", &bytes),
            );
        }
    }
    assert_eq!(&der[4..6], [0x30, 0x82]);
    c.bad_file(
        "der-huge-length-tbs-84ffffffff.crt",
        &splice(der, 4, 4, &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    );
    let p7 = fx.get("bundle-der.p7b");
    c.bad_file(
        "p7-huge-length-84ffffffff.p7b",
        &splice(p7, 0, 4, &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    );
    c.bad_file(
        "primitive-indefinite-length.crt",
        &[0x04, 0x80, 0x01, 0x02, 0x00, 0x00],
    );
    c.bad_file("high-tag-number.crt", &[0x3f, 0x81, 0x00, 0x00]);

    // --- deeply nested ASN.1 -----------------------------------------------------------------
    let deep = nested_definite(10_000);
    c.bad_file("nested-10k-definite.der", &deep);
    c.bad_file(
        "nested-10k-indefinite.der",
        &nested_indefinite(10_000, true),
    );
    c.bad_file(
        "nested-100k-indefinite-unterminated.der",
        &nested_indefinite(100_000, false),
    );
    c.bad_file("nested-10k-definite-in-pem.pem", &pem("CERTIFICATE", &deep));
    c.bad_file(
        "nested-10k-indefinite-in-pem.pem",
        &pem("CERTIFICATE", &nested_indefinite(10_000, true)),
    );
    let p7_deep = seq(&[&oid(OID_SIGNED_DATA), &tlv(0xa0, &deep)]);
    c.bad_file("nested-10k-in-pkcs7.p7b", &p7_deep);
    let p12_deep = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &deep))]),
    ]);
    c.bad_file("nested-10k-in-pkcs12.p12", &p12_deep);
    let wide = tlv(0x30, &[0x30, 0x00].repeat(500_000));
    c.bad_file("wide-500k-empty-sequences.der", &wide);
}
