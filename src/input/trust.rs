//! OpenSSL's trust settings: the `X509_CERT_AUX` that follows the certificate inside a
//! `-----BEGIN TRUSTED CERTIFICATE-----` block (`openssl x509 -trustout`, `-addtrust`,
//! `-addreject`; p11-kit's `openssl-bundle` export). The stores anchorage writes hold plain
//! certificates, so these settings would be lost on install: a certificate they keep from
//! authenticating TLS servers must be refused, not silently promoted to a full anchor.
//!
//! The structure (OpenSSL's crypto/x509/x_x509a.c), every field optional, in this order:
//!
//! ```text
//! SEQUENCE { trust SEQUENCE OF OID, reject [0] IMPLICIT SEQUENCE OF OID, alias UTF8String,
//!            keyid OCTET STRING, other [1] IMPLICIT SEQUENCE OF AlgorithmIdentifier }
//! ```
//!
//! The judgement follows OpenSSL's for the SSL-server purpose (x509_trust.c, `obj_trust` via
//! `trust_1oidany`): a rejected serverAuth or anyExtendedKeyUsage refuses; a trust list that
//! names neither refuses too (an explicit list replaces the blanket trust of a root).

use super::asn1;

/// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1 (the OID's content octets).
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// anyExtendedKeyUsage, 2.5.29.37.0.
const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// Purposes named in messages; others are shown in dotted form.
const NAMES: &[(&[u8], &str)] = &[
    (SERVER_AUTH, "serverAuth"),
    (ANY_EKU, "anyExtendedKeyUsage"),
    (
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02],
        "clientAuth",
    ),
    (
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03],
        "codeSigning",
    ),
    (
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04],
        "emailProtection",
    ),
    (
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08],
        "timeStamping",
    ),
    (
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09],
        "OCSPSigning",
    ),
];

/// At most this many purposes are listed in a message (a hostile block can hold thousands).
const LISTED: usize = 6;

/// The hint for a refused certificate.
pub const HINT: &str = "to trust it for TLS servers, re-export it without -addreject serverAuth (or with -addtrust serverAuth), for example as a plain certificate: openssl x509 -in FILE -out ca.pem";

/// Judge the auxiliary data after a TRUSTED CERTIFICATE's certificate (`aux` may be empty:
/// `-trustout` alone writes none). `Ok(Some(why))`: OpenSSL would not trust the certificate to
/// authenticate a TLS server; `Err`: the data is malformed (OpenSSL would not load the block).
pub fn server_auth_refusal(aux: &[u8]) -> Result<Option<String>, String> {
    if aux.is_empty() {
        return Ok(None);
    }
    let (seq, rest) = asn1::read(aux, 0)?;
    if seq.tag != 0x30 {
        return Err(format!("expected a SEQUENCE, found tag 0x{:02x}", seq.tag));
    }
    if !rest.is_empty() {
        return Err(format!("{} unexpected bytes after them", rest.len()));
    }
    let fields = asn1::children(seq.content, 1)?;
    let mut it = fields.iter().peekable();
    let trust = it
        .next_if(|t| t.tag == 0x30)
        .map(|t| oids(t, "trust"))
        .transpose()?;
    let reject = it
        .next_if(|t| t.tag == 0xa0)
        .map(|t| oids(t, "reject"))
        .transpose()?;
    it.next_if(|t| t.tag == 0x0c);
    it.next_if(|t| t.tag == 0x04);
    it.next_if(|t| t.tag == 0xa1);
    if let Some(extra) = it.next() {
        return Err(format!("unexpected field with tag 0x{:02x}", extra.tag));
    }
    let rejected = reject.unwrap_or_default();
    if let Some(bad) = rejected
        .iter()
        .find(|o| **o == SERVER_AUTH || **o == ANY_EKU)
    {
        return Ok(Some(format!(
            "its OpenSSL trust settings reject {}",
            name(bad)
        )));
    }
    match trust {
        Some(list) if !list.iter().any(|o| *o == SERVER_AUTH || *o == ANY_EKU) => {
            Ok(Some(if list.is_empty() {
                "its OpenSSL trust settings hold an empty trust list (trusted for nothing)".into()
            } else {
                format!(
                    "its OpenSSL trust settings trust it only for {}, not serverAuth",
                    listing(&list)
                )
            }))
        }
        _ => Ok(None),
    }
}

