//! A tiny, bounds-checked BER/DER TLV walker. It is used to tell the container formats apart
//! by content (certificate, PKCS#7, PKCS#12), to reject hostile nesting before any library
//! recurses into it, and to pull the certificates out of a PKCS#7 SignedData (BER included:
//! `openssl cms -stream` writes indefinite lengths). It never panics and never allocates
//! in proportion to a length field.

/// Deeper structures than this are refused: real certificates nest about 10 levels.
pub const MAX_DEPTH: usize = 48;

mod container;

pub use container::{pkcs7_certificates, shape, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet (only low-tag-number form is accepted: all of X.509 uses it).
    pub tag: u8,
    /// The content octets. For an indefinite-length value, the content up to (not including)
    /// the end-of-contents marker.
    pub content: &'a [u8],
    /// The whole encoding, header through end-of-contents.
    pub raw: &'a [u8],
    pub indefinite: bool,
}

impl Tlv<'_> {
    pub fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// Read one TLV from the front of `input`; returns it and the rest.
pub fn read(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), String> {
    if depth > MAX_DEPTH {
        return Err(format!("ASN.1 nesting deeper than {MAX_DEPTH} levels"));
    }
    let (&tag, rest) = input.split_first().ok_or("truncated: expected a tag")?;
    if tag & 0x1f == 0x1f {
        return Err("unsupported high tag number".into());
    }
    let (&first, rest) = rest.split_first().ok_or("truncated: expected a length")?;
    let header_len = input.len() - rest.len();
    if first == 0x80 {
        if tag & 0x20 == 0 {
            return Err("indefinite length on a primitive value".into());
        }
        // Walk children until the end-of-contents marker (00 00).
        let mut cur = rest;
        loop {
            if cur.len() >= 2 && cur[0] == 0 && cur[1] == 0 {
                let content_len = rest.len() - cur.len();
                let total = header_len + content_len + 2;
                return Ok((
                    Tlv {
                        tag,
                        content: &rest[..content_len],
                        raw: &input[..total],
                        indefinite: true,
                    },
                    &cur[2..],
                ));
            }
            let (_, next) = read(cur, depth + 1)?;
            cur = next;
        }
    }
    let (len, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 {
            return Err(format!(
                "length field of {n} bytes is larger than any input anchorage accepts"
            ));
        }
        if rest.len() < n {
            return Err("truncated: length field cut short".into());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(format!(
            "truncated: a value claims {len} bytes but only {} remain",
            rest.len()
        ));
    }
    let header_len = input.len() - rest.len();
    let tlv = Tlv {
        tag,
        content: &rest[..len],
        raw: &input[..header_len + len],
        indefinite: false,
    };
    Ok((tlv, &rest[len..]))
}

/// Read all TLVs of a constructed value's content.
pub fn children<'a>(content: &'a [u8], depth: usize) -> Result<Vec<Tlv<'a>>, String> {
    iter_children(content, depth).collect()
}

/// The TLVs of a constructed value's content, one at a time; stops after the first error.
fn iter_children(content: &[u8], depth: usize) -> Children<'_> {
    Children {
        cur: content,
        depth,
    }
}

struct Children<'a> {
    cur: &'a [u8],
    depth: usize,
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Tlv<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.cur.is_empty() {
            return None;
        }
        match read(self.cur, self.depth) {
            Ok((tlv, rest)) => {
                self.cur = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.cur = &[];
                Some(Err(e))
            }
        }
    }
}

