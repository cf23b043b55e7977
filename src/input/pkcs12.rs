//! PKCS#12 (.p12/.pfx) through p12-keystore: OpenSSL 3's AES/PBES2 default, `-legacy`
//! RC2/3DES, `-nokeys`, empty passwords and Java keytool truststores. Keys are decrypted by the
//! library in memory and dropped here; only certificate bags are returned.

use super::{asn1, DecodeError, Decoded};
use crate::cert::Certificate;

/// PBKDF iteration counts above this are refused: they would make anchorage spin for minutes
/// on a hostile file (OpenSSL's default is 2048, Java's 10000).
const MAX_ITERATIONS: u64 = 1_000_000;

pub fn decode(bytes: &[u8], password: Option<&str>) -> Result<Decoded, DecodeError> {
    asn1::check(bytes).map_err(|e| DecodeError::Invalid(format!("malformed PKCS#12: {e}")))?;
    if let Some(n) = largest_iteration_count(bytes) {
        if n > MAX_ITERATIONS {
            return Err(DecodeError::Invalid(format!(
                "PKCS#12 asks for {n} key-derivation iterations (more than {MAX_ITERATIONS})"
            )));
        }
    }
    let given = password.is_some();
    let pass = password.unwrap_or("");
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, pass).map_err(|e| classify(e, given))?;
    let mut certs = Vec::with_capacity(archive.certs.len());
    for (i, bag) in archive.certs.iter().enumerate() {
        let cert = Certificate::from_der(bag.cert.as_der(), false)
            .map_err(|e| DecodeError::Invalid(format!("PKCS#12 certificate #{}: {e}", i + 1)))?;
        certs.push(cert);
    }
    let keys_ignored = archive.keys.len();
    drop(archive);
    if certs.is_empty() {
        return Err(if keys_ignored > 0 {
            DecodeError::OnlyKeys
        } else {
            DecodeError::NoCertificate("a PKCS#12 file without certificates".into())
        });
    }
    Ok(Decoded { certs, format: "pkcs12", keys_ignored, notes: Vec::new() })
}

fn classify(e: p12_keystore::error::Error, given: bool) -> DecodeError {
    use p12_keystore::error::Error as E;
    match e {
        E::MacError(_) | E::UnpadError => DecodeError::WrongPassword { given },
        other => DecodeError::Invalid(format!("cannot read PKCS#12: {other}")),
    }
}

/// The largest INTEGER that follows an OCTET STRING salt inside any SEQUENCE: that is the shape
/// of PBKDF2-params, PBE-params and MacData's iterations. A cheap structural scan, bounded by
/// the same depth limit as `asn1::check` (which the caller has already run).
fn largest_iteration_count(bytes: &[u8]) -> Option<u64> {
    fn walk(content: &[u8], depth: usize, best: &mut Option<u64>) {
        let Ok(items) = asn1::children(content, depth) else { return };
        for pair in items.windows(2) {
            if pair[0].tag == 0x04 && pair[1].tag == 0x02 && pair[1].content.len() <= 8 {
                let n = pair[1].content.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                *best = Some(best.map_or(n, |b| b.max(n)));
            }
        }
        for item in items {
            if item.constructed() {
                walk(item.content, depth + 1, best);
            } else if item.tag == 0x04 && item.content.first() == Some(&0x30) {
                // OCTET STRINGs wrap the AuthenticatedSafe and SafeContents.
                walk(item.content, depth + 1, best);
            }
        }
    }
    let mut best = None;
    walk(bytes, 0, &mut best);
    best
}