/// The OIDs' content octets of a SEQUENCE OF OBJECT IDENTIFIER.
fn oids<'a>(list: &asn1::Tlv<'a>, what: &str) -> Result<Vec<&'a [u8]>, String> {
    asn1::children(list.content, 2)?
        .into_iter()
        .map(|t| match t.tag {
            0x06 if !t.content.is_empty() => Ok(t.content),
            tag => Err(format!("{what} list holds tag 0x{tag:02x}, not an OID")),
        })
        .collect()
}

fn listing(list: &[&[u8]]) -> String {
    let mut shown: Vec<String> = list.iter().take(LISTED).map(|o| name(o)).collect();
    if list.len() > LISTED {
        shown.push(format!("{} more", list.len() - LISTED));
    }
    shown.join(", ")
}

fn name(oid: &[u8]) -> String {
    NAMES
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or_else(|| dotted(oid), |(_, n)| (*n).to_string())
}

/// An OID in dotted form (base-128 arcs; the first octet group holds the first two arcs).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut cur: u128 = 0;
    for &b in oid {
        cur = cur.saturating_mul(128).saturating_add(u128::from(b & 0x7f));
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (cur / 40).min(2);
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        }
    }
    let mut s = arcs
        .iter()
        .map(u128::to_string)
        .collect::<Vec<_>>()
        .join(".");
    if oid.last().is_some_and(|b| b & 0x80 != 0) {
        s.push_str("(truncated)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of SEQUENCE { fields }.
    fn seq(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let mut v = vec![tag, body.len() as u8];
        v.extend(body);
        v
    }

    fn oid(content: &[u8]) -> Vec<u8> {
        seq(0x06, &[content])
    }

    const CLIENT: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

    #[test]
    fn judges_like_openssl_for_the_ssl_server_purpose() {
        let server = oid(SERVER_AUTH);
        let client = oid(CLIENT);
        let any = oid(ANY_EKU);
        let judge = |aux: Vec<u8>| server_auth_refusal(&aux).unwrap();
        assert_eq!(server_auth_refusal(&[]).unwrap(), None);
        // -addreject serverAuth (as openssl writes it: the reject list alone).
        let r = judge(seq(0x30, &[&seq(0xa0, &[&server])])).unwrap();
        assert!(r.contains("reject serverAuth"), "{r}");
        let r = judge(seq(0x30, &[&seq(0xa0, &[&client, &any])])).unwrap();
        assert!(r.contains("reject anyExtendedKeyUsage"), "{r}");
        let r = judge(seq(0x30, &[&seq(0x30, &[&client])])).unwrap();
        assert!(r.contains("only for clientAuth, not serverAuth"), "{r}");
        assert!(judge(seq(0x30, &[&seq(0x30, &[])])).is_some());
        // A reject wins over a trust.
        assert!(judge(seq(0x30, &[&seq(0x30, &[&server]), &seq(0xa0, &[&server])])).is_some());
        assert_eq!(judge(seq(0x30, &[&seq(0x30, &[&client, &server])])), None);
        assert_eq!(judge(seq(0x30, &[&seq(0x30, &[&any])])), None);
        // Rejecting another purpose, an alias, a keyid: fine.
        let alias = seq(0x0c, &[b"my alias"]);
        let keyid = seq(0x04, &[&[1, 2, 3]]);
        assert_eq!(
            judge(seq(0x30, &[&seq(0xa0, &[&client]), &alias, &keyid])),
            None
        );
        assert_eq!(judge(seq(0x30, &[])), None);
    }

    #[test]
    fn malformed_settings_are_errors() {
        let server = oid(SERVER_AUTH);
        for bad in [
            vec![0x31, 0x00],
            vec![0x30, 0x05, 0x30],
            [seq(0x30, &[]), vec![0x00]].concat(),
            seq(0x30, &[&seq(0x30, &[&seq(0x02, &[&[1]])])]),
            // Fields out of order (reject before trust) or unknown.
            seq(0x30, &[&seq(0xa0, &[&server]), &seq(0x30, &[&server])]),
            seq(0x30, &[&seq(0x05, &[])]),
        ] {
            assert!(server_auth_refusal(&bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn unknown_purposes_are_shown_dotted_and_long_lists_cut() {
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        let many: Vec<&[u8]> = vec![CLIENT; 10];
        assert!(listing(&many).ends_with("clientAuth, 4 more"));
    }
}
