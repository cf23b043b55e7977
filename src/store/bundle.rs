//! Fast reading of an effective PEM bundle: only the SHA-256 of each certificate's DER, no
//! X.509 parse (a bundle has ~150 roots; the no-op path must cost microseconds).

use std::collections::HashSet;
use std::path::Path;

use crate::cert::sha256;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// The digests of the bundle at `path`; `None` when it does not exist.
pub fn read_digests(path: &Path) -> crate::error::Result<Option<HashSet<[u8; 32]>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(digests(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::error::Error::io(
            "cannot read the effective bundle",
            path,
            e,
        )),
    }
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
}
