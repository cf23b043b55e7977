//! Java keystores: JKS (`0xFEEDFEED`, Sun's JavaKeyStore) and JCEKS (`0xCECECECE`, SunJCE's
//! JceKeyStore), versions 1 and 2. The layout (all integers big-endian):
//!
//! ```text
//! magic u32 · version u32 · count u32 · count × entry · SHA-1 digest (20 bytes)
//! entry 1 (private key):  tag · alias · date u64 · u32 len + protected key · u32 n · n × cert
//! entry 2 (trusted cert): tag · alias · date u64 · cert
//! entry 3 (secret key, JCEKS only): tag · alias · date u64 · a Java-serialized SealedObject
//! cert: [version 2: certificate type, a UTF string] · u32 len + encoding
//! UTF string: u16 len + (modified) UTF-8
//! digest: SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ every byte before the digest)
//! ```
//!
//! Only trusted-certificate entries are returned. Private-key entries are skipped by their
//! lengths: the protected key is never decrypted or copied, its chain never kept. A secret-key
//! entry has no length prefix (Java serialization), so it cannot be skipped reliably and stops
//! the decoding with an `Unsupported` error. Every length is checked against the bytes left
//! before anything is taken, so nothing is allocated from an untrusted length.

use super::{asn1, Container, DecodeError, Decoded};
use crate::cert::Certificate;

const JKS_MAGIC: u32 = 0xFEED_FEED;
const JCEKS_MAGIC: u32 = 0xCECE_CECE;
const DIGEST_LEN: usize = 20;
const WHITENER: &[u8] = b"Mighty Aphrodite";
/// Java's well-known default store password, tried when none is given.
const DEFAULT_PASSWORD: &str = "changeit";
/// The smallest possible entry: tag (4), empty alias (2), date (8), version-1 cert length (4).
const MIN_ENTRY: usize = 18;
/// The smallest chain certificate: its length (4).
const MIN_CHAIN_CERT: usize = 4;

/// Is this a Java keystore (by its magic number)?
pub fn is_keystore(bytes: &[u8]) -> bool {
    matches!(be32(bytes), Some(JKS_MAGIC | JCEKS_MAGIC))
}

fn be32(bytes: &[u8]) -> Option<u32> {
    let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// A cursor over the keystore body; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    format: &'static str,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if n > self.left() {
            return Err(DecodeError::Container { kind: Container::Keystore, msg: format!(
                "{} keystore is truncated: {what} needs {n} bytes at offset {}, only {} left before the digest",
                self.format.to_uppercase(),
                self.pos,
                self.left()
            )});
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self, what: &str) -> Result<&'a [u8], DecodeError> {
        let b = self.take(2, what)?;
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        self.take(n, what)
    }

    /// A u32 length and that many bytes.
    fn blob(&mut self, what: &str) -> Result<&'a [u8], DecodeError> {
        let n = self.u32(what)?;
        self.take(usize::try_from(n).unwrap_or(usize::MAX), what)
    }

    fn invalid(&self, why: String) -> DecodeError {
        DecodeError::Container {
            kind: Container::Keystore,
            msg: format!("{} keystore: {why}", self.format.to_uppercase()),
        }
    }
}

/// An alias for messages: lossy, at most 64 characters.
fn alias_text(alias: &[u8]) -> String {
    let s = String::from_utf8_lossy(alias);
    let mut out: String = s.chars().take(64).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// What the structure walk found: the trusted certificates' encodings (with their aliases)
/// and the number of private-key entries skipped.
struct Parsed<'a> {
    trusted: Vec<(&'a [u8], &'a [u8])>,
    keys: usize,
}

fn parse<'a>(r: &mut Reader<'a>, version: u32) -> Result<Parsed<'a>, DecodeError> {
    let count = r.u32("the entry count")?;
    let fits = r.left() / MIN_ENTRY;
    if usize::try_from(count).map_or(true, |c| c > fits) {
        return Err(r.invalid(format!(
            "claims {count} entries, but at most {fits} fit in its {} bytes",
            r.bytes.len()
        )));
    }
    let mut parsed = Parsed {
        trusted: Vec::new(),
        keys: 0,
    };
    for i in 1..=count {
        let tag = r.u32("an entry tag")?;
        match tag {
            1 | 2 => {}
            3 if r.format == "jceks" => {
                let alias = r.utf("an alias").map(alias_text).unwrap_or_default();
                return Err(DecodeError::Unsupported(format!(
                    "JCEKS keystore entry #{i} ('{alias}') is a secret-key entry; secret-key entries are not supported"
                )));
            }
            _ => return Err(r.invalid(format!("entry #{i} has an unknown tag {tag}"))),
        }
        let alias = r.utf("an alias")?;
        r.take(8, "an entry date")?;
        if tag == 2 {
            if version == 2 {
                let kind = r.utf("a certificate type")?;
                if kind != b"X.509" {
                    return Err(r.invalid(format!(
                        "entry #{i} ('{}') holds a certificate of type '{}', not X.509",
                        alias_text(alias),
                        alias_text(kind)
                    )));
                }
            }
            parsed.trusted.push((alias, r.blob("a certificate")?));
            continue;
        }
        // A private-key entry: skip the protected key and its certificate chain.
        r.blob("a protected private key")?;
        let n = r.u32("a certificate chain length")?;
        let fits = r.left() / MIN_CHAIN_CERT;
        if usize::try_from(n).map_or(true, |n| n > fits) {
            return Err(r.invalid(format!(
                "entry #{i} claims a chain of {n} certificates, more than fit in the bytes left"
            )));
        }
        for _ in 0..n {
            if version == 2 {
                r.utf("a certificate type")?;
            }
            r.blob("a chain certificate")?;
        }
        parsed.keys += 1;
    }
    if r.left() != 0 {
        return Err(r.invalid(format!(
            "{} unexpected bytes between the last entry and the digest",
            r.left()
        )));
    }
    Ok(parsed)
}

