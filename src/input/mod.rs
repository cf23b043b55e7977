//! Input decoding: bytes → certificates. Pure (no I/O), detects the format by content, never
//! panics, ignores private keys (they are never kept, let alone written). `source.rs` does the
//! file system side (size cap, file types, directory walks, stdin).

pub mod asn1;
mod error;
mod jks;
pub mod names;
pub mod pem;
pub(crate) mod pkcs12;
mod shapes;
pub mod source;
pub mod trust;

pub use error::{Container, DecodeError};

use crate::cert::Certificate;

/// The largest input anchorage reads (64 MiB).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// What one input decoded to.
#[derive(Debug, Default)]
pub struct Decoded {
    pub certs: Vec<Certificate>,
    /// The detected format, for reports: "pem", "der", "pkcs7", "pkcs12", "jks", "jceks".
    pub format: &'static str,
    /// Private keys found and ignored.
    pub keys_ignored: usize,
    /// Other notes (ignored PEM blocks, and so on).
    pub notes: Vec<String>,
    /// Certificates (by index into `certs`) whose OpenSSL trust settings (a TRUSTED CERTIFICATE
    /// block) refuse TLS server authentication, and why. Install policy refuses them; a remove
    /// selector or `verify --ca-file` may still use them.
    pub refused: Vec<(usize, String)>,
}

const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// Decode any supported encoding. `password` is the PKCS#12 password (`None`: try empty) or the
/// Java keystore's store password (`None`: try `changeit`, else read without the integrity check).
pub fn decode(bytes: &[u8], password: Option<&str>) -> Result<Decoded, DecodeError> {
    if jks::is_keystore(bytes) {
        return jks::decode(bytes, password);
    }
    if memchr::memmem::find(bytes, PEM_BEGIN).is_some() {
        return decode_pem(bytes);
    }
    if let Some(found) = shapes::decode_other(bytes) {
        return found;
    }
    match asn1::shape(bytes) {
        asn1::Shape::Certificate => {
            asn1::check(bytes)
                .and_then(|()| asn1::check_certificate(bytes))
                .map_err(|e| DecodeError::Invalid(format!("malformed DER certificate: {e}")))?;
            names::check_certificate(bytes).map_err(DecodeError::Unloadable)?;
            let cert = Certificate::from_der(bytes, false)
                .map_err(|e| DecodeError::Invalid(format!("malformed DER certificate: {e}")))?;
            Ok(Decoded {
                certs: vec![cert],
                format: "der",
                ..Decoded::default()
            })
        }
        asn1::Shape::Pkcs7 => decode_pkcs7(bytes, "pkcs7"),
        asn1::Shape::Pkcs12 => pkcs12::decode(bytes, password),
        asn1::Shape::OtherSequence => {
            if asn1::check(bytes).is_ok() && looks_like_private_key(bytes) {
                Err(DecodeError::OnlyKeys)
            } else {
                Err(DecodeError::Container {
                    kind: Container::Binary,
                    msg: "binary data that is not a certificate, PKCS#7 or PKCS#12 structure (truncated or corrupt?)"
                        .into(),
                })
            }
        }
        asn1::Shape::NotAsn1 => Err(DecodeError::NoCertificate("neither PEM nor DER".into())),
    }
}

/// PKCS#8 PrivateKeyInfo / RSAPrivateKey / ECPrivateKey all start SEQUENCE { INTEGER version, ... }.
fn looks_like_private_key(bytes: &[u8]) -> bool {
    asn1::read(bytes, 0)
        .ok()
        .and_then(|(outer, _)| asn1::read(outer.content, 1).ok())
        .is_some_and(|(first, _)| {
            first.tag == 0x02 && first.content.len() == 1 && first.content[0] <= 1
        })
}

