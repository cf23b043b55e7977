//! Writing PKCS#12 truststores: DER encoding, keytool-shaped trusted-certificate bags, the
//! rewrite of a parsed store (ContentInfos kept byte for byte unless they change; see the
//! parent module) and new stores for the `exec`/`env` fallback.

use super::super::format::{Kind, KsEntry, KsError};
use super::{
    bad, compute_mac, MacData, Protection, BAG, NEW_MAC_ITERATIONS, OID_ANY_EKU, OID_DATA,
    OID_ENCRYPTED_DATA, OID_FRIENDLY_NAME, OID_PBES2, OID_SHA256, OID_TRUSTED_KEY_USAGE, OID_X509,
    P12,
};

/// DER: tag, definite length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A trusted-certificate bag as keytool writes one: CertBag, friendlyName, trusted key usage.
pub fn trusted_bag(alias: &str, der: &[u8]) -> Vec<u8> {
    let cert_bag = tlv(
        0x30,
        &cat(&[&tlv(0x06, OID_X509), &tlv(0xa0, &tlv(0x04, der))]),
    );
    let bmp: Vec<u8> = alias.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let name = tlv(
        0x30,
        &cat(&[&tlv(0x06, OID_FRIENDLY_NAME), &tlv(0x31, &tlv(0x1e, &bmp))]),
    );
    let usage = tlv(
        0x30,
        &cat(&[
            &tlv(0x06, OID_TRUSTED_KEY_USAGE),
            &tlv(0x31, &tlv(0x06, OID_ANY_EKU)),
        ]),
    );
    let mut id = BAG.to_vec();
    id.push(3);
    tlv(
        0x30,
        &cat(&[
            &tlv(0x06, &id),
            &tlv(0xa0, &cert_bag),
            &tlv(0x31, &cat(&[&name, &usage])),
        ]),
    )
}

fn data_ci(safe_contents: &[u8]) -> Vec<u8> {
    tlv(
        0x30,
        &cat(&[&tlv(0x06, OID_DATA), &tlv(0xa0, &tlv(0x04, safe_contents))]),
    )
}

fn encrypted_ci(
    p: &pkcs5::pbes2::Parameters,
    password: &str,
    plain: &[u8],
) -> Result<Vec<u8>, KsError> {
    use pkcs5::pbes2::EncryptionScheme as E;
    let mut p = p.clone();
    // A fresh IV for new content under the same key.
    let mut iv = [0u8; 16];
    random(&mut iv)?;
    p.encryption = match p.encryption {
        E::Aes128Cbc { .. } => E::Aes128Cbc { iv },
        E::Aes192Cbc { .. } => E::Aes192Cbc { iv },
        E::Aes256Cbc { .. } => E::Aes256Cbc { iv },
        other => other,
    };
    let ct = p
        .encrypt(password.as_bytes(), plain)
        .map_err(|e| KsError::Unsupported(format!("re-encrypting the certificates: {e}")))?;
    let params = der::Encode::to_der(&p).map_err(|e| bad(format!("PBES2 parameters: {e}")))?;
    let alg = tlv(0x30, &cat(&[&tlv(0x06, OID_PBES2), &params]));
    let eci = tlv(0x30, &cat(&[&tlv(0x06, OID_DATA), &alg, &tlv(0x80, &ct)]));
    let ed = tlv(0x30, &cat(&[&tlv(0x02, &[0]), &eci]));
    Ok(tlv(
        0x30,
        &cat(&[&tlv(0x06, OID_ENCRYPTED_DATA), &tlv(0xa0, &ed)]),
    ))
}

fn random(buf: &mut [u8]) -> Result<(), KsError> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| KsError::Unsupported(format!("no random bytes (/dev/urandom: {e})")))
}

