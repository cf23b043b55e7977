//! PKCS#12 as a Java truststore (what keytool writes since JDK 9, and JDK 18+'s password-less
//! `cacerts`). Read: the MAC checked with the store password (HMAC over the AuthenticatedSafe,
//! key from the PKCS#12 KDF, as `PKCS12KeyStore` does), certificate SafeContents decrypted
//! when encrypted (PBES2, or PBES1 3DES) — key bags never: a shrouded key bag stays the bytes
//! it was. Write: every ContentInfo that loses nothing is copied byte for byte; one that loses a
//! bag is re-encoded (an encrypted one re-encrypted with its own PBES2 parameters and a fresh
//! IV; a PBES1 one written as plain data: its content is public certificates); new trusted
//! certificates go unencrypted (like JDK 18+'s `cacerts` and keytool's
//! `certProtectionAlgorithm=NONE`) after the key bag of the plain data ContentInfo that holds
//! it, or into one appended plain `data` ContentInfo. The MAC keeps its algorithm, salt and iteration
//! count, so removing what was added gives back the original bytes.
//!
//! Java reads a certificate bag as a trusted entry only with Oracle's trusted-key-usage
//! attribute (OID 2.16.840.1.113894.746875.1.1); the bags written here carry it
//! (anyExtendedKeyUsage) and the alias as `friendlyName`, as keytool writes them.

use hmac::{KeyInit, Mac as _};
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};

use super::format::{Kind, KsEntry, KsError};

mod write;
use crate::input::asn1::{self, Tlv};
pub use write::{build, tlv, trusted_bag};

const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const OID_PBE_SHA1_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
const BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01];
const OID_X509: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const OID_FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
const OID_LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
/// Oracle's trusted key usage, 2.16.840.1.113894.746875.1.1.
const OID_TRUSTED_KEY_USAGE: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
];
/// anyExtendedKeyUsage, 2.5.29.37.0.
const OID_ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA2: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// The MAC of a new store: HMAC-SHA256, 10000 iterations (JDK 17 keytool's default).
const NEW_MAC_ITERATIONS: u32 = 10_000; // 0x2710: two bytes, positive

/// The MacData, kept in parts so a rewrite reuses them.
#[derive(Debug, Clone)]
pub struct MacData<'a> {
    /// The digest AlgorithmIdentifier, as encoded.
    alg: &'a [u8],
    oid: &'a [u8],
    salt: &'a [u8],
    /// The iterations INTEGER as encoded (absent: 1).
    iter_raw: Option<&'a [u8]>,
    iterations: u64,
    mac: &'a [u8],
}

#[derive(Debug, Clone)]
enum Protection<'a> {
    Data,
    /// PBES2: the AlgorithmIdentifier's parameters.
    Pbes2(pkcs5::pbes2::Parameters),
    /// PBES1 (3DES): rewritten as data if it must change.
    Pbes1(#[allow(dead_code)] &'a [u8]),
}

#[derive(Debug, Clone)]
struct Bag {
    raw: Vec<u8>,
    entry: KsEntry,
}

#[derive(Debug, Clone)]
struct Ci<'a> {
    raw: &'a [u8],
    protection: Protection<'a>,
    bags: Vec<Bag>,
}

/// A parsed, verified PKCS#12 store.
#[derive(Debug, Clone)]
pub struct P12<'a> {
    pub mac: Option<MacData<'a>>,
    cis: Vec<Ci<'a>>,
}

fn bad(s: impl Into<String>) -> KsError {
    KsError::Malformed(s.into())
}

fn kids<'a>(content: &'a [u8], depth: usize) -> Result<Vec<Tlv<'a>>, KsError> {
    asn1::children(content, depth).map_err(bad)
}