fn decode_pkcs7(bytes: &[u8], format: &'static str) -> Result<Decoded, DecodeError> {
    let ders = asn1::pkcs7_certificates(bytes).map_err(|e| DecodeError::Container {
        kind: Container::Pkcs7,
        msg: format!("malformed PKCS#7: {e}"),
    })?;
    if ders.is_empty() {
        return Err(DecodeError::NoCertificate(
            "a PKCS#7 structure without certificates".into(),
        ));
    }
    let mut certs = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        asn1::check_certificate(der).map_err(|e| DecodeError::Container {
            kind: Container::Pkcs7,
            msg: format!("PKCS#7 certificate #{}: malformed: {e}", i + 1),
        })?;
        names::check_certificate(der).map_err(|u| {
            DecodeError::Unloadable(u.within(&format!("PKCS#7 certificate #{}", i + 1)))
        })?;
        let cert = Certificate::from_der(der, false).map_err(|e| DecodeError::Container {
            kind: Container::Pkcs7,
            msg: format!("PKCS#7 certificate #{}: {e}", i + 1),
        })?;
        certs.push(cert);
    }
    Ok(Decoded {
        certs,
        format,
        ..Decoded::default()
    })
}

/// What one PEM block contributes.
enum Piece<'a> {
    /// The certificates, whether they came from PKCS#7, and why OpenSSL's trust settings
    /// refuse them for TLS servers (a TRUSTED CERTIFICATE block only).
    Certs(Vec<Certificate>, bool, Option<String>),
    Key,
    /// A block of another type (its label).
    Other(&'a [u8]),
}

/// Decode one framed block (`n` is its 1-based number, for messages). Every block's base64 is
/// checked; a private key's bytes are dropped at once (only counted, never kept).
fn decode_frame<'a>(
    n: usize,
    frame: &pem::Frame<'a>,
    scratch: &mut Vec<u8>,
) -> Result<Piece<'a>, DecodeError> {
    // The label is made a String only for an error message.
    if shapes::is_key_label(frame.label) {
        return Ok(Piece::Key);
    }
    let fail =
        |what: String| DecodeError::Invalid(format!("PEM block #{n} ({}){what}", frame.label()));
    let contents = frame
        .decode(scratch)
        .map_err(|e| fail(format!(" is malformed ({e})")))?;
    match frame.label {
        b"CERTIFICATE" | b"X509 CERTIFICATE" | b"TRUSTED CERTIFICATE" => {
            if contents.is_empty() {
                return Err(fail(" is empty".into()));
            }
            asn1::check(&contents).map_err(|e| fail(format!(" is not valid DER: {e}")))?;
            asn1::check_certificate(&contents)
                .map_err(|e| fail(format!(" is not a well-formed certificate: {e}")))?;
            names::check_certificate(&contents).map_err(|u| {
                DecodeError::Unloadable(u.within(&format!("PEM block #{n} ({})", frame.label())))
            })?;
            let trusted = frame.label == b"TRUSTED CERTIFICATE";
            let refused = if trusted {
                // OpenSSL appends its trust settings (X509_CERT_AUX) after the certificate.
                let (_, aux) = asn1::read(&contents, 0)
                    .map_err(|e| fail(format!(" is not valid DER: {e}")))?;
                trust::server_auth_refusal(aux)
                    .map_err(|e| {
                        fail(format!(
                            " has malformed OpenSSL trust settings after the certificate: {e}"
                        ))
                    })?
                    .map(|why| format!("PEM block #{n} (TRUSTED CERTIFICATE): {why}"))
            } else {
                None
            };
            let cert =
                Certificate::from_der_vec(contents, trusted).map_err(|e| fail(format!(": {e}")))?;
            Ok(Piece::Certs(vec![cert], false, refused))
        }
        b"PKCS7" | b"CMS" => {
            let inner = decode_pkcs7(&contents, "pkcs7").map_err(|e| match e {
                DecodeError::Unloadable(u) => DecodeError::Unloadable(
                    u.within(&format!("PEM block #{n} ({})", frame.label())),
                ),
                other => fail(format!(": {}", other.message())),
            })?;
            Ok(Piece::Certs(inner.certs, true, None))
        }
        _ => Ok(Piece::Other(frame.label)),
    }
}

