//! Telling binary inputs apart by their outer ASN.1 structure (certificate, PKCS#7, PKCS#12,
//! something else) and pulling the certificates out of a PKCS#7/CMS SignedData, with the
//! walker of `asn1` (re-exported there as `asn1::{shape, Shape, pkcs7_certificates}`).

use super::{check, children, read};

/// What a binary (non-PEM) input looks like, judged from its outer structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Certificate,
    Pkcs7,
    Pkcs12,
    /// A SEQUENCE of something else (for example a PKCS#8 private key).
    OtherSequence,
    /// Not ASN.1 at all.
    NotAsn1,
}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

pub fn shape(input: &[u8]) -> Shape {
    let Ok((outer, _)) = read(input, 0) else {
        return if input.first() == Some(&0x30) {
            Shape::OtherSequence
        } else {
            Shape::NotAsn1
        };
    };
    if outer.tag != 0x30 {
        return Shape::NotAsn1;
    }
    let Ok((first, rest)) = read(outer.content, 1) else {
        return Shape::OtherSequence;
    };
    match first.tag {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm, signature }
        0x30 => {
            let third_is_bitstring = children(rest, 1)
                .map(|c| c.len() == 2 && c[1].tag == 0x03)
                .unwrap_or(false);
            if third_is_bitstring {
                Shape::Certificate
            } else {
                Shape::OtherSequence
            }
        }
        // ContentInfo ::= SEQUENCE { contentType OID, [0] EXPLICIT content }
        0x06 if first.content == OID_SIGNED_DATA => Shape::Pkcs7,
        // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (data), macData OPTIONAL }
        0x02 => {
            let auth_safe_is_data = read(rest, 1)
                .ok()
                .and_then(|(auth, _)| read(auth.content, 2).ok())
                .is_some_and(|(oid, _)| oid.tag == 0x06 && oid.content == OID_DATA);
            if first.content == [3] && auth_safe_is_data {
                Shape::Pkcs12
            } else {
                Shape::OtherSequence
            }
        }
        _ => Shape::OtherSequence,
    }
}

/// The certificates of a PKCS#7/CMS SignedData (`ContentInfo`), as DER slices.
pub fn pkcs7_certificates(input: &[u8]) -> Result<Vec<&[u8]>, String> {
    check(input)?;
    let (outer, _) = read(input, 0)?;
    let parts = children(outer.content, 1)?;
    let (oid, explicit) = match parts.as_slice() {
        [oid, explicit, ..] => (oid, explicit),
        [_] => return Ok(Vec::new()),
        _ => return Err("empty ContentInfo".into()),
    };
    if oid.tag != 0x06 || oid.content != OID_SIGNED_DATA {
        return Err("not a PKCS#7 SignedData".into());
    }
    if explicit.tag != 0xa0 {
        return Err("ContentInfo content is not [0] EXPLICIT".into());
    }
    let (signed, _) = read(explicit.content, 2)?;
    if signed.tag != 0x30 {
        return Err("SignedData is not a SEQUENCE".into());
    }
    let fields = children(signed.content, 3)?;
    let mut certs = Vec::new();
    for field in fields.iter().skip(3) {
        // certificates [0] IMPLICIT CertificateSet
        if field.tag == 0xa0 {
            for choice in children(field.content, 4)? {
                if choice.tag == 0x30 {
                    certs.push(choice.raw);
                }
            }
        }
    }
    Ok(certs)
}
