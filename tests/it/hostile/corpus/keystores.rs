//! Corpus items: hostile Java keystores (JKS/JCEKS) built byte by byte — counts and lengths
//! that point past the end, unknown and unsupported entry tags, truncation — and a
//! non-certificate (a bare SubjectPublicKeyInfo) named as a source. Each must be exit 65
//! naming the file, without a crash, a hang or a large allocation.

use super::Corpus;
use crate::hostile::der::{oid, seq, tlv};
use crate::hostile::fixtures::Fixtures;

const JKS: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
const JCEKS: [u8; 4] = [0xce, 0xce, 0xce, 0xce];

/// magic ‖ version 2 ‖ count ‖ entries ‖ a 20-byte digest (never valid: these are bad anyway).
fn store(magic: [u8; 4], count: u32, entries: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(entries);
    out.extend_from_slice(&[0u8; 20]);
    out
}

/// tag ‖ alias "a" ‖ date.
fn entry_head(tag: u32) -> Vec<u8> {
    let mut e = tag.to_be_bytes().to_vec();
    e.extend_from_slice(&[0, 1, b'a']);
    e.extend_from_slice(&0u64.to_be_bytes());
    e
}

/// A trusted-certificate entry whose declared certificate length is `len` over `der`.
fn trusted(der: &[u8], len: u32) -> Vec<u8> {
    let mut e = entry_head(2);
    e.extend_from_slice(&[0, 5]);
    e.extend_from_slice(b"X.509");
    e.extend_from_slice(&len.to_be_bytes());
    e.extend_from_slice(der);
    e
}

pub fn add(c: &mut Corpus, fx: &Fixtures) {
    let der = fx.get("myNewCa.der");
    let len = u32::try_from(der.len()).expect("a small certificate");
    c.bad_file(
        "jks-count-u32-max.jks",
        &store(JKS, u32::MAX, &trusted(der, len)),
    );
    c.bad_file(
        "jks-count-too-small.jks",
        &store(JKS, 0, &trusted(der, len)),
    );
    c.bad_file(
        "jks-cert-length-past-end.jks",
        &store(JKS, 1, &trusted(der, len + 1_000_000)),
    );
    c.bad_file(
        "jks-cert-length-u32-max.jks",
        &store(JKS, 1, &trusted(der, u32::MAX)),
    );
    c.bad_file("jks-unknown-tag.jks", &store(JKS, 1, &entry_head(7)));
    c.bad_file(
        "jceks-secret-key-entry.jceks",
        &store(JCEKS, 1, &entry_head(3)),
    );
    c.bad_file("jks-magic-only.jks", &JKS);
    let mut key_chain_huge = entry_head(1);
    key_chain_huge.extend_from_slice(&4u32.to_be_bytes());
    key_chain_huge.extend_from_slice(b"key!");
    key_chain_huge.extend_from_slice(&u32::MAX.to_be_bytes());
    c.bad_file(
        "jks-key-chain-count-u32-max.jks",
        &store(JKS, 1, &key_chain_huge),
    );
    let not_a_cert = trusted(&seq(&[&tlv(0x02, &[1])]), 5);
    c.bad_file(
        "jks-trusted-entry-not-a-certificate.jks",
        &store(JKS, 1, &not_a_cert),
    );

    // A bare public key (SubjectPublicKeyInfo) named on its own: not a certificate.
    let spki = seq(&[
        &seq(&[&oid("1.2.840.10045.2.1")]),
        &tlv(0x03, &[0x00, 0x04, 0x01, 0x02]),
    ]);
    c.bad_file("public-key.der", &spki);
}
