//! Structural looks at a PKCS#12 file before or after p12-keystore: the PFX parts (for the
//! absent-password MAC), whether there is a MAC, and which encryption algorithm a file uses that
//! anchorage cannot decrypt (named in the message instead of a generic parse error).

use super::super::asn1::{self, Tlv};

pub const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
pub const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
pub const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// pbeWithSHAAnd3-KeyTripleDES-CBC.
pub const OID_PBE_SHA1_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];

/// The PFX's MacData: digest OID, expected MAC, salt, iterations.
pub struct MacData<'a> {
    pub digest: &'a [u8],
    pub mac: &'a [u8],
    pub salt: &'a [u8],
    pub iterations: u64,
}

/// The PFX: the AuthenticatedSafe's DER (the bytes the MAC covers) and the MacData, if any.
/// `None` when the outer structure is not a DER PFX with a `data` authSafe.
pub fn pfx(bytes: &[u8]) -> Option<(&[u8], Option<MacData<'_>>)> {
    let (outer, _) = asn1::read(bytes, 0).ok()?;
    let items = asn1::children(outer.content, 1).ok()?;
    let auth = items.get(1)?;
    let content = content_info(auth, 2, OID_DATA)?;
    let mac = items.get(2).and_then(|m| mac_data(m, 2));
    Some((content, mac))
}

/// ContentInfo { contentType OID, [0] EXPLICIT OCTET STRING }: the octets, if the type matches.
pub fn content_info<'a>(info: &Tlv<'a>, depth: usize, oid: &[u8]) -> Option<&'a [u8]> {
    let parts = asn1::children(info.content, depth).ok()?;
    let (kind, explicit) = (parts.first()?, parts.get(1)?);
    if kind.tag != 0x06 || kind.content != oid || explicit.tag != 0xa0 {
        return None;
    }
    let inner = asn1::children(explicit.content, depth + 1).ok()?;
    let octets = inner.first()?;
    (octets.tag == 0x04).then_some(octets.content)
}

fn mac_data<'a>(m: &Tlv<'a>, depth: usize) -> Option<MacData<'a>> {
    let parts = asn1::children(m.content, depth).ok()?;
    let info = asn1::children(parts.first()?.content, depth + 1).ok()?;
    let alg = asn1::children(info.first()?.content, depth + 2).ok()?;
    let digest = alg.first().filter(|o| o.tag == 0x06)?.content;
    let mac = info.get(1).filter(|o| o.tag == 0x04)?.content;
    let salt = parts.get(1).filter(|o| o.tag == 0x04)?.content;
    let iterations = match parts.get(2) {
        Some(i) if i.tag == 0x02 && i.content.len() <= 8 => super::uint(i.content),
        Some(_) => return None,
        None => 1,
    };
    Some(MacData {
        digest,
        mac,
        salt,
        iterations,
    })
}

/// Whether the file carries a MAC (an unparseable file counts as having one: no special case).
pub fn has_mac(bytes: &[u8]) -> bool {
    pfx(bytes).is_none_or(|(_, mac)| mac.is_some())
}

/// Encryption and PRF algorithms anchorage (p12-keystore, pkcs5) decrypts.
const SUPPORTED: &[&str] = &[
    "1.2.840.113549.1.12.1.3", // pbeWithSHAAnd3-KeyTripleDES-CBC
    "1.2.840.113549.1.12.1.6", // pbeWithSHAAnd40BitRC2-CBC
    "2.16.840.1.101.3.4.1.2",  // aes128-CBC
    "2.16.840.1.101.3.4.1.22", // aes192-CBC
    "2.16.840.1.101.3.4.1.42", // aes256-CBC
    "1.2.840.113549.3.7",      // des-ede3-cbc
    "1.2.840.113549.2.7",      // hmacWithSHA1
    "1.2.840.113549.2.8",      // hmacWithSHA224
    "1.2.840.113549.2.9",      // hmacWithSHA256
    "1.2.840.113549.2.10",     // hmacWithSHA384
    "1.2.840.113549.2.11",     // hmacWithSHA512
    "1.2.840.113549.1.5.12",   // PBKDF2
    "1.3.6.1.4.1.11591.4.11",  // scrypt
];

