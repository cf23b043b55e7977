//! PKCS#12 (.p12/.pfx) through p12-keystore: OpenSSL 3's AES/PBES2 default, `-legacy`
//! RC2/3DES, `-nokeys`, empty passwords and Java keytool truststores. Keys are decrypted by the
//! library in memory and dropped here; only certificate bags are returned. Files made with an
//! absent (NULL) password are read by `absent`; `scan` names ciphers anchorage cannot decrypt.

mod absent;
mod scan;

use super::{asn1, Container, DecodeError, Decoded};
use crate::cert::Certificate;

/// PBKDF iteration counts above this are refused: they would make anchorage spin for minutes
/// on a hostile file (OpenSSL's default is 2048, Java's 10000).
const MAX_ITERATIONS: u64 = 1_000_000;

/// The key-derivation work of the whole file is capped too: each count may be legal, but 40
/// copies of a 1,000,000-iteration EncryptedData in a 40 KiB file cost 40 PBKDF2 runs, and 64 MiB
/// of them hours. Ten maximal runs (about a second and a half) are allowed in total. scrypt
/// counts N·r·p·4 (one N·r·p unit costs about as much as four PBKDF2-SHA256 iterations), which
/// also bounds its memory (128·N·r bytes).
const MAX_TOTAL_ITERATIONS: u64 = 10 * MAX_ITERATIONS;

/// Why a PKCS#12 file asks for too much key-derivation work to be read (over `MAX_ITERATIONS`
/// in one count, or `MAX_TOTAL_ITERATIONS` in all); `None` when it is within the caps. Also the
/// Java truststore reader's guard (`store::java::pkcs12`): a crafted `cacerts` in an image must
/// not make `doctor --runtimes` or `--java-discover` spin.
pub(crate) fn too_much_work(bytes: &[u8]) -> Option<String> {
    let work = kdf_work(bytes);
    if work.largest > MAX_ITERATIONS {
        return Some(format!(
            "PKCS#12 asks for {} key-derivation iterations (more than {MAX_ITERATIONS})",
            work.largest
        ));
    }
    if work.total > MAX_TOTAL_ITERATIONS {
        return Some(format!(
            "PKCS#12 asks for {} key-derivation iterations in total (more than {MAX_TOTAL_ITERATIONS})",
            work.total
        ));
    }
    None
}

pub fn decode(bytes: &[u8], password: Option<&str>) -> Result<Decoded, DecodeError> {
    asn1::check(bytes).map_err(|e| DecodeError::Container {
        kind: Container::Pkcs12,
        msg: format!("malformed PKCS#12: {e}"),
    })?;
    if let Some(msg) = too_much_work(bytes) {
        return Err(DecodeError::Container {
            kind: Container::Pkcs12Work,
            msg,
        });
    }
    let given = password.is_some();
    let pass = password.unwrap_or("");
    let (ders, keys_ignored) = match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, pass) {
        Ok(archive) => {
            let ders: Vec<Vec<u8>> = archive
                .certs
                .iter()
                .map(|b| b.cert.as_der().to_vec())
                .collect();
            (ders, archive.keys.len())
        }
        // The empty password did not verify the MAC: the file may have been made with an
        // absent (NULL) password, which the KDF treats differently from "".
        Err(p12_keystore::error::Error::MacError(_))
            if pass.is_empty() && absent::mac_verifies(bytes) =>
        {
            let c = absent::contents(bytes).map_err(|e| {
                scan::unsupported_cipher(bytes).map_or_else(
                    || DecodeError::Container {
                        kind: Container::Pkcs12Unreadable,
                        msg: format!("cannot read PKCS#12 (absent password): {e}"),
                    },
                    DecodeError::UnsupportedCipher,
                )
            })?;
            (c.certs, c.keys)
        }
        Err(e) => return Err(classify(e, given, bytes)),
    };
    let mut certs = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        asn1::check_certificate(der).map_err(|e| DecodeError::Container {
            kind: Container::Pkcs12,
            msg: format!("PKCS#12 certificate #{}: malformed: {e}", i + 1),
        })?;
        super::names::check_certificate(der).map_err(|u| {
            DecodeError::Unloadable(u.within(&format!("PKCS#12 certificate #{}", i + 1)))
        })?;
        let cert = Certificate::from_der(der, false).map_err(|e| DecodeError::Container {
            kind: Container::Pkcs12,
            msg: format!("PKCS#12 certificate #{}: {e}", i + 1),
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(if keys_ignored > 0 {
            DecodeError::OnlyKeys
        } else {
            DecodeError::NoCertificate("a PKCS#12 file without certificates".into())
        });
    }
    Ok(Decoded {
        certs,
        format: "pkcs12",
        keys_ignored,
        ..Decoded::default()
    })
}

