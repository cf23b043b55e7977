//! PKCS#12 files made with an absent (NULL) password: `PKCS12_create(NULL, ...)`, as pyOpenSSL's
//! `PKCS12.export()` without a passphrase and other libraries call it. The PKCS#12 KDF then
//! derives the MAC key (and PBES1 keys) from the empty byte string, not from the two zero bytes
//! that encode "" as a BMPString, so p12-keystore cannot open them with "". Here the MAC is
//! checked over the empty byte string and the certificate bags are read directly: PBES1
//! 3DES with the empty byte string, PBES2 (which has no BMPString: absent and "" are the same
//! bytes) through pkcs5. Key bags are counted, never decrypted.

use super::super::asn1::{self, Tlv};
use super::scan::{self, MacData};
use hmac::{KeyInit, Mac};
use pkcs12::kdf::{derive_key, Pkcs12KeyType};

const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA2: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
const BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01];
const OID_X509: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];

/// What the file holds: certificate DERs and the number of key bags.
#[derive(Debug, Default)]
pub struct Contents {
    pub certs: Vec<Vec<u8>>,
    pub keys: usize,
}

/// HMAC over `data` with the key the PKCS#12 KDF derives from the absent password.
macro_rules! mac_ok {
    ($digest:ty, $mac:expr, $data:expr) => {{
        let mac: &MacData<'_> = $mac;
        match i32::try_from(mac.iterations) {
            Ok(rounds) => {
                let len = <$digest as hmac::digest::OutputSizeUser>::output_size();
                let key = derive_key::<$digest>(&[], mac.salt, Pkcs12KeyType::Mac, rounds, len);
                match <hmac::Hmac<$digest> as KeyInit>::new_from_slice(&key) {
                    Ok(mut h) => {
                        h.update($data);
                        h.verify_slice(mac.mac).is_ok()
                    }
                    Err(_) => false,
                }
            }
            Err(_) => false,
        }
    }};
}

/// Whether the file's MAC verifies with the absent password.
pub fn mac_verifies(bytes: &[u8]) -> bool {
    let Some((data, Some(mac))) = scan::pfx(bytes) else {
        return false;
    };
    match mac.digest {
        OID_SHA1 => mac_ok!(sha1::Sha1, &mac, data),
        [p @ .., n] if p == OID_SHA2 => match n {
            1 => mac_ok!(sha2::Sha256, &mac, data),
            2 => mac_ok!(sha2::Sha384, &mac, data),
            3 => mac_ok!(sha2::Sha512, &mac, data),
            4 => mac_ok!(sha2::Sha224, &mac, data),
            _ => false,
        },
        _ => false,
    }
}

/// Decrypt an EncryptedContentInfo's content with the absent password.
fn decrypt(alg: &Tlv<'_>, data: &[u8], depth: usize) -> Result<Vec<u8>, String> {
    use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
    let parts = asn1::children(alg.content, depth)?;
    let (oid, params) = match parts.as_slice() {
        [o, p, ..] if o.tag == 0x06 => (o.content, p),
        _ => return Err("malformed encryption algorithm".into()),
    };
    if oid == scan::OID_PBES2 {
        let p = <pkcs5::pbes2::Parameters as der::Decode>::from_der(params.raw)
            .map_err(|e| format!("PBES2 parameters: {e}"))?;
        return p
            .decrypt(b"", data)
            .map_err(|_| "the encrypted certificates do not decrypt".into());
    }
    if oid != scan::OID_PBE_SHA1_3DES {
        return Err(format!("encryption {} is unsupported", scan::dotted(oid)));
    }
    let fields = asn1::children(params.content, depth + 1)?;
    let (salt, rounds) = match fields.as_slice() {
        [s, i] if s.tag == 0x04 && i.tag == 0x02 && i.content.len() <= 4 => {
            (s.content, super::uint(i.content))
        }
        _ => return Err("malformed PBE parameters".into()),
    };
    let rounds = i32::try_from(rounds).map_err(|_| "PBE iteration count too large")?;
    let key = derive_key::<sha1::Sha1>(&[], salt, Pkcs12KeyType::EncryptionKey, rounds, 24);
    let iv = derive_key::<sha1::Sha1>(&[], salt, Pkcs12KeyType::Iv, rounds, 8);
    let cipher = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|_| "bad 3DES key length")?;
    cipher
        .decrypt_padded_vec::<Pkcs7>(data)
        .map_err(|_| "the encrypted certificates do not decrypt".into())
}

/// SafeContents: certificate bags' DER, key bags counted.
fn bags(safe: &[u8], depth: usize, out: &mut Contents) -> Result<(), String> {
    let (seq, _) = asn1::read(safe, depth)?;
    for bag in asn1::children(seq.content, depth + 1)? {
        let parts = asn1::children(bag.content, depth + 2)?;
        let (id, value) = match parts.as_slice() {
            [i, v, ..] if i.tag == 0x06 && v.tag == 0xa0 => (i.content, v),
            _ => return Err("malformed SafeBag".into()),
        };
        match id.strip_prefix(BAG) {
            Some([1 | 2]) => out.keys += 1,
            Some([3]) => {
                let (cert_bag, _) = asn1::read(value.content, depth + 3)?;
                // CertBag has ContentInfo's shape: { certId, [0] EXPLICIT OCTET STRING }.
                if let Some(der) = scan::content_info(&cert_bag, depth + 4, OID_X509) {
                    out.certs.push(der.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Read the file's certificates with the absent password (the caller checked the MAC).
pub fn contents(bytes: &[u8]) -> Result<Contents, String> {
    let (auth, _) = scan::pfx(bytes).ok_or("malformed PFX")?;
    let (seq, _) = asn1::read(auth, 1)?;
    let mut out = Contents::default();
    for info in asn1::children(seq.content, 2)? {
        if let Some(safe) = scan::content_info(&info, 3, scan::OID_DATA) {
            bags(safe, 5, &mut out)?;
            continue;
        }
        // [0] { EncryptedData { version, EncryptedContentInfo { type, algorithm, [0] IMPLICIT } } }
        let parts = asn1::children(info.content, 3)?;
        let ed = parts.get(1).ok_or("malformed ContentInfo")?;
        let ed = asn1::children(ed.content, 4)?;
        let ed = asn1::children(ed.first().ok_or("malformed EncryptedData")?.content, 5)?;
        let eci = asn1::children(ed.get(1).ok_or("malformed EncryptedData")?.content, 6)?;
        match eci.as_slice() {
            [_, alg, data, ..] if data.tag == 0x80 => {
                let plain = decrypt(alg, data.content, 7)?;
                bags(&plain, 5, &mut out)?;
            }
            [_, _] => {}
            _ => return Err("malformed EncryptedContentInfo".into()),
        }
    }
    Ok(out)
}
