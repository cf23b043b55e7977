//! `Certificate`: the DER bytes of one X.509 certificate plus the facts anchorage decides on
//! (fingerprint, names, validity, CA flag, self-signed). Built once by the input decoders.

use ::time::OffsetDateTime;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509CertificateParser;
use x509_parser::extensions::BasicConstraints;
use x509_parser::nom::Parser;
use x509_parser::oid_registry::OID_X509_EXT_BASIC_CONSTRAINTS;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

/// The role a certificate plays, which decides the install policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Self-signed (subject == issuer and the signature verifies with its own key, or it cannot be
    /// checked but the names match): a trust anchor, CA or not (appliance certificates).
    SelfSigned,
    /// A CA certificate issued by someone else.
    Intermediate,
    /// An end-entity certificate issued by someone else.
    Leaf,
}

#[derive(Debug, Clone)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub sha256: [u8; 32],
    pub subject: String,
    pub issuer: String,
    /// The subject's common name (or the whole subject if none), for naming and messages.
    pub common_name: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    pub role: Role,
}

pub fn sha256(der: &[u8]) -> [u8; 32] {
    let digest = Sha256::digest(der);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    out
}

/// The first common name (CN) of a distinguished name, when it is a readable string: the name
/// anchorage shows for a subject or an issuer (each caller picks its own fallback).
pub fn common_name_of(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

impl Certificate {
    /// Parse exactly one DER certificate. Trailing bytes are an error unless `allow_trailing`
    /// (OpenSSL's TRUSTED CERTIFICATE appends auxiliary trust data after the certificate).
    pub fn from_der(bytes: &[u8], allow_trailing: bool) -> Result<Certificate, String> {
        let (mut cert, len) = Self::parse(bytes, allow_trailing)?;
        cert.der = bytes[..len].to_vec();
        Ok(cert)
    }

    /// As `from_der`, keeping the buffer instead of copying it (a 10,000-certificate bundle
    /// would otherwise copy every decoded certificate once more).
    pub fn from_der_vec(mut bytes: Vec<u8>, allow_trailing: bool) -> Result<Certificate, String> {
        let (mut cert, len) = Self::parse(&bytes, allow_trailing)?;
        bytes.truncate(len);
        cert.der = bytes;
        Ok(cert)
    }

    /// Everything but the DER itself, and the length of the certificate within `bytes`.
    fn parse(bytes: &[u8], allow_trailing: bool) -> Result<(Certificate, usize), String> {
        // Extensions are parsed shallowly (the deep parser builds every known extension and
        // a failure there only marks that extension); only basicConstraints is decoded.
        let (rest, x509) = X509CertificateParser::new()
            .with_deep_parse_extensions(false)
            .parse(bytes)
            .map_err(|e| format!("not an X.509 certificate ({e})"))?;
        if !rest.is_empty() && !allow_trailing {
            return Err(format!(
                "{} unexpected bytes after the certificate",
                rest.len()
            ));
        }
        let len = bytes.len() - rest.len();
        let subject = x509.subject().to_string();
        let issuer = x509.issuer().to_string();
        let common_name = common_name_of(x509.subject())
            .or_else(|| {
                x509.subject()
                    .iter_organization()
                    .next()
                    .and_then(|o| o.as_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| subject.clone());
        let is_ca = is_ca(&x509);
        let names_match = x509.subject().as_raw() == x509.issuer().as_raw();
        let role = if names_match {
            Role::SelfSigned
        } else if is_ca {
            Role::Intermediate
        } else {
            Role::Leaf
        };
        let validity = x509.validity();
        let cert = Certificate {
            sha256: sha256(&bytes[..len]),
            subject,
            issuer,
            common_name,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            is_ca,
            role,
            der: Vec::new(),
        };
        Ok((cert, len))
    }

    pub fn fingerprint(&self) -> String {
        hex::encode(self.sha256)
    }

    pub fn not_after_rfc3339(&self) -> String {
        rfc3339(self.not_after)
    }

    pub fn is_expired(&self, now: i64) -> bool {
        self.not_after < now
    }

    /// Days until expiry (negative when expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// One PEM "CERTIFICATE" block with 64-column lines, the form every hook accepts.
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}

/// `basicConstraints` with `cA` TRUE, decided as x509-parser's `is_ca` does: false when the
/// extension is absent, duplicated or does not decode.
fn is_ca(x509: &X509Certificate<'_>) -> bool {
    let mut found = x509
        .extensions()
        .iter()
        .filter(|e| e.oid == OID_X509_EXT_BASIC_CONSTRAINTS);
    match (found.next(), found.next()) {
        (Some(ext), None) => BasicConstraints::from_der(ext.value).is_ok_and(|(_, bc)| bc.ca),
        _ => false,
    }
}

pub fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// One PEM block of `label` with 64-column base64 lines (RFC 7468's strict form).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 34);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 is ASCII, so every 64-byte chunk is a whole &str.
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Certificates for unit tests of the pure parts (planning, reports): only the fields those
/// read, no DER.
#[cfg(test)]
pub mod fake {
    use super::{Certificate, Role};

    pub fn cert(n: u8, cn: &str) -> Certificate {
        Certificate {
            der: Vec::new(),
            sha256: [n; 32],
            subject: format!("CN={cn}"),
            issuer: format!("CN={cn}"),
            common_name: cn.to_string(),
            not_before: 0,
            not_after: 4_102_444_800,
            is_ca: true,
            role: Role::SelfSigned,
        }
    }

    pub fn candidate(n: u8, cn: &str) -> crate::policy::Candidate {
        crate::policy::Candidate {
            cert: std::sync::Arc::new(cert(n, cn)),
            source: format!("{cn}.pem"),
            name: cn.to_string(),
            warnings: Vec::new(),
        }
    }

    /// A managed file (system store) or, with a nickname, an NSS entry.
    pub fn entry(n: u8, name: &str, nickname: &str) -> crate::store::Entry {
        crate::store::Entry {
            name: name.to_string(),
            path: format!("/anchors/{name}.crt").into(),
            nickname: nickname.to_string(),
            cert: Some(cert(n, name)),
            problem: None,
            registered: true,
            ours: nickname.is_empty() || nickname.starts_with("anchorage-"),
            trust: if nickname.is_empty() { "" } else { "C,," }.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pem_encode;

    #[test]
    fn pem_of_known_bytes() {
        let want = "-----BEGIN CERTIFICATE-----\n\
                    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n\
                    MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n\
                    YGFiYw==\n\
                    -----END CERTIFICATE-----\n";
        let bytes: Vec<u8> = (0..100).collect();
        assert_eq!(pem_encode("CERTIFICATE", &bytes), want);
        assert_eq!(pem_encode("X", b""), "-----BEGIN X-----\n-----END X-----\n");
        assert_eq!(
            pem_encode("PKCS7", b"anchorage"),
            "-----BEGIN PKCS7-----\nYW5jaG9yYWdl\n-----END PKCS7-----\n"
        );
    }

    #[test]
    fn pem_lines_padding_and_round_trip() {
        for n in 0..=70usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let pem = pem_encode("CERTIFICATE", &bytes);
            let body = pem
                .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                .and_then(|b| b.strip_suffix("-----END CERTIFICATE-----\n"))
                .unwrap_or_else(|| panic!("{n}: bad framing: {pem:?}"));
            let lines: Vec<&str> = body.split_terminator('\n').collect();
            assert!(body.is_empty() || body.ends_with('\n'), "{n}: {body:?}");
            let chars = n.div_ceil(3) * 4;
            assert_eq!(lines.len(), chars.div_ceil(64), "{n}: {body:?}");
            for (i, line) in lines.iter().enumerate() {
                let width = if i + 1 < lines.len() {
                    64
                } else {
                    chars - 64 * i
                };
                assert_eq!(line.len(), width, "{n}: line {i} of {body:?}");
            }
            let pad = body.bytes().filter(|&b| b == b'=').count();
            assert_eq!(pad, (3 - n % 3) % 3, "{n}: {body:?}");
            let joined: String = lines.concat();
            assert_eq!(
                data_encoding::BASE64.decode(joined.as_bytes()).unwrap(),
                bytes,
                "{n}"
            );
        }
    }
}