fn uint(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

/// Parse `bytes` and verify the MAC with `password` (a store without a MacData has nothing to
/// verify: JDK 18+'s password-less `cacerts`).
pub fn parse<'a>(bytes: &'a [u8], password: &str) -> Result<P12<'a>, KsError> {
    // The input reader's caps on key-derivation work, before any MAC or decryption.
    if let Some(msg) = crate::input::pkcs12::too_much_work(bytes) {
        return Err(KsError::Unsupported(msg));
    }
    let (outer, rest) = asn1::read(bytes, 0).map_err(bad)?;
    if outer.tag != 0x30 || !rest.is_empty() {
        return Err(bad("not a DER PFX"));
    }
    let items = kids(outer.content, 1)?;
    let (auth, mac) = match items.as_slice() {
        [v, a, rest @ ..] if v.tag == 0x02 && v.content == [3] && rest.len() <= 1 => {
            (a, rest.first())
        }
        _ => return Err(bad("not a version 3 PFX")),
    };
    let auth_safe = data_octets(auth, 2)?.ok_or_else(|| bad("the authSafe is not plain data"))?;
    let mac = mac.map(|m| mac_data(m, 2)).transpose()?;
    if let Some(m) = &mac {
        if !mac_verifies(m, password, auth_safe)? {
            return Err(KsError::WrongPassword);
        }
    }
    let (seq, rest) = asn1::read(auth_safe, 2).map_err(bad)?;
    if seq.tag != 0x30 || !rest.is_empty() {
        return Err(bad("the AuthenticatedSafe is not a SEQUENCE"));
    }
    let mut cis = Vec::new();
    for info in kids(seq.content, 3)? {
        cis.push(content_info(&info, password)?);
    }
    Ok(P12 { mac, cis })
}

/// ContentInfo { data, [0] EXPLICIT OCTET STRING }: the octets; `None` for another type.
fn data_octets<'a>(info: &Tlv<'a>, depth: usize) -> Result<Option<&'a [u8]>, KsError> {
    let parts = kids(info.content, depth)?;
    match parts.as_slice() {
        [oid, explicit] if oid.tag == 0x06 && oid.content == OID_DATA && explicit.tag == 0xa0 => {
            let inner = kids(explicit.content, depth + 1)?;
            match inner.as_slice() {
                [o] if o.tag == 0x04 => Ok(Some(o.content)),
                _ => Err(bad(
                    "data content is not one primitive OCTET STRING (BER is not managed)",
                )),
            }
        }
        [oid, ..] if oid.tag == 0x06 => Ok(None),
        _ => Err(bad("malformed ContentInfo")),
    }
}

fn mac_data<'a>(m: &Tlv<'a>, depth: usize) -> Result<MacData<'a>, KsError> {
    let parts = kids(m.content, depth)?;
    let (info, salt, iter) = match parts.as_slice() {
        [i, s] if s.tag == 0x04 => (i, s, None),
        [i, s, n] if s.tag == 0x04 && n.tag == 0x02 && n.content.len() <= 4 => (i, s, Some(n)),
        _ => return Err(bad("malformed MacData")),
    };
    let di = kids(info.content, depth + 1)?;
    let (alg, mac) = match di.as_slice() {
        [a, d] if a.tag == 0x30 && d.tag == 0x04 => (a, d),
        _ => return Err(bad("malformed MAC DigestInfo")),
    };
    let oid = kids(alg.content, depth + 2)?
        .first()
        .filter(|o| o.tag == 0x06)
        .map(|o| o.content)
        .ok_or_else(|| bad("malformed MAC algorithm"))?;
    Ok(MacData {
        alg: alg.raw,
        oid,
        salt: salt.content,
        iter_raw: iter.map(|n| n.raw),
        iterations: iter.map_or(1, |n| uint(n.content)),
        mac: mac.content,
    })
}

/// The key derivations (10,000 rounds each in keytool's stores) are what a PKCS#12 store costs,
/// and a run does them twice with the same inputs: reading the store to plan, reading it again
/// to rewrite it (and the rewrite's MAC uses the verified MAC's key). Each result is kept for
/// the life of the process (one run), keyed by a SHA-256 of everything it depends on.
fn memo(parts: &[&[u8]], f: impl FnOnce() -> Result<Vec<u8>, KsError>) -> Result<Vec<u8>, KsError> {
    use sha2::Digest;
    use std::collections::HashMap;
    use std::sync::Mutex;
    static MEMO: Mutex<Option<HashMap<[u8; 32], Vec<u8>>>> = Mutex::new(None);
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let key: [u8; 32] = h.finalize().into();
    if let Some(v) = MEMO
        .lock()
        .ok()
        .and_then(|m| m.as_ref()?.get(&key).cloned())
    {
        return Ok(v);
    }
    let v = f()?;
    if let Ok(mut m) = MEMO.lock() {
        m.get_or_insert_with(HashMap::new).insert(key, v.clone());
    }
    Ok(v)
}