/// Decode a keystore (the caller has seen its magic). `password`: the store password given by
/// the user; without one, `changeit` is tried, and if it does not match the certificates are
/// read with a note that the integrity was not checked.
pub fn decode(bytes: &[u8], password: Option<&str>) -> Result<Decoded, DecodeError> {
    let format = if be32(bytes) == Some(JCEKS_MAGIC) {
        "jceks"
    } else {
        "jks"
    };
    let name = format.to_uppercase();
    if bytes.len() < 12 + DIGEST_LEN {
        return Err(DecodeError::Container {
            kind: Container::Keystore,
            msg: format!(
                "{name} keystore is truncated ({} bytes: too short for a header and a digest)",
                bytes.len()
            ),
        });
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    let mut r = Reader {
        bytes: body,
        pos: 4,
        format,
    };
    let version = r.u32("the version")?;
    if version != 1 && version != 2 {
        return Err(r.invalid(format!("unsupported version {version} (1 or 2 expected)")));
    }
    let parsed = parse(&mut r, version)?;

    let mut notes = Vec::new();
    match password {
        Some(p) if keyed_digest(p, body) != digest => {
            return Err(DecodeError::WrongKeystorePassword);
        }
        Some(_) => {}
        None if keyed_digest(DEFAULT_PASSWORD, body) == digest => {}
        None => notes.push(format!(
            "{name} keystore integrity not checked (no password; the default 'changeit' does not match)"
        )),
    }

    let mut certs = Vec::with_capacity(parsed.trusted.len());
    for (i, (alias, der)) in parsed.trusted.iter().enumerate() {
        let fail = |e: String| DecodeError::Container {
            kind: Container::Keystore,
            msg: format!(
                "{name} trusted certificate #{} ('{}'): malformed: {e}",
                i + 1,
                alias_text(alias)
            ),
        };
        asn1::check(der)
            .and_then(|()| asn1::check_certificate(der))
            .map_err(fail)?;
        super::names::check_certificate(der).map_err(|u| {
            DecodeError::Unloadable(u.within(&format!(
                "{name} trusted certificate #{} ('{}')",
                i + 1,
                alias_text(alias)
            )))
        })?;
        certs.push(Certificate::from_der(der, false).map_err(fail)?);
    }
    if certs.is_empty() {
        return Err(if parsed.keys > 0 {
            DecodeError::OnlyKeys
        } else {
            DecodeError::NoCertificate(format!("a {name} keystore without trusted certificates"))
        });
    }
    Ok(Decoded {
        certs,
        format,
        keys_ignored: parsed.keys,
        notes,
        ..Decoded::default()
    })
}

/// SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ body).
/// SHA-1 because the keystore format fixes it (a legacy integrity check, nothing more).
fn keyed_digest(password: &str, body: &[u8]) -> [u8; DIGEST_LEN] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_be_bytes());
    }
    h.update(WHITENER);
    h.update(body);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 20]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Plain SHA-1 of the concatenated parts (the crate's), to check what is hashed.
    fn sha1(parts: &[&[u8]]) -> String {
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        for p in parts {
            h.update(p);
        }
        hex(h.finalize().into())
    }

    #[test]
    fn keyed_digest_is_password_utf16be_then_whitener_then_body() {
        let want = sha1(&[b"\x00c\x00h", WHITENER, b"body"]);
        assert_eq!(hex(keyed_digest("ch", b"body")), want);
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(sha1(&[]), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1(&[b"abc"]), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha1(&[two_blocks]),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // Split updates give the same digest as one.
        assert_eq!(sha1(&[b"ab", b"", b"c"]), sha1(&[b"abc"]));
        let million = vec![b'a'; 1_000_000];
        assert_eq!(
            sha1(&[&million]),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }
}