/// The PFX around `auth_safe` (the ContentInfos' DER, concatenated), MAC'd with `mac`'s
/// parameters when there is one.
fn pfx(
    auth_safe_cis: &[u8],
    mac: Option<&MacData<'_>>,
    password: &str,
) -> Result<Vec<u8>, KsError> {
    let auth_safe = tlv(0x30, auth_safe_cis);
    let mut body = cat(&[&tlv(0x02, &[3]), &data_ci(&auth_safe)]);
    if let Some(m) = mac {
        let digest = compute_mac(m, password, &auth_safe)?;
        let info = tlv(0x30, &cat(&[m.alg, &tlv(0x04, &digest)]));
        let mut md = cat(&[&info, &tlv(0x04, m.salt)]);
        if let Some(n) = m.iter_raw {
            md.extend_from_slice(n);
        }
        body.extend(tlv(0x30, &md));
    }
    Ok(tlv(0x30, &body))
}

impl<'a> P12<'a> {
    pub fn entries(&self) -> impl Iterator<Item = &KsEntry> {
        self.cis
            .iter()
            .flat_map(|c| c.bags.iter().map(|b| &b.entry))
    }

    /// The store without the entries `dropped` selects, with `add` appended.
    pub fn rewrite(
        &self,
        password: &str,
        dropped: &dyn Fn(&KsEntry) -> bool,
        add: &[(&str, &[u8])],
    ) -> Result<Vec<u8>, KsError> {
        let new: Vec<Vec<u8>> = add.iter().map(|(a, d)| trusted_bag(a, d)).collect();
        // Where new bags go: after the key bag of a plain data ContentInfo that starts with
        // one, else into a new data ContentInfo. Not first in a SafeContents: when a store has
        // exactly one private key, the JDK (PKCS12KeyStore.loadSafeContents) gives the first
        // certificate of a SafeContents that has no localKeyId the id "01" — still trusted,
        // but keytool then writes it back with that id.
        let host = if new.is_empty() {
            None
        } else {
            self.cis.iter().position(|c| {
                matches!(c.protection, Protection::Data)
                    && c.bags.first().is_some_and(|b| b.entry.kind == Kind::Key)
            })
        };
        let mut out = Vec::new();
        for (i, ci) in self.cis.iter().enumerate() {
            let extra: &[Vec<u8>] = if host == Some(i) { &new } else { &[] };
            if extra.is_empty() && !ci.bags.iter().any(|b| dropped(&b.entry)) {
                out.extend_from_slice(ci.raw);
                continue;
            }
            let kept: Vec<&[u8]> = ci
                .bags
                .iter()
                .filter(|b| !dropped(&b.entry))
                .map(|b| b.raw.as_slice())
                .chain(extra.iter().map(Vec::as_slice))
                .collect();
            if kept.is_empty() {
                continue;
            }
            let safe = tlv(0x30, &kept.concat());
            match &ci.protection {
                Protection::Pbes2(p) => out.extend(encrypted_ci(p, password, &safe)?),
                Protection::Data | Protection::Pbes1(_) => out.extend(data_ci(&safe)),
            }
        }
        if host.is_none() && !new.is_empty() {
            out.extend(data_ci(&tlv(0x30, &new.concat())));
        }
        pfx(&out, self.mac.as_ref(), password)
    }
}

/// A new PKCS#12 truststore holding `certs` (alias, DER) as trusted entries in one plain data
/// ContentInfo, with an HMAC-SHA256 MAC (10000 iterations, a random salt).
pub fn build(password: &str, certs: &[(&str, &[u8])]) -> Result<Vec<u8>, KsError> {
    let mut salt = [0u8; 20];
    random(&mut salt)?;
    let alg = tlv(0x30, &cat(&[&tlv(0x06, OID_SHA256), &[0x05, 0x00]]));
    let iter = tlv(0x02, &NEW_MAC_ITERATIONS.to_be_bytes()[2..]);
    let mac = MacData {
        alg: &alg,
        oid: OID_SHA256,
        salt: &salt,
        iter_raw: Some(&iter),
        iterations: u64::from(NEW_MAC_ITERATIONS),
        mac: &[],
    };
    let bags: Vec<Vec<u8>> = certs.iter().map(|(a, d)| trusted_bag(a, d)).collect();
    let cis = if certs.is_empty() {
        Vec::new()
    } else {
        data_ci(&tlv(0x30, &bags.concat()))
    };
    pfx(&cis, Some(&mac), password)
}