macro_rules! hmac_with {
    ($d:ty, $password:expr, $salt:expr, $rounds:expr, $data:expr) => {{
        let len = <$d as hmac::digest::OutputSizeUser>::output_size();
        let key = memo(
            &[
                b"mac",
                std::any::type_name::<$d>().as_bytes(),
                $salt,
                &$rounds.to_be_bytes(),
                $password.as_bytes(),
            ],
            || {
                derive_key_utf8::<$d>($password, $salt, Pkcs12KeyType::Mac, $rounds, len)
                    .map_err(|_| KsError::Unsupported("a password that is not valid UTF-16".into()))
            },
        )?;
        let mut h = <hmac::Hmac<$d> as KeyInit>::new_from_slice(&key)
            .map_err(|_| bad("bad MAC key length"))?;
        h.update($data);
        h.finalize().into_bytes().to_vec()
    }};
}

/// HMAC over `data` with the MAC's digest and parameters.
fn compute_mac(m: &MacData<'_>, password: &str, data: &[u8]) -> Result<Vec<u8>, KsError> {
    let rounds = i32::try_from(m.iterations).map_err(|_| bad("MAC iteration count too large"))?;
    Ok(match m.oid {
        OID_SHA1 => hmac_with!(sha1::Sha1, password, m.salt, rounds, data),
        [p @ .., n] if p == OID_SHA2 => match n {
            1 => hmac_with!(sha2::Sha256, password, m.salt, rounds, data),
            2 => hmac_with!(sha2::Sha384, password, m.salt, rounds, data),
            3 => hmac_with!(sha2::Sha512, password, m.salt, rounds, data),
            4 => hmac_with!(sha2::Sha224, password, m.salt, rounds, data),
            _ => return Err(KsError::Unsupported("the store's MAC digest".into())),
        },
        _ => return Err(KsError::Unsupported("the store's MAC digest".into())),
    })
}

fn mac_verifies(m: &MacData<'_>, password: &str, data: &[u8]) -> Result<bool, KsError> {
    let got = compute_mac(m, password, data)?;
    // Not secret-dependent timing that matters here (the store is the user's own file), but
    // compare in full anyway.
    Ok(got.len() == m.mac.len() && got.iter().zip(m.mac).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0)
}

fn content_info<'a>(info: &Tlv<'a>, password: &str) -> Result<Ci<'a>, KsError> {
    if let Some(octets) = data_octets(info, 4)? {
        return Ok(Ci {
            raw: info.raw,
            protection: Protection::Data,
            bags: bags(octets)?,
        });
    }
    let parts = kids(info.content, 4)?;
    let explicit = match parts.as_slice() {
        [oid, e] if oid.content == OID_ENCRYPTED_DATA && e.tag == 0xa0 => e,
        _ => {
            return Err(KsError::Unsupported(
                "a ContentInfo that is neither data nor encryptedData (public-key envelopes)"
                    .into(),
            ))
        }
    };
    let ed = kids(explicit.content, 5)?;
    let ed = kids(
        ed.first()
            .ok_or_else(|| bad("malformed EncryptedData"))?
            .content,
        6,
    )?;
    let eci = kids(
        ed.get(1)
            .ok_or_else(|| bad("malformed EncryptedData"))?
            .content,
        7,
    )?;
    let (alg, data) = match eci.as_slice() {
        [_, alg, data] if data.tag == 0x80 => (alg, data.content),
        [_, _] => {
            return Ok(Ci {
                raw: info.raw,
                protection: Protection::Data,
                bags: Vec::new(),
            });
        }
        _ => {
            return Err(KsError::Unsupported(
                "encrypted content in BER (constructed) form".into(),
            ))
        }
    };
    let a = kids(alg.content, 8)?;
    let (oid, params) = match a.as_slice() {
        [o, p] if o.tag == 0x06 => (o.content, p),
        _ => return Err(bad("malformed encryption algorithm")),
    };
    if oid == OID_PBES2 {
        let p = <pkcs5::pbes2::Parameters as der::Decode>::from_der(params.raw)
            .map_err(|e| KsError::Unsupported(format!("PBES2 parameters: {e}")))?;
        let plain = memo(&[b"pbes2", params.raw, data, password.as_bytes()], || {
            p.decrypt(password.as_bytes(), data)
                .map_err(|_| KsError::WrongPassword)
        })?;
        return Ok(Ci {
            raw: info.raw,
            protection: Protection::Pbes2(p),
            bags: bags(&plain)?,
        });
    }
    if oid == OID_PBE_SHA1_3DES {
        let plain = pbes1_3des(params, password, data)?;
        return Ok(Ci {
            raw: info.raw,
            protection: Protection::Pbes1(params.raw),
            bags: bags(&plain)?,
        });
    }
    Err(KsError::Unsupported(format!(
        "certificates encrypted with {} (PBES2 and pbeWithSHAAnd3-KeyTripleDES-CBC are read); convert the store with `keytool -importkeystore`",
        dotted(oid)
    )))
}