/// p12-keystore's error as ours. The MAC is checked first, so a failure after it means the
/// password was right (or there is no MAC): an algorithm we do not decrypt is named; without a
/// MAC, certificates that do not decrypt mean the password is missing or wrong.
fn classify(e: p12_keystore::error::Error, given: bool, bytes: &[u8]) -> DecodeError {
    use p12_keystore::error::Error as E;
    if let E::MacError(_) = e {
        return DecodeError::WrongPassword { given };
    }
    if let Some(name) = scan::unsupported_cipher(bytes) {
        return DecodeError::UnsupportedCipher(name);
    }
    let undecryptable = match &e {
        E::UnpadError => true,
        E::Pkcs5Error(m) => m.contains("decryption failed"),
        _ => false,
    };
    if undecryptable && !scan::has_mac(bytes) {
        return DecodeError::NoMacPassword { given };
    }
    match e {
        E::UnpadError => DecodeError::WrongPassword { given },
        other => DecodeError::Container {
            kind: Container::Pkcs12Unreadable,
            msg: format!("cannot read PKCS#12: {other}"),
        },
    }
}

/// scrypt (RFC 7914) as a PBES2 key-derivation function: 1.3.6.1.4.1.11591.4.11.
const OID_SCRYPT: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Work {
    /// The largest single iteration count.
    largest: u64,
    /// All iteration counts added up, plus the scrypt cost (saturating).
    total: u64,
}

fn uint(content: &[u8]) -> u64 {
    if content.len() > 8 {
        return u64::MAX;
    }
    content
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// The key-derivation work a PKCS#12 file asks for before anything is decrypted. An INTEGER that
/// follows an OCTET STRING salt inside any SEQUENCE is an iteration count: that is the shape of
/// PBKDF2-params, PBE-params and MacData's iterations (and scrypt's N). A SEQUENCE { scrypt OID,
/// SEQUENCE { salt, N, r, p, ... } } adds N·r·p·4. A cheap structural scan, bounded by the same
/// depth limit as `asn1::check` (which the caller has already run). Parameters inside encrypted
/// content (shrouded key bags in an encrypted SafeContents) cannot be seen here.
fn kdf_work(bytes: &[u8]) -> Work {
    fn walk(content: &[u8], depth: usize, work: &mut Work) {
        let Ok(items) = asn1::children(content, depth) else {
            return;
        };
        for pair in items.windows(2) {
            if pair[0].tag == 0x04 && pair[1].tag == 0x02 && pair[1].content.len() <= 8 {
                let n = uint(pair[1].content);
                work.largest = work.largest.max(n);
                work.total = work.total.saturating_add(n);
            }
        }
        if let [oid, params, ..] = items.as_slice() {
            if oid.tag == 0x06 && oid.content == OID_SCRYPT && params.tag == 0x30 {
                if let Ok(fields) = asn1::children(params.content, depth + 1) {
                    let cost = fields
                        .iter()
                        .skip(1)
                        .take(3)
                        .filter(|f| f.tag == 0x02)
                        .fold(4u64, |acc, f| acc.saturating_mul(uint(f.content)));
                    work.total = work.total.saturating_add(cost);
                }
            }
        }
        for item in items {
            if item.constructed() {
                walk(item.content, depth + 1, work);
            } else if item.tag == 0x04 && item.content.first() == Some(&0x30) {
                // OCTET STRINGs wrap the AuthenticatedSafe and SafeContents.
                walk(item.content, depth + 1, work);
            }
        }
    }
    let mut work = Work::default();
    walk(bytes, 0, &mut work);
    work
}
