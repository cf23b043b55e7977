//! JKS (`0xFEEDFEED`) as a store: the entries as byte ranges of the file, so a rewrite copies
//! every entry it keeps byte for byte (a private-key entry's protected key is never decrypted,
//! only skipped by its length) and appends or drops only trusted-certificate entries.
//!
//! Written by hand: the format is a flat list of length-prefixed records (see
//! `input::jks` for the layout and OpenJDK's `JavaKeyStore.engineStore`), simpler than any
//! crate's API for it. JCEKS (`0xCECECECE`) is read by `input::jks` as a source, but is not
//! managed as a store (its secret-key entries cannot be skipped by length).

use super::format::{Kind, KsEntry, KsError};

pub const MAGIC: u32 = 0xFEED_FEED;
const DIGEST_LEN: usize = 20;
const WHITENER: &[u8] = b"Mighty Aphrodite";

/// A parsed JKS: its version and every entry with the bytes it occupies.
pub struct Jks<'a> {
    pub version: u32,
    /// (entry, its bytes from the tag to the end of the entry).
    pub entries: Vec<(KsEntry, &'a [u8])>,
}

struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], KsError> {
        if n > self.b.len() - self.pos {
            return Err(KsError::Malformed(format!(
                "truncated: {what} needs {n} bytes at offset {}",
                self.pos
            )));
        }
        let out = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    fn u32(&mut self, what: &str) -> Result<u32, KsError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf(&mut self, what: &str) -> Result<&'a [u8], KsError> {
        let b = self.take(2, what)?;
        self.take(usize::from(u16::from_be_bytes([b[0], b[1]])), what)
    }
    fn blob(&mut self, what: &str) -> Result<&'a [u8], KsError> {
        let n = self.u32(what)?;
        self.take(usize::try_from(n).unwrap_or(usize::MAX), what)
    }
}

/// SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ body): the format's keyed digest.
pub fn digest(password: &str, body: &[u8]) -> [u8; DIGEST_LEN] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_be_bytes());
    }
    h.update(WHITENER);
    h.update(body);
    h.finalize().into()
}

/// Parse and check the keyed digest with `password`. Nothing is decrypted.
pub fn parse<'a>(bytes: &'a [u8], password: &str) -> Result<Jks<'a>, KsError> {
    if bytes.len() < 12 + DIGEST_LEN {
        return Err(KsError::Malformed(
            "too short for a header and a digest".into(),
        ));
    }
    let (body, want) = bytes.split_at(bytes.len() - DIGEST_LEN);
    let mut c = Cur { b: body, pos: 0 };
    if c.u32("the magic")? != MAGIC {
        return Err(KsError::Malformed("not a JKS keystore (magic)".into()));
    }
    let version = c.u32("the version")?;
    if version != 1 && version != 2 {
        return Err(KsError::Malformed(format!("unsupported version {version}")));
    }
    let count = c.u32("the entry count")?;
    // The smallest entry is 18 bytes: no count can claim more than fit.
    if usize::try_from(count).map_or(true, |n| n > body.len() / 18) {
        return Err(KsError::Malformed(format!(
            "claims {count} entries, more than fit"
        )));
    }
    let mut entries = Vec::new();
    for i in 1..=count {
        let start = c.pos;
        let tag = c.u32("an entry tag")?;
        let alias = String::from_utf8_lossy(c.utf("an alias")?).into_owned();
        c.take(8, "an entry date")?;
        let kind = match tag {
            2 => {
                if version == 2 && c.utf("a certificate type")? != b"X.509" {
                    return Err(KsError::Malformed(format!(
                        "entry #{i} holds a certificate that is not X.509"
                    )));
                }
                Kind::Trusted(c.blob("a certificate")?.to_vec())
            }
            1 => {
                c.blob("a protected private key")?;
                let n = c.u32("a chain length")?;
                if usize::try_from(n).map_or(true, |n| n > (body.len() - c.pos) / 4) {
                    return Err(KsError::Malformed(format!("entry #{i}: chain too long")));
                }
                for _ in 0..n {
                    if version == 2 {
                        c.utf("a certificate type")?;
                    }
                    c.blob("a chain certificate")?;
                }
                Kind::Key
            }
            t => {
                return Err(KsError::Malformed(format!(
                    "entry #{i} has an unknown tag {t}"
                )))
            }
        };
        entries.push((KsEntry { alias, kind }, &body[start..c.pos]));
    }
    if c.pos != body.len() {
        return Err(KsError::Malformed(
            "unexpected bytes before the digest".into(),
        ));
    }
    if digest(password, body) != want {
        return Err(KsError::WrongPassword);
    }
    Ok(Jks { version, entries })
}

/// One trusted-certificate entry as `JavaKeyStore.engineStore` writes it.
pub fn trusted_entry(
    version: u32,
    alias: &str,
    der: &[u8],
    millis: u64,
) -> Result<Vec<u8>, KsError> {
    let alias_len =
        u16::try_from(alias.len()).map_err(|_| KsError::Malformed("alias too long".into()))?;
    let der_len =
        u32::try_from(der.len()).map_err(|_| KsError::Malformed("certificate too long".into()))?;
    let mut out = Vec::with_capacity(der.len() + alias.len() + 32);
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&alias_len.to_be_bytes());
    out.extend_from_slice(alias.as_bytes());
    out.extend_from_slice(&millis.to_be_bytes());
    if version == 2 {
        out.extend_from_slice(&5u16.to_be_bytes());
        out.extend_from_slice(b"X.509");
    }
    out.extend_from_slice(&der_len.to_be_bytes());
    out.extend_from_slice(der);
    Ok(out)
}

/// The whole file: header, `entries` (each already encoded), keyed digest.
pub fn assemble(version: u32, entries: &[&[u8]], password: &str) -> Result<Vec<u8>, KsError> {
    let count =
        u32::try_from(entries.len()).map_err(|_| KsError::Malformed("too many entries".into()))?;
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len()).sum::<usize>() + 32);
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for e in entries {
        out.extend_from_slice(e);
    }
    let d = digest(password, &out);
    out.extend_from_slice(&d);
    Ok(out)
}