fn pbes1_3des(params: &Tlv<'_>, password: &str, data: &[u8]) -> Result<Vec<u8>, KsError> {
    use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
    let f = kids(params.content, 9)?;
    let (salt, rounds) = match f.as_slice() {
        [s, i] if s.tag == 0x04 && i.tag == 0x02 && i.content.len() <= 4 => {
            (s.content, uint(i.content))
        }
        _ => return Err(bad("malformed PBE parameters")),
    };
    let rounds = i32::try_from(rounds).map_err(|_| bad("PBE iteration count too large"))?;
    let key =
        derive_key_utf8::<sha1::Sha1>(password, salt, Pkcs12KeyType::EncryptionKey, rounds, 24)
            .map_err(|_| KsError::Unsupported("a password that is not valid UTF-16".into()))?;
    let iv = derive_key_utf8::<sha1::Sha1>(password, salt, Pkcs12KeyType::Iv, rounds, 8)
        .map_err(|_| KsError::Unsupported("a password that is not valid UTF-16".into()))?;
    let cipher = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|_| bad("bad 3DES key length"))?;
    cipher
        .decrypt_padded_vec::<Pkcs7>(data)
        .map_err(|_| KsError::WrongPassword)
}

/// SafeContents → bags, each with its raw bytes and what it is.
fn bags(safe: &[u8]) -> Result<Vec<Bag>, KsError> {
    let (seq, _) = asn1::read(safe, 6).map_err(bad)?;
    if seq.tag != 0x30 {
        return Err(bad("SafeContents is not a SEQUENCE"));
    }
    let mut out = Vec::new();
    for bag in kids(seq.content, 7)? {
        let parts = kids(bag.content, 8)?;
        let (id, value, attrs) = match parts.as_slice() {
            [i, v] if i.tag == 0x06 && v.tag == 0xa0 => (i.content, v, None),
            [i, v, a] if i.tag == 0x06 && v.tag == 0xa0 && a.tag == 0x31 => (i.content, v, Some(a)),
            _ => return Err(bad("malformed SafeBag")),
        };
        let mut alias = String::new();
        let mut trusted = false;
        for attr in attrs
            .map(|a| kids(a.content, 9))
            .transpose()?
            .unwrap_or_default()
        {
            let f = kids(attr.content, 10)?;
            let (oid, set) = match f.as_slice() {
                [o, s] if o.tag == 0x06 && s.tag == 0x31 => (o.content, s),
                _ => return Err(bad("malformed bag attribute")),
            };
            match oid {
                OID_FRIENDLY_NAME => {
                    if let Some(v) = kids(set.content, 11)?.first().filter(|v| v.tag == 0x1e) {
                        let units: Vec<u16> = v
                            .content
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                        alias = String::from_utf16_lossy(&units);
                    }
                }
                // A key's chain certificate carries one; so does a trusted certificate the
                // JDK rewrote (see `rewrite`): the trusted key usage decides, as in the JDK.
                OID_LOCAL_KEY_ID => {}
                OID_TRUSTED_KEY_USAGE => trusted = true,
                _ => {}
            }
        }
        let kind = match id.strip_prefix(BAG) {
            Some([1 | 2]) => Kind::Key,
            Some([3]) if trusted => {
                let (cert_bag, _) = asn1::read(value.content, 9).map_err(bad)?;
                let f = kids(cert_bag.content, 10)?;
                match f.as_slice() {
                    [o, e] if o.tag == 0x06 && o.content == OID_X509 && e.tag == 0xa0 => {
                        let inner = kids(e.content, 11)?;
                        match inner.as_slice() {
                            [d] if d.tag == 0x04 => Kind::Trusted(d.content.to_vec()),
                            _ => return Err(bad("malformed CertBag")),
                        }
                    }
                    _ => Kind::Other,
                }
            }
            _ => Kind::Other,
        };
        out.push(Bag {
            raw: bag.raw.to_vec(),
            entry: KsEntry { alias, kind },
        });
    }
    Ok(out)
}

/// An OID's dotted form (for messages).
fn dotted(oid: &[u8]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if out.is_empty() && i < oid.len() {
                let (a, c) = if v < 80 {
                    (v / 40, v % 40)
                } else {
                    (2, v - 80)
                };
                out.push(a.to_string());
                out.push(c.to_string());
            } else {
                out.push(v.to_string());
            }
            v = 0;
        }
    }
    out.join(".")
}
