//! Fuzz target: Java truststores as stores (`anchorage::store::java::format`), read and
//! rewritten. The input is wrapped so every execution gets past the integrity check and into
//! the parsers: the first bit picks JKS (magic, version 2, the body, and the keyed digest
//! computed for `changeit`) or PKCS#12 (the input as the AuthenticatedSafe of a PFX without a
//! MAC). Read, then rewrite with one removal and one addition: Ok or Err, never a panic, hang
//! or allocation from a length field.
#![no_main]

use anchorage::store::java::{format, jks, pkcs12};
use libfuzzer_sys::fuzz_target;

const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
/// A small valid DER certificate is not needed: the writer does not parse what it adds.
const CERT: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x01];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let store = if first & 1 == 0 {
        let mut b = Vec::with_capacity(rest.len() + 28);
        b.extend_from_slice(&jks::MAGIC.to_be_bytes());
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(rest);
        let d = jks::digest("changeit", &b);
        b.extend_from_slice(&d);
        b
    } else {
        let ci = pkcs12::tlv(
            0x30,
            &[
                pkcs12::tlv(0x06, OID_DATA),
                pkcs12::tlv(0xa0, &pkcs12::tlv(0x04, rest)),
            ]
            .concat(),
        );
        pkcs12::tlv(0x30, &[pkcs12::tlv(0x02, &[3]), ci].concat())
    };
    if let Ok(ks) = format::read(&store, "changeit") {
        let first_alias = ks.entries.first().map(|e| e.alias.clone()).unwrap_or_default();
        let _ = format::rewrite(&store, "changeit", &[&first_alias], &[("anchorage-x", CERT)], 0);
    }
});
