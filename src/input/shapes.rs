//! Things found next to certificates that are not certificates (issue 14 §4), recognised by
//! structure: the DER shape of a CRL, a CSR, a public key, an (encrypted) private key, an OCSP
//! response, a cross-certificate pair; and the PEM labels of the same. A directory skips them
//! with a note; named on its own, each is refused with what it is. Private keys are never
//! decoded: a key is recognised from its outer tags (DER) or its label (PEM) only.

use super::asn1::{self, children, read};
use super::{names, DecodeError, Decoded};
use crate::cert::Certificate;

pub const CRL: &str = "a certificate revocation list, not a certificate";
pub const CSR: &str = "a certificate signing request, not a certificate";
pub const PUBLIC_KEY: &str = "a public key, not a certificate";
pub const PRIVATE_KEY: &str = "a private key — ignored, never installed";
pub const OCSP: &str = "an OCSP response, not a certificate";
pub const OCSP_REQUEST: &str = "an OCSP request, not a certificate";
pub const SMIME: &str = "an S/MIME message: extract its certificates with `openssl smime -pk7out -in F | openssl pkcs7 -print_certs`";
pub const DH_PARAMS: &str = "key parameters, not a certificate";

/// The hint for each kind: what to give instead.
pub fn hint(what: &str) -> String {
    match what {
        CRL => "a revocation list is not a trust anchor: give the CA certificate that issued it",
        CSR => "a request is not a certificate: give the certificate the CA issued for it, or the CA's own certificate",
        PUBLIC_KEY => "a trust anchor is a certificate: give the CA certificate that holds this key",
        PRIVATE_KEY => "give the CA certificate, not its private key",
        OCSP | OCSP_REQUEST => "an OCSP message only speaks about a certificate's status: give the CA certificate",
        SMIME => "give the PEM file that command prints",
        _ => "give the CA certificate (PEM, DER, PKCS#7 or PKCS#12)",
    }
    .into()
}

/// A PEM label that names a private key (never base64-decoded: legacy encrypted keys carry
/// RFC 1421 headers, and a key's bytes are never needed).
pub fn is_key_label(label: &[u8]) -> bool {
    memchr::memmem::find(label, b"PRIVATE KEY").is_some()
}

/// What a PEM block of this label is, when it is a known non-certificate.
pub fn pem_kind(label: &[u8]) -> Option<&'static str> {
    Some(match label {
        b"X509 CRL" => CRL,
        b"CERTIFICATE REQUEST" | b"NEW CERTIFICATE REQUEST" => CSR,
        b"PUBLIC KEY" | b"RSA PUBLIC KEY" => PUBLIC_KEY,
        b"ENCRYPTED PRIVATE KEY" => PRIVATE_KEY,
        b"DH PARAMETERS" | b"EC PARAMETERS" | b"DSA PARAMETERS" | b"X9.42 DH PARAMETERS" => {
            DH_PARAMS
        }
        l if is_key_label(l) => PRIVATE_KEY,
        _ => return None,
    })
}

/// The error for a PEM input whose blocks (labels, in file order) hold no certificate, when
/// one of them is a known non-certificate.
pub fn pem_not_a_certificate<'a>(
    mut labels: impl Iterator<Item = &'a [u8]>,
) -> Option<DecodeError> {
    labels
        .find_map(pem_kind)
        .map(|what| DecodeError::NotACertificate { what })
}

/// A binary or text input that is a known non-certificate (`None`: not recognised). A
/// cross-certificate pair decodes to its certificates.
pub fn decode_other(bytes: &[u8]) -> Option<Result<Decoded, DecodeError>> {
    if is_smime(bytes) {
        return Some(Err(DecodeError::NotACertificate { what: SMIME }));
    }
    Some(match der_kind(bytes)? {
        Err(what) => Err(DecodeError::NotACertificate { what }),
        Ok(ders) => pair_certificates(&ders),
    })
}

