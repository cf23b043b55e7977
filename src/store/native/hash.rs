//! The subject-name hash OpenSSL's `rehash` names links by (`X509_NAME_hash_ex`): SHA-1 over
//! the name's canonical encoding, first four bytes little-endian, shown as `%08x`.
//!
//! The canonical encoding (OpenSSL `crypto/x509/x_name.c`, `x509_name_canon` and
//! `asn1_string_canon`): every value of a string type OpenSSL canonicalises (UTF8, BMP,
//! Universal, Printable, Teletex, IA5) is converted to UTF-8, leading and trailing
//! whitespace dropped, internal whitespace runs collapsed to one space, ASCII lowercased, and
//! re-encoded as a UTF8String; other values are kept as they are. Each RDN is re-encoded as a
//! DER `SET OF` (its members sorted by their encodings) and the SETs are concatenated without
//! the outer SEQUENCE header. Proven against `openssl x509 -subject_hash` by tests/it/refresh.rs.

use sha1::{Digest, Sha1};

use crate::input::asn1;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const UTF8: u8 = 0x0c;
const PRINTABLE: u8 = 0x13;
const T61: u8 = 0x14;
const IA5: u8 = 0x16;
const UNIVERSAL: u8 = 0x1c;
const BMP: u8 = 0x1e;
const NUMERIC: u8 = 0x12;
const BIT_STRING: u8 = 0x03;

/// The hash of a certificate's subject (its DER), or `None` when OpenSSL could not decode the
/// name either (a string that is not valid in its type).
pub fn subject_hash(cert_der: &[u8]) -> Option<u32> {
    name_hash(subject_of(cert_der)?)
}

/// The DER `Name` (outer SEQUENCE included) of a certificate's subject.
pub fn subject_of(cert_der: &[u8]) -> Option<&[u8]> {
    let (cert, _) = asn1::read(cert_der, 0).ok()?;
    let (tbs, _) = asn1::read(cert.content, 1).ok()?;
    let fields = asn1::children(tbs.content, 2).ok()?;
    // version [0] is optional: serial, signature, issuer, validity, subject follow it.
    let skip = usize::from(fields.first()?.tag == 0xa0);
    fields.get(skip + 4).map(|t| t.raw)
}

/// `X509_NAME_hash_ex` of a DER `Name`.
pub fn name_hash(name_der: &[u8]) -> Option<u32> {
    let canon = canonical(name_der)?;
    let md = Sha1::digest(&canon);
    Some(u32::from_le_bytes([md[0], md[1], md[2], md[3]]))
}

/// The canonical encoding of a DER `Name`.
pub fn canonical(name_der: &[u8]) -> Option<Vec<u8>> {
    let (name, _) = asn1::read(name_der, 0).ok()?;
    if name.tag != SEQUENCE {
        return None;
    }
    let mut out = Vec::new();
    for rdn in asn1::children(name.content, 1).ok()? {
        if rdn.tag != SET {
            return None;
        }
        let mut members = Vec::new();
        for atv in asn1::children(rdn.content, 2).ok()? {
            let parts = asn1::children(atv.content, 3).ok()?;
            let [oid, value] = parts.as_slice() else {
                return None;
            };
            let mut body = oid.raw.to_vec();
            match canon_string(value.tag, value.content)? {
                Some(text) => tlv(UTF8, &text, &mut body),
                None => body.extend_from_slice(value.raw),
            }
            let mut member = Vec::new();
            tlv(SEQUENCE, &body, &mut member);
            members.push(member);
        }
        // DER SET OF: members in the order of their encodings (OpenSSL's der_cmp: bytes over
        // the common length, then the shorter first).
        members.sort();
        tlv(SET, &members.concat(), &mut out);
    }
    Some(out)
}

/// `Some(Some(text))`: the canonical UTF-8 text; `Some(None)`: a type kept as it is; `None`:
/// not decodable in its type, or a type OpenSSL does not load in a name.
fn canon_string(tag: u8, content: &[u8]) -> Option<Option<Vec<u8>>> {
    let utf8: Vec<u8> = match tag {
        UTF8 => std::str::from_utf8(content).ok()?.as_bytes().to_vec(),
        PRINTABLE | T61 | IA5 => latin1(content),
        BMP => wide(content, 2)?,
        UNIVERSAL => wide(content, 4)?,
        NUMERIC | BIT_STRING => return Some(None),
        // VisibleString and the other types are outside the mask OpenSSL decodes a name
        // value with (B_ASN1_PRINTABLE): it cannot load the certificate at all. Types it
        // loads but we do not model (SEQUENCE, the "unknown" tags) are refused too: the
        // caller falls back to the real hook.
        _ => return None,
    };
    Some(Some(collapse(&utf8)))
}

/// One byte per character (OpenSSL reads Teletex as Latin-1 too).
fn latin1(content: &[u8]) -> Vec<u8> {
    content
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .into_bytes()
}

/// UCS-2 or UCS-4, big-endian.
fn wide(content: &[u8], width: usize) -> Option<Vec<u8>> {
    if !content.len().is_multiple_of(width) {
        return None;
    }
    let mut s = String::new();
    for c in content.chunks(width) {
        let v = c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        s.push(char::from_u32(v)?);
    }
    Some(s.into_bytes())
}

/// OpenSSL's whitespace: space, \t, \n, \v, \f, \r.
fn space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Trim, collapse internal whitespace runs to one space, lowercase ASCII.
fn collapse(s: &[u8]) -> Vec<u8> {
    let start = s.iter().position(|&b| !space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !space(b)).map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end - start);
    let mut in_space = false;
    for &b in &s[start..end] {
        if space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

/// Append a DER TLV.
fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_case_fold() {
        assert_eq!(collapse(b"  Foo \t  Bar  "), b"foo bar");
        assert_eq!(collapse(b"   "), b"");
        assert_eq!(collapse(b"\xc3\x89A"), b"\xc3\x89a");
    }

    #[test]
    fn empty_name_is_sha1_of_nothing() {
        // SHA-1("") = da39a3ee…: first four bytes little-endian.
        assert_eq!(name_hash(&[0x30, 0x00]), Some(0xee_a3_39_da));
    }

    #[test]
    fn bad_strings_do_not_hash() {
        assert_eq!(canon_string(BMP, &[0, 0x41, 0]), None);
        assert_eq!(canon_string(UTF8, &[0xff]), None);
        assert_eq!(canon_string(NUMERIC, b"123"), Some(None));
        assert_eq!(canon_string(0x1a, b"visible"), None);
    }
}
