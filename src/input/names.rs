//! The strings in a certificate's issuer and subject names, held to what OpenSSL accepts when
//! it *loads* a certificate. OpenSSL refuses the whole certificate when a name holds an invalid
//! UTF8String, an odd-length BMPString, a UniversalString that is not whole code points, a
//! surrogate in either, or a string type a name may not hold (VisibleString, GeneralString,
//! OCTET STRING …) — and Debian's hook concatenates every anchor into one bundle, so one such
//! certificate makes OpenSSL refuse the *whole* bundle (every TLS client on the machine
//! fails). Measured with OpenSSL 3.0 (`openssl x509 -inform DER` on byte-edited certificates):
//! PrintableString, IA5String, T61String and NumericString are loaded whatever their bytes,
//! so they are not checked here.

use super::asn1::{self, Tlv};

/// Why a certificate that decodes is still not one OpenSSL (or anchorage) can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unloadable {
    /// A string in the issuer or subject name (the message names the field).
    Name(String),
    /// A validity time that is not in the form X.509 requires.
    Time(String),
}

/// Check the issuer, validity and subject of a certificate whose structure
/// `asn1::check_certificate` has accepted. The error names the field.
pub fn check_certificate(der: &[u8]) -> Result<(), Unloadable> {
    let walk = |what: &str| Unloadable::Name(format!("cannot read the {what}"));
    let (cert, _) = asn1::read(der, 0).map_err(|_| walk("certificate"))?;
    let tbs = asn1::children(cert.content, 1).map_err(|_| walk("certificate"))?;
    let tbs = tbs.first().ok_or_else(|| walk("tbsCertificate"))?;
    let fields = asn1::children(tbs.content, 2).map_err(|_| walk("tbsCertificate"))?;
    // [0] version is optional; then serial, signature, issuer, validity, subject.
    let skip = usize::from(fields.first().is_some_and(|t| t.tag == 0xa0));
    let at = |i: usize| fields.get(skip + i).ok_or_else(|| walk("tbsCertificate"));
    check_name(at(2)?, "issuer").map_err(Unloadable::Name)?;
    check_validity(at(3)?).map_err(Unloadable::Time)?;
    check_name(at(4)?, "subject").map_err(Unloadable::Name)
}

impl Unloadable {
    /// The same problem, said of a certificate inside a container ("PEM block #2 (…)").
    pub fn within(self, context: &str) -> Unloadable {
        match self {
            Unloadable::Name(why) => Unloadable::Name(format!("{context}: {why}")),
            Unloadable::Time(why) => Unloadable::Time(format!("{context}: {why}")),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Unloadable::Name(why) => format!(
                "{why}: OpenSSL cannot load this certificate, and a bundle holding it would break every TLS client"
            ),
            Unloadable::Time(why) => why.clone(),
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Unloadable::Name(_) => {
                "re-issue the certificate with that field encoded validly (UTF8String or PrintableString)".into()
            }
            Unloadable::Time(_) => {
                "re-issue the certificate with valid times (UTCTime YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ)".into()
            }
        }
    }
}

/// Every attribute value of a Name.
fn check_name(name: &Tlv<'_>, field: &str) -> Result<(), String> {
    for rdn in asn1::children(name.content, 3)? {
        for attr in asn1::children(rdn.content, 4)? {
            let parts = asn1::children(attr.content, 5)?;
            let (Some(oid), Some(value)) = (parts.first(), parts.get(1)) else {
                return Err(format!("{field}: an attribute without a value"));
            };
            check_value(value)
                .map_err(|why| format!("{field}: {} {why}", attribute_name(oid.content)))?;
        }
    }
    Ok(())
}

/// One attribute value, by its universal tag.
fn check_value(v: &Tlv<'_>) -> Result<(), String> {
    let bytes = v.content;
    match v.tag {
        0x0c => std::str::from_utf8(bytes)
            .map(|_| ())
            .map_err(|_| "is a UTF8String that is not valid UTF-8".into()),
        0x1e => {
            if !bytes.len().is_multiple_of(2) {
                return Err(format!(
                    "is a BMPString of odd length ({} bytes)",
                    bytes.len()
                ));
            }
            let surrogate = bytes.chunks_exact(2).any(|u| (0xd8..=0xdf).contains(&u[0]));
            if surrogate {
                return Err("is a BMPString holding a UTF-16 surrogate".into());
            }
            Ok(())
        }
        0x1c => {
            if !bytes.len().is_multiple_of(4) {
                return Err(format!(
                    "is a UniversalString of {} bytes (not a multiple of 4)",
                    bytes.len()
                ));
            }
            let bad = bytes.chunks_exact(4).any(|c| {
                let cp = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp)
            });
            if bad {
                return Err("is a UniversalString holding an invalid code point".into());
            }
            Ok(())
        }
        // What OpenSSL's DirectoryString-like "ASN1_PRINTABLE" admits besides the above:
        // BIT STRING, NumericString, PrintableString, T61String, IA5String, SEQUENCE, and the
        // tags it maps to "unknown" (7-9, 11, 13-15, 29).
        0x03 | 0x07..=0x09 | 0x0b | 0x0d..=0x0f | 0x12..=0x14 | 0x16 | 0x1d | 0x30 => Ok(()),
        tag => Err(format!(
            "has ASN.1 type {} (tag 0x{tag:02x}), which a name may not hold",
            type_name(tag)
        )),
    }
}

/// notBefore/notAfter: UTCTime is YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ.
fn check_validity(validity: &Tlv<'_>) -> Result<(), String> {
    let times = asn1::children(validity.content, 3)?;
    for (t, which) in times.iter().zip(["notBefore", "notAfter"]) {
        let (want, form) = match t.tag {
            0x17 => (13, "UTCTime (YYMMDDHHMMSSZ)"),
            0x18 => (15, "GeneralizedTime (YYYYMMDDHHMMSSZ)"),
            tag => return Err(format!("validity: {which} has tag 0x{tag:02x}, not a time")),
        };
        let c = t.content;
        let digits = c.len() == want && c[..want - 1].iter().all(u8::is_ascii_digit);
        if !digits || c.last() != Some(&b'Z') {
            return Err(format!(
                "validity: {which} is not a valid {form}: {:?}",
                String::from_utf8_lossy(c)
            ));
        }
    }
    Ok(())
}

fn type_name(tag: u8) -> &'static str {
    match tag {
        0x01 => "BOOLEAN",
        0x02 => "INTEGER",
        0x04 => "OCTET STRING",
        0x05 => "NULL",
        0x06 => "OBJECT IDENTIFIER",
        0x15 => "VideotexString",
        0x19 => "GraphicString",
        0x1a => "VisibleString",
        0x1b => "GeneralString",
        _ => "an unsupported type",
    }
}

/// "CN (2.5.4.3)" for the common attributes, else the dotted OID.
fn attribute_name(oid: &[u8]) -> String {
    let dotted = dotted(oid);
    let short = match dotted.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "serialNumber",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return format!("attribute {dotted}"),
    };
    format!("{short} ({dotted})")
}

fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = acc.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let mut out = match arcs.first() {
        Some(&first) if first < 80 => format!("{}.{}", first / 40, first % 40),
        Some(&first) => format!("2.{}", first - 80),
        None => return "?".into(),
    };
    for a in &arcs[1..] {
        out.push_str(&format!(".{a}"));
    }
    out
}

#[cfg(test)]
mod tests;