fn pair_certificates(ders: &[Vec<u8>]) -> Result<Decoded, DecodeError> {
    let mut certs = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        let at = format!("cross-certificate pair, certificate #{}", i + 1);
        asn1::check_certificate(der)
            .map_err(|e| DecodeError::Invalid(format!("{at}: malformed: {e}")))?;
        names::check_certificate(der).map_err(|u| DecodeError::Unloadable(u.within(&at)))?;
        let cert = Certificate::from_der(der, false)
            .map_err(|e| DecodeError::Invalid(format!("{at}: {e}")))?;
        certs.push(cert);
    }
    Ok(Decoded {
        certs,
        format: "der",
        ..Decoded::default()
    })
}

/// An S/MIME message (a MIME mail signed with `openssl smime -sign`): text, no PEM block.
pub fn is_smime(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let has = |s: &[u8]| memchr::memmem::find(head, s).is_some();
    (has(b"MIME-Version:") || has(b"Content-Type:"))
        && (has(b"application/pkcs7-signature")
            || has(b"application/x-pkcs7-signature")
            || has(b"application/pkcs7-mime")
            || has(b"application/x-pkcs7-mime"))
}

/// A DER input that is a known non-certificate: `Some(Err)` naming it, or (a cross-certificate
/// pair) `Some(Ok)` with its certificates' DER. `None`: let the certificate decoder judge it.
pub fn der_kind(bytes: &[u8]) -> Option<Result<Vec<Vec<u8>>, &'static str>> {
    let (outer, _) = read(bytes, 0).ok()?;
    if outer.tag != 0x30 {
        return None;
    }
    let kind = der_kind_of(outer.content)?;
    asn1::check(bytes).is_ok().then_some(kind)
}

fn der_kind_of(content: &[u8]) -> Option<Result<Vec<Vec<u8>>, &'static str>> {
    let parts = children(content, 1).ok()?;
    let tags: Vec<u8> = parts.iter().map(|p| p.tag).collect();
    match tags.as_slice() {
        // CertificateList / CertificationRequest: SEQUENCE { tbs SEQUENCE, alg, BIT STRING }
        [0x30, 0x30, 0x03] => signed_kind(parts[0].content).map(Err),
        // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }
        [0x30, 0x03] if algorithm(&parts[0]) => Some(Err(PUBLIC_KEY)),
        // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
        [0x30, 0x04] if algorithm(&parts[0]) => Some(Err(PRIVATE_KEY)),
        // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, [0] EXPLICIT responseBytes }
        [0x0a] | [0x0a, 0xa0] => Some(Err(OCSP)),
        // OCSPRequest ::= SEQUENCE { TBSRequest, [0] EXPLICIT Signature OPTIONAL }, where
        // TBSRequest ::= SEQUENCE { [0] version?, [1] name?, requestList SEQUENCE OF, [2]? }
        [0x30] | [0x30, 0xa0] if ocsp_request(&parts[0]) => Some(Err(OCSP_REQUEST)),
        // CertificatePair ::= SEQUENCE { forward [0] Certificate OPTIONAL, reverse [1] ... }
        [0xa0] | [0xa1] | [0xa0, 0xa1] => cross_pair(&parts).map(Ok),
        // RSAPrivateKey, PrivateKeyInfo, ECPrivateKey: SEQUENCE { INTEGER version (0/1), ... }
        [0x02, ..]
            if parts.len() >= 3 && parts[0].content.len() == 1 && parts[0].content[0] <= 1 =>
        {
            Some(Err(PRIVATE_KEY))
        }
        _ => None,
    }
}

/// AlgorithmIdentifier ::= SEQUENCE { OID, parameters OPTIONAL }
fn algorithm(tlv: &asn1::Tlv<'_>) -> bool {
    read(tlv.content, 2).is_ok_and(|(oid, _)| oid.tag == 0x06)
}

fn is_time(tag: u8) -> bool {
    tag == 0x17 || tag == 0x18
}

/// A signed structure's "to be signed" part: a CRL's (`[version] alg issuer thisUpdate ...`)
/// or a CSR's (`version subject subjectPKInfo [0] attributes`); `None` for a certificate's.
fn signed_kind(tbs: &[u8]) -> Option<&'static str> {
    let fields = children(tbs, 2).ok()?;
    let tags: Vec<u8> = fields.iter().map(|f| f.tag).collect();
    match tags.as_slice() {
        [0x02, 0x30, 0x30, t, ..] | [0x30, 0x30, t, ..] if is_time(*t) => Some(CRL),
        [0x02, 0x30, 0x30, 0xa0] | [0x02, 0x30, 0x30] if fields[0].content == [0] => {
            let spki = children(fields[2].content, 3).ok()?;
            (spki.len() == 2 && spki[0].tag == 0x30 && spki[1].tag == 0x03).then_some(CSR)
        }
        _ => None,
    }
}