/// Decode `frames[..]` (numbered from `first`) in order, stopping at the first error.
fn decode_frames<'a>(
    first: usize,
    frames: &[pem::Frame<'a>],
) -> (Vec<Piece<'a>>, Option<DecodeError>) {
    let mut scratch = Vec::new();
    let mut out = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        match decode_frame(first + i, frame, &mut scratch) {
            Ok(piece) => out.push(piece),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Bundles with at least this many blocks are decoded on several threads (a 10,000-certificate
/// bundle is base64, DER checks, X.509 parsing and SHA-256 per block: independent work).
const PARALLEL_MIN_BLOCKS: usize = 256;

/// `decode_frames` over all frames, in one ordered chunk per core for large bundles; the
/// chunks' results come back in file order. A chunk whose thread cannot be started (or died)
/// is decoded on this thread.
fn decode_all<'a>(frames: &[pem::Frame<'a>]) -> Vec<(Vec<Piece<'a>>, Option<DecodeError>)> {
    let threads = if frames.len() >= PARALLEL_MIN_BLOCKS {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    } else {
        1
    };
    if threads < 2 {
        return vec![decode_frames(1, frames)];
    }
    let chunk = frames.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let started: Vec<_> = frames
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                let first = 1 + k * chunk;
                let handle = std::thread::Builder::new()
                    .spawn_scoped(scope, move || decode_frames(first, part));
                (first, part, handle)
            })
            .collect();
        started
            .into_iter()
            .map(|(first, part, handle)| {
                handle
                    .ok()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_else(|| decode_frames(first, part))
            })
            .collect()
    })
}

fn decode_pem(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut out = Decoded {
        format: "pem",
        ..Decoded::default()
    };
    // Framing is a cheap sequential scan; a framing error counts after the blocks before it.
    let mut frames = Vec::new();
    let mut framing_error = None;
    for frame in pem::frames(bytes) {
        match frame {
            Ok(f) => frames.push(f),
            Err(e) => {
                framing_error = Some(DecodeError::Invalid(format!(
                    "PEM block #{} is malformed ({e})",
                    frames.len() + 1
                )));
            }
        }
    }
    // Ignored blocks are noted once per label, with a count (a hostile file can hold millions);
    // labels beyond the first 16 are counted together.
    let mut ignored: Vec<(&[u8], usize)> = Vec::new();
    let mut other_labels = 0usize;
    for (pieces, error) in decode_all(&frames) {
        for piece in pieces {
            match piece {
                Piece::Certs(certs, pkcs7, refused) => {
                    if pkcs7 {
                        out.format = "pkcs7";
                    }
                    if let Some(why) = refused {
                        out.refused.push((out.certs.len(), why));
                    }
                    out.certs.extend(certs);
                }
                Piece::Key => out.keys_ignored += 1,
                Piece::Other(label) => match ignored.iter().position(|(l, _)| *l == label) {
                    Some(i) => ignored[i].1 += 1,
                    None if ignored.len() < 16 => ignored.push((label, 1)),
                    None => other_labels += 1,
                },
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
    }
    if let Some(e) = framing_error {
        return Err(e);
    }
    if other_labels > 0 {
        ignored.push((b"(other labels)", other_labels));
    }
    let not_a_certificate = shapes::pem_not_a_certificate(ignored.iter().map(|(l, _)| *l));
    out.notes.extend(ignored.into_iter().map(|(label, count)| {
        let label = String::from_utf8_lossy(label);
        if count == 1 {
            format!("ignored a PEM block labelled '{label}'")
        } else {
            format!("ignored {count} PEM blocks labelled '{label}'")
        }
    }));
    if out.certs.is_empty() {
        return Err(if out.keys_ignored > 0 {
            DecodeError::OnlyKeys
        } else if frames.is_empty() {
            DecodeError::Invalid("a PEM header without a complete block".into())
        } else if let Some(e) = not_a_certificate {
            e
        } else {
            DecodeError::NoCertificate("PEM blocks, but none is a certificate".into())
        });
    }
    Ok(out)
}
