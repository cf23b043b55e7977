//! A Java truststore as a value, whatever its format: detect the format (JKS `0xFEEDFEED` or
//! PKCS#12), check its integrity with the store password, list its entries, and rewrite it in
//! the same format with trusted-certificate entries added or removed. Pure: bytes in, bytes
//! out (property-tested and fuzzed).

use super::{jks, pkcs12};

/// What an entry of a truststore is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A trusted-certificate entry (`trustedCertEntry`): the certificate's DER.
    Trusted(Vec<u8>),
    /// A private-key entry: carried over byte for byte, never decrypted.
    Key,
    /// Anything else a PKCS#12 holds (a key's chain certificate, a certificate the JVM does
    /// not trust): carried over.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KsEntry {
    pub alias: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jks,
    Pkcs12,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jks => "JKS",
            Format::Pkcs12 => "PKCS#12",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KsError {
    #[error("does not verify with the given password")]
    WrongPassword,
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A store read with its password.
#[derive(Debug, Clone)]
pub struct Keystore {
    pub format: Format,
    pub entries: Vec<KsEntry>,
    /// Things worth a note (a PKCS#12 without a MAC: nothing to verify).
    pub notes: Vec<String>,
}

impl Keystore {
    /// The trusted certificates: (alias, DER).
    pub fn trusted(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().filter_map(|e| match &e.kind {
            Kind::Trusted(d) => Some((e.alias.as_str(), d.as_slice())),
            _ => None,
        })
    }
}

pub fn detect(bytes: &[u8]) -> Option<Format> {
    match bytes.get(..4) {
        Some(m) if m == jks::MAGIC.to_be_bytes() => Some(Format::Jks),
        Some([0x30, ..]) => Some(Format::Pkcs12),
        _ => None,
    }
}

fn format_of(bytes: &[u8]) -> Result<Format, KsError> {
    detect(bytes).ok_or_else(|| {
        KsError::Unsupported(
            "neither JKS (0xFEEDFEED) nor PKCS#12 (JCEKS and other formats are not managed)".into(),
        )
    })
}

/// Read and verify a truststore.
pub fn read(bytes: &[u8], password: &str) -> Result<Keystore, KsError> {
    match format_of(bytes)? {
        Format::Jks => {
            let j = jks::parse(bytes, password)?;
            Ok(Keystore {
                format: Format::Jks,
                entries: j.entries.into_iter().map(|(e, _)| e).collect(),
                notes: Vec::new(),
            })
        }
        Format::Pkcs12 => {
            let p = pkcs12::parse(bytes, password)?;
            let mut notes = Vec::new();
            if p.mac.is_none() {
                notes.push(
                    "PKCS#12 without a MAC (a password-less store): no integrity to check".into(),
                );
            }
            Ok(Keystore {
                format: Format::Pkcs12,
                entries: p.entries().cloned().collect(),
                notes,
            })
        }
    }
}

/// The store with the trusted entries named in `remove` dropped and `add` (alias, DER)
/// appended as trusted-certificate entries; the same format, integrity protected with the same
/// password. Every other entry is carried over byte for byte. `millis`: the JKS entry date.
pub fn rewrite(
    bytes: &[u8],
    password: &str,
    remove: &[&str],
    add: &[(&str, &[u8])],
    millis: u64,
) -> Result<Vec<u8>, KsError> {
    let dropped =
        |e: &KsEntry| matches!(e.kind, Kind::Trusted(_)) && remove.contains(&e.alias.as_str());
    match format_of(bytes)? {
        Format::Jks => {
            let j = jks::parse(bytes, password)?;
            let mut new: Vec<Vec<u8>> = Vec::with_capacity(add.len());
            for (alias, der) in add {
                new.push(jks::trusted_entry(j.version, alias, der, millis)?);
            }
            let mut parts: Vec<&[u8]> = j
                .entries
                .iter()
                .filter(|(e, _)| !dropped(e))
                .map(|(_, raw)| *raw)
                .collect();
            parts.extend(new.iter().map(|v| v.as_slice()));
            jks::assemble(j.version, &parts, password)
        }
        Format::Pkcs12 => {
            let p = pkcs12::parse(bytes, password)?;
            p.rewrite(password, &dropped, add)
        }
    }
}

/// A new, empty store of `format` (tests; the exec fallback builds its PKCS#12 with
/// `pkcs12::build`).
pub fn empty(format: Format, password: &str) -> Result<Vec<u8>, KsError> {
    match format {
        Format::Jks => jks::assemble(2, &[], password),
        Format::Pkcs12 => pkcs12::build(password, &[]),
    }
}
