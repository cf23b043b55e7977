//! Reading an effective PEM bundle: fast (only the SHA-256 of each certificate's DER, no X.509
//! parse: a bundle has ~150 roots and the no-op path must cost microseconds), and, after a
//! hook ran or for doctor, an audit of what OpenSSL would refuse in it.

use crate::cert::sha256;
use crate::tree::Tree;
use std::collections::HashSet;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// The digests of the bundle at `rel` in the tree (links resolved inside the tree); `None`
/// when it does not exist.
pub fn read_digests(tree: &Tree, rel: &str) -> crate::error::Result<Option<HashSet<[u8; 32]>>> {
    Ok(tree.read(rel)?.map(|bytes| digests(&bytes)))
}

pub fn digests(bytes: &[u8]) -> HashSet<[u8; 32]> {
    certificates(bytes)
        .flatten()
        .map(|der| sha256(&der))
        .collect()
}

/// The DER of every `CERTIFICATE` block of an effective bundle, in order; `None` for a block
/// whose base64 does not decode (callers skip it), and a final `None` for a block without END.
pub fn certificates(bytes: &[u8]) -> impl Iterator<Item = Option<Vec<u8>>> + '_ {
    let mut rest = bytes;
    let mut b64 = Vec::with_capacity(4096);
    std::iter::from_fn(move || {
        let start = memchr::memmem::find(rest, BEGIN)?;
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = memchr::memmem::find(body, END) else {
            rest = &[];
            return Some(None);
        };
        b64.clear();
        b64.extend(
            body[..end]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace()),
        );
        rest = &body[end + END.len()..];
        Some(data_encoding::BASE64.decode(&b64).ok())
    })
}

/// What in a bundle OpenSSL (or a careful reader) cannot use: certificate blocks it would
/// refuse — one of them makes OpenSSL refuse the whole file — and binary bytes outside the
/// blocks (a DER file concatenated in by the hook: OpenSSL skips it, so its CA is not trusted).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// "block #N: why", for blocks OpenSSL refuses.
    pub refused: Vec<String>,
    /// Bytes outside the blocks that are not text.
    pub binary_bytes: usize,
}

pub fn audit(bytes: &[u8]) -> Audit {
    let mut out = Audit::default();
    for (i, der) in certificates(bytes).enumerate() {
        let n = i + 1;
        let why = match der {
            None => Some("not a complete base64 block".to_string()),
            Some(der) => crate::input::asn1::check_certificate(&der)
                .err()
                .or_else(|| {
                    crate::input::names::check_certificate(&der)
                        .err()
                        .map(|u| u.message())
                })
                .or_else(|| crate::cert::Certificate::from_der(&der, false).err()),
        };
        if let Some(why) = why {
            out.refused.push(format!("block #{n}: {why}"));
        }
    }
    out.binary_bytes = outside_blocks(bytes)
        .iter()
        .filter(|b| !(b.is_ascii_graphic() || b.is_ascii_whitespace()))
        .count();
    out
}

/// The bytes between (and around) the CERTIFICATE blocks.
fn outside_blocks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = memchr::memmem::find(rest, BEGIN) {
        out.extend_from_slice(&rest[..start]);
        match memchr::memmem::find(&rest[start..], END) {
            Some(end) => rest = &rest[start + end + END.len()..],
            None => return out,
        }
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_and_ignores_comments_and_garbage() {
        let der = b"\x30\x03\x02\x01\x05";
        let pem = crate::cert::pem_encode("CERTIFICATE", der);
        let text = format!("# comment\n{pem}junk\r\n{}", pem.replace('\n', "\r\n"));
        let set = digests(text.as_bytes());
        assert_eq!(set.len(), 1);
        assert!(set.contains(&sha256(der)));
        assert!(digests(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn audit_names_refused_blocks_and_counts_binary_outside_them() {
        let der = b"\x30\x03\x02\x01\x05";
        let pem = crate::cert::pem_encode("CERTIFICATE", der);
        let mut text = format!("# comment\n{pem}").into_bytes();
        text.extend_from_slice(b"\x30\x82\x01\x00\xff\n");
        let a = audit(&text);
        assert_eq!(a.refused.len(), 1, "{a:?}");
        assert!(a.refused[0].starts_with("block #1: "), "{a:?}");
        assert_eq!(a.binary_bytes, 4, "0x30 is the text character 0");
        assert_eq!(audit(b"# only text\n"), Audit::default());
    }
}