fn ocsp_request(tbs: &asn1::Tlv<'_>) -> bool {
    let Ok(fields) = children(tbs.content, 2) else {
        return false;
    };
    let list = fields.iter().find(|f| f.tag == 0x30);
    fields
        .iter()
        .all(|f| matches!(f.tag, 0x30 | 0xa0 | 0xa1 | 0xa2))
        && list.is_some_and(|l| {
            children(l.content, 3).is_ok_and(|reqs| {
                !reqs.is_empty()
                    && reqs.iter().all(|r| {
                        // Request ::= SEQUENCE { CertID SEQUENCE { alg, OCTET, OCTET, INTEGER }, .. }
                        read(r.content, 4).is_ok_and(|(id, _)| {
                            children(id.content, 5)
                                .is_ok_and(|c| c.iter().map(|t| t.tag).eq([0x30, 0x04, 0x04, 0x02]))
                        })
                    })
            })
        })
}

/// The certificates of a cross-certificate pair, `[0]`/`[1]` EXPLICIT (X.509) or IMPLICIT
/// (RFC 2587, the tag replacing the certificate's SEQUENCE tag).
fn cross_pair(parts: &[asn1::Tlv<'_>]) -> Option<Vec<Vec<u8>>> {
    let mut certs = Vec::with_capacity(parts.len());
    for part in parts {
        let explicit = read(part.content, 2)
            .ok()
            .filter(|(inner, rest)| inner.tag == 0x30 && rest.is_empty())
            .map(|(inner, _)| inner.raw.to_vec());
        let der = match explicit {
            Some(der) if asn1::shape(&der) == asn1::Shape::Certificate => der,
            _ => {
                let mut der = part.raw.to_vec();
                der[0] = 0x30;
                if asn1::shape(&der) != asn1::Shape::Certificate {
                    return None;
                }
                der
            }
        };
        certs.push(der);
    }
    Some(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn shapes_by_structure() {
        let alg = tlv(0x30, &tlv(0x06, &[0x2a, 0x03]));
        let spki = [alg.clone(), tlv(0x03, &[0, 1])].concat();
        assert_eq!(der_kind(&tlv(0x30, &spki)), Some(Err(PUBLIC_KEY)));
        let epki = [alg.clone(), tlv(0x04, &[1, 2])].concat();
        assert_eq!(der_kind(&tlv(0x30, &epki)), Some(Err(PRIVATE_KEY)));
        let ocsp = [tlv(0x0a, &[6])].concat();
        assert_eq!(der_kind(&tlv(0x30, &ocsp)), Some(Err(OCSP)));
        let name = tlv(0x30, &[]);
        let tbs = [alg.clone(), name, tlv(0x17, b"250101000000Z")].concat();
        let crl = [tlv(0x30, &tbs), alg.clone(), tlv(0x03, &[0])].concat();
        assert_eq!(der_kind(&tlv(0x30, &crl)), Some(Err(CRL)));
        let key = [tlv(0x02, &[0]), tlv(0x02, &[5]), tlv(0x02, &[3])].concat();
        assert_eq!(der_kind(&tlv(0x30, &key)), Some(Err(PRIVATE_KEY)));
        assert_eq!(der_kind(b"\x30\x03\x02\x01"), None);
        assert_eq!(der_kind(&tlv(0x30, &tlv(0xa0, &[]))), None);
    }

    #[test]
    fn labels() {
        assert_eq!(pem_kind(b"X509 CRL"), Some(CRL));
        assert_eq!(pem_kind(b"NEW CERTIFICATE REQUEST"), Some(CSR));
        assert_eq!(pem_kind(b"RSA PRIVATE KEY"), Some(PRIVATE_KEY));
        assert_eq!(pem_kind(b"ENCRYPTED PRIVATE KEY"), Some(PRIVATE_KEY));
        assert_eq!(pem_kind(b"CERTIFICATE"), None);
    }
}
