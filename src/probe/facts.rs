//! The facts of one presented or bundled certificate that the chain logic compares (raw names,
//! key, subjectAltName, caIssuers, self-signed), read once with x509-parser, and the walks over
//! them: does a key verify a signature, which bundle anchor a chain reaches, where the
//! presented chain ends.

use rustls::crypto::WebPkiSupportedAlgorithms;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cert::{self, Certificate};
use crate::input::asn1;

/// One certificate with the raw fields the chain logic compares.
#[derive(Debug, Clone)]
pub struct Facts {
    pub cert: Certificate,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    /// The issuer's common name (or the whole issuer name), for messages.
    pub issuer_cn: String,
    /// The DER SubjectPublicKeyInfo.
    spki: Vec<u8>,
    /// subjectAltName entries: "DNS:…", "IP:…".
    pub names: Vec<String>,
    /// Authority Information Access caIssuers URLs: where the issuer's certificate is published.
    pub ca_issuers: Vec<String>,
    /// Subject == issuer and the signature verifies with its own key (or cannot be checked).
    pub self_signed: bool,
}

impl Facts {
    pub fn parse(der: &[u8], algs: &WebPkiSupportedAlgorithms) -> Result<Facts, String> {
        let cert = Certificate::from_der(der, false)?;
        let (_, x509) = X509Certificate::from_der(der)
            .map_err(|e| format!("not an X.509 certificate ({e})"))?;
        let issuer_cn =
            cert::common_name_of(x509.issuer()).unwrap_or_else(|| x509.issuer().to_string());
        let mut names = Vec::new();
        let mut ca_issuers = Vec::new();
        for ext in x509.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for n in &san.general_names {
                        match n {
                            GeneralName::DNSName(d) => names.push(format!("DNS:{d}")),
                            GeneralName::IPAddress(ip) => names.push(format!("IP:{}", ip_text(ip))),
                            _ => {}
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for d in aia.iter() {
                        if d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                            if let GeneralName::URI(u) = d.access_location {
                                ca_issuers.push(u.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut facts = Facts {
            subject_raw: x509.subject().as_raw().to_vec(),
            issuer_raw: x509.issuer().as_raw().to_vec(),
            issuer_cn,
            spki: x509.public_key().raw.to_vec(),
            names,
            ca_issuers,
            self_signed: false,
            cert,
        };
        facts.self_signed = facts.self_issued() && signed_by(&facts, &facts, algs) != Some(false);
        Ok(facts)
    }

    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    pub fn issued(&self, child: &Facts) -> bool {
        self.subject_raw == child.issuer_raw
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => hex::encode(bytes),
    }
}

/// Does `issuer`'s key verify `child`'s signature? `None` when it cannot be checked (an
/// algorithm the ring provider does not know, or an undecodable structure).
pub fn signed_by(child: &Facts, issuer: &Facts, algs: &WebPkiSupportedAlgorithms) -> Option<bool> {
    let (outer, _) = asn1::read(&child.cert.der, 0).ok()?;
    let parts = asn1::children(outer.content, 1).ok()?;
    let [tbs, sig_alg, sig] = parts.as_slice() else {
        return None;
    };
    let (&unused, signature) = sig.content.split_first()?;
    if sig.tag != 0x03 || unused != 0 {
        return None;
    }
    let (spki, _) = asn1::read(&issuer.spki, 0).ok()?;
    let key_parts = asn1::children(spki.content, 1).ok()?;
    let [key_alg, key_bits] = key_parts.as_slice() else {
        return None;
    };
    let (&unused, key) = key_bits.content.split_first()?;
    if key_bits.tag != 0x03 || unused != 0 {
        return None;
    }
    algs.all
        .iter()
        .find(|a| {
            a.signature_alg_id().as_ref() == sig_alg.content
                && a.public_key_alg_id().as_ref() == key_alg.content
        })
        .map(|a| a.verify_signature(key, tbs.raw, signature).is_ok())
}

/// The certificates of a PEM bundle, read leniently: a block that does not parse is skipped
/// (and counted) rather than failing the whole check.
pub fn read_pem_bundle(bytes: &[u8], algs: &WebPkiSupportedAlgorithms) -> (Vec<Facts>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for der in crate::store::bundle::certificates(bytes) {
        match der
            .ok_or_else(String::new)
            .and_then(|der| Facts::parse(&der, algs))
        {
            Ok(f) => out.push(f),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

/// The anchor that validated the chain: walk from the leaf, at each step preferring an anchor
/// of the bundle (named as the issuer and whose key verifies the signature) over the next
/// presented certificate, as webpki's path building does.
pub fn find_anchor(
    chain: &[&Facts],
    bundle: &[Facts],
    algs: &WebPkiSupportedAlgorithms,
) -> Option<usize> {
    let mut cur = *chain.first()?;
    let mut used = vec![false; chain.len()];
    used[0] = true;
    loop {
        let named: Vec<usize> = (0..bundle.len())
            .filter(|&i| bundle[i].issued(cur))
            .collect();
        if let Some(&i) = named
            .iter()
            .find(|&&i| signed_by(cur, &bundle[i], algs) == Some(true))
            .or_else(|| {
                named
                    .iter()
                    .find(|&&i| signed_by(cur, &bundle[i], algs).is_none())
            })
        {
            return Some(i);
        }
        let next = (0..chain.len()).find(|&j| {
            !used[j] && chain[j].issued(cur) && signed_by(cur, chain[j], algs) != Some(false)
        })?;
        used[next] = true;
        cur = chain[next];
    }
}

/// The top of the presented chain: follow issuers through the presented certificates, starting
/// at the leaf, until a self-issued certificate or one whose issuer was not sent.
pub fn top<'a>(chain: &[&'a Facts], algs: &WebPkiSupportedAlgorithms) -> &'a Facts {
    let mut cur = chain[0];
    let mut used = vec![false; chain.len()];
    used[0] = true;
    while !cur.self_issued() {
        let Some(next) = (0..chain.len()).find(|&j| {
            !used[j] && chain[j].issued(cur) && signed_by(cur, chain[j], algs) != Some(false)
        }) else {
            break;
        };
        used[next] = true;
        cur = chain[next];
    }
    cur
}