/// Names of the algorithms real tools can produce and anchorage does not decrypt.
const NAMES: &[(&str, &str)] = &[
    ("1.2.392.200011.61.1.1.1.2", "Camellia-128-CBC"),
    ("1.2.392.200011.61.1.1.1.3", "Camellia-192-CBC"),
    ("1.2.392.200011.61.1.1.1.4", "Camellia-256-CBC"),
    ("1.2.410.200046.1.1.2", "ARIA-128-CBC"),
    ("1.2.410.200046.1.1.7", "ARIA-192-CBC"),
    ("1.2.410.200046.1.1.12", "ARIA-256-CBC"),
    ("1.2.156.10197.1.104.2", "SM4-CBC"),
    ("1.3.14.3.2.7", "DES-CBC"),
    ("1.2.840.113549.3.2", "RC2-CBC"),
    ("1.2.840.113549.3.4", "RC4"),
    ("2.16.840.1.101.3.4.1.6", "AES-128-GCM"),
    ("2.16.840.1.101.3.4.1.46", "AES-256-GCM"),
    ("1.2.840.113549.1.12.1.1", "pbeWithSHAAnd128BitRC4"),
    ("1.2.840.113549.1.12.1.2", "pbeWithSHAAnd40BitRC4"),
    ("1.2.840.113549.1.12.1.4", "pbeWithSHAAnd2-KeyTripleDES-CBC"),
    ("1.2.840.113549.1.12.1.5", "pbeWithSHAAnd128BitRC2-CBC"),
    ("1.2.840.113549.1.5.1", "pbeWithMD2AndDES-CBC"),
    ("1.2.840.113549.1.5.3", "pbeWithMD5AndDES-CBC"),
    ("1.2.840.113549.1.5.6", "pbeWithMD5AndRC2-CBC"),
    ("1.2.840.113549.1.5.10", "pbeWithSHA1AndDES-CBC"),
    ("1.2.840.113549.1.5.11", "pbeWithSHA1AndRC2-CBC"),
    ("1.2.840.113549.2.12", "hmacWithSHA512-224"),
    ("1.2.840.113549.2.13", "hmacWithSHA512-256"),
];

/// Dotted form of an OID's content octets.
pub fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for b in oid {
        acc = acc.saturating_mul(128).saturating_add(u128::from(b & 0x7f));
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u128::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The first encryption algorithm (or PBKDF2 PRF) of the file's unencrypted structure that
/// anchorage does not decrypt, by name (or dotted OID): the algorithm of an EncryptedData's
/// contentEncryptionAlgorithm, with PBES2's parameters looked into.
pub fn unsupported_cipher(bytes: &[u8]) -> Option<String> {
    fn name(oid: &[u8]) -> Option<String> {
        let d = dotted(oid);
        if SUPPORTED.contains(&d.as_str()) {
            return None;
        }
        Some(
            NAMES
                .iter()
                .find(|(o, _)| *o == d)
                .map_or_else(|| format!("the algorithm {d}"), |(_, n)| (*n).to_string()),
        )
    }
    /// AlgorithmIdentifier { OID, params }: its unsupported algorithm, looking into PBES2.
    fn algorithm(alg: &Tlv<'_>, depth: usize) -> Option<String> {
        let parts = asn1::children(alg.content, depth).ok()?;
        let oid = parts.first().filter(|o| o.tag == 0x06)?;
        if oid.content != OID_PBES2 {
            return name(oid.content);
        }
        // PBES2-params { keyDerivationFunc, encryptionScheme }; PBKDF2-params' PRF is the
        // last SEQUENCE of its parameters, when present.
        let params = asn1::children(parts.get(1)?.content, depth + 1).ok()?;
        let kdf = asn1::children(params.first()?.content, depth + 2).ok()?;
        let scheme = asn1::children(params.get(1)?.content, depth + 2).ok()?;
        let found = kdf.first().and_then(|o| name(o.content));
        let prf = kdf
            .get(1)
            .and_then(|p| asn1::children(p.content, depth + 3).ok())
            .and_then(|fields| fields.into_iter().rfind(|f| f.tag == 0x30))
            .and_then(|prf| asn1::children(prf.content, depth + 4).ok())
            .and_then(|prf| prf.first().and_then(|o| name(o.content)));
        found
            .or_else(|| scheme.first().and_then(|o| name(o.content)))
            .or(prf)
    }
    let (auth, _) = pfx(bytes)?;
    let (seq, _) = asn1::read(auth, 1).ok()?;
    for info in asn1::children(seq.content, 2).ok()? {
        let Ok(parts) = asn1::children(info.content, 3) else {
            continue;
        };
        let is_encrypted = parts
            .first()
            .is_some_and(|o| o.tag == 0x06 && o.content == OID_ENCRYPTED_DATA);
        if !is_encrypted {
            continue;
        }
        // [0] { EncryptedData { version, EncryptedContentInfo { type, algorithm, [0] } } }
        let found = parts
            .get(1)
            .and_then(|e| asn1::children(e.content, 4).ok())
            .and_then(|e| e.into_iter().next())
            .and_then(|ed| asn1::children(ed.content, 5).ok())
            .and_then(|ed| ed.into_iter().nth(1))
            .and_then(|eci| asn1::children(eci.content, 6).ok())
            .and_then(|eci| eci.into_iter().nth(1))
            .and_then(|alg| algorithm(&alg, 7));
        if found.is_some() {
            return found;
        }
    }
    None
}