/// The first `N` children (the rest `None`) and how many there are in all; every child is
/// read, so a malformed one is an error as with `children`.
fn first_children<const N: usize>(
    content: &[u8],
    depth: usize,
) -> Result<([Option<Tlv<'_>>; N], usize), String> {
    let mut out = [None; N];
    let mut n = 0;
    for tlv in iter_children(content, depth) {
        let tlv = tlv?;
        if let Some(slot) = out.get_mut(n) {
            *slot = Some(tlv);
        }
        n += 1;
    }
    Ok((out, n))
}

/// Check that the whole structure is well-formed and not hostilely deep: every constructed
/// value is walked. Primitive OCTET STRING/BIT STRING contents are not descended into.
pub fn check(input: &[u8]) -> Result<(), String> {
    fn walk(content: &[u8], depth: usize) -> Result<(), String> {
        for tlv in iter_children(content, depth) {
            let tlv = tlv?;
            if tlv.constructed() {
                walk(tlv.content, depth + 1)?;
            }
        }
        Ok(())
    }
    let (tlv, _) = read(input, 0)?;
    if tlv.constructed() {
        walk(tlv.content, 1)?;
    }
    Ok(())
}

/// Check the tags of an X.509 certificate's skeleton as strictly as OpenSSL's decoder does:
/// Certificate, TBSCertificate and its fields, AlgorithmIdentifier, Name, Validity,
/// SubjectPublicKeyInfo and Extensions (not algorithm parameters or extension values).
/// x509-parser checks only tag *numbers*, so a certificate whose class or constructed bits
/// were flipped (0x30 → 0x10, 0x70 or 0xb0; version [0] 0xa0 → 0x80) parses there, yet OpenSSL
/// refuses it and it must not be written into a trust store. Trailing bytes after the
/// certificate are the caller's business (TRUSTED CERTIFICATE appends auxiliary data).
pub fn check_certificate(der: &[u8]) -> Result<(), String> {
    // This runs for every certificate of a 10,000-certificate bundle: nothing here allocates on
    // the success path (children are iterated or collected into fixed arrays, labels are
    // static and the field name is prefixed only on error).
    fn tagged(tlv: &Tlv<'_>, tag: u8, what: &str) -> Result<(), String> {
        if tlv.tag == tag {
            Ok(())
        } else {
            Err(format!(
                "{what} has tag 0x{:02x}, expected 0x{tag:02x}",
                tlv.tag
            ))
        }
    }
    fn fields<'a>(
        tlv: &Tlv<'a>,
        tag: u8,
        what: &str,
        depth: usize,
    ) -> Result<Children<'a>, String> {
        tagged(tlv, tag, what)?;
        Ok(iter_children(tlv.content, depth))
    }
    fn fields_n<'a, const N: usize>(
        tlv: &Tlv<'a>,
        tag: u8,
        what: &str,
        depth: usize,
    ) -> Result<([Option<Tlv<'a>>; N], usize), String> {
        tagged(tlv, tag, what)?;
        first_children(tlv.content, depth)
    }
    fn expect(tlv: Option<&Tlv<'_>>, tag: u8, what: &str) -> Result<(), String> {
        match tlv {
            Some(t) => tagged(t, tag, what),
            None => Err(format!("{what} is missing")),
        }
    }
    fn algorithm(tlv: Option<&Tlv<'_>>, what: &str, depth: usize) -> Result<(), String> {
        algorithm_fields(tlv, depth).map_err(|e| format!("{what}: {e}"))
    }
    fn algorithm_fields(tlv: Option<&Tlv<'_>>, depth: usize) -> Result<(), String> {
        let tlv = tlv.ok_or("is missing")?;
        let ([first], _) = fields_n::<1>(tlv, 0x30, "AlgorithmIdentifier", depth)?;
        expect(first.as_ref(), 0x06, "algorithm")
    }
    fn name(tlv: Option<&Tlv<'_>>, what: &str, depth: usize) -> Result<(), String> {
        name_fields(tlv, depth).map_err(|e| format!("{what}: {e}"))
    }
    fn name_fields(tlv: Option<&Tlv<'_>>, depth: usize) -> Result<(), String> {
        let tlv = tlv.ok_or("is missing")?;
        for rdn in fields(tlv, 0x30, "Name", depth)? {
            for attr in fields(&rdn?, 0x31, "RDN", depth + 1)? {
                let ([kind, value], n) = fields_n::<2>(&attr?, 0x30, "attribute", depth + 2)?;
                expect(kind.as_ref(), 0x06, "attribute type")?;
                match value {
                    Some(v) if v.tag & 0xc0 == 0 && n == 2 => {}
                    _ => return Err("attribute value is malformed".into()),
                }
            }
        }
        Ok(())
    }

    let (cert, _) = read(der, 0)?;
    let (parts, n) = fields_n::<3>(&cert, 0x30, "certificate", 1)?;
    let ([Some(tbs), Some(sig_alg), Some(signature)], 3) = (parts, n) else {
        return Err(format!("certificate has {n} fields, expected 3"));
    };
    algorithm(Some(&sig_alg), "signatureAlgorithm", 2)?;
    expect(Some(&signature), 0x03, "signature")?;

    // At most 10 fields are valid; an 11th is collected to be reported.
    let (tbs, _) = fields_n::<11>(&tbs, 0x30, "tbsCertificate", 2)?;
    let mut it = tbs.iter().flatten().peekable();
    if let Some(version) = it.next_if(|t| t.tag & 0x1f == 0 && t.tag & 0xc0 == 0x80) {
        let ([number], _) = fields_n::<1>(version, 0xa0, "version", 3)?;
        expect(number.as_ref(), 0x02, "version number")?;
    }
    expect(it.next(), 0x02, "serialNumber")?;
    algorithm(it.next(), "signature", 3)?;
    name(it.next(), "issuer", 3)?;
    let validity = it.next().ok_or("validity is missing")?;
    for time in fields(validity, 0x30, "validity", 3)? {
        let time = time?;
        if time.tag != 0x17 && time.tag != 0x18 {
            return Err(format!("validity time has tag 0x{:02x}", time.tag));
        }
    }
    name(it.next(), "subject", 3)?;
    let spki = it.next().ok_or("subjectPublicKeyInfo is missing")?;
    let ([algo, key], _) = fields_n::<2>(spki, 0x30, "subjectPublicKeyInfo", 3)?;
    algorithm(algo.as_ref(), "subjectPublicKey algorithm", 4)?;
    expect(key.as_ref(), 0x03, "subjectPublicKey")?;
    it.next_if(|t| t.tag == 0x81);
    it.next_if(|t| t.tag == 0x82);
    if let Some(ext) = it.next() {
        let ([list], n) = fields_n::<1>(ext, 0xa3, "extensions", 3)?;
        let (Some(list), 1) = (list, n) else {
            return Err("extensions [3] does not hold one SEQUENCE".into());
        };
        for e in fields(&list, 0x30, "extensions", 4)? {
            let ([id, second, third], _) = fields_n::<3>(&e?, 0x30, "extension", 5)?;
            expect(id.as_ref(), 0x06, "extension id")?;
            let value = if second.is_some_and(|t| t.tag == 0x01) {
                third
            } else {
                second
            };
            expect(value.as_ref(), 0x04, "extension value")?;
        }
    }
    if let Some(extra) = it.next() {
        return Err(format!(
            "unexpected field with tag 0x{:02x} in tbsCertificate",
            extra.tag
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_deep_nesting_without_recursing_forever() {
        let mut v = Vec::new();
        for _ in 0..10_000 {
            v.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..10_000 {
            v.extend_from_slice(&[0, 0]);
        }
        assert!(check(&v).is_err());
        assert_eq!(shape(&v), Shape::OtherSequence);
    }

    #[test]
    fn rejects_huge_lengths() {
        let v = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert!(read(&v, 0).unwrap_err().contains("truncated"));
        let v = [0x30, 0x88, 1, 2, 3, 4, 5, 6, 7, 8];
        assert!(read(&v, 0).is_err());
    }

    #[test]
    fn indefinite_length_is_walked() {
        // SEQUENCE(indef) { INTEGER 5 } EOC
        let v = [0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0xff];
        let (tlv, rest) = read(&v, 0).unwrap();
        assert!(tlv.indefinite);
        assert_eq!(tlv.content, &[0x02, 0x01, 0x05]);
        assert_eq!(rest, &[0xff]);
    }
}
