//! Deterministic bytes and a tiny DER builder.

use anchorage::input::asn1;

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

pub fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|&b| b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub fn int(v: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = v
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|&b| b == 0)
        .collect();
    if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("OID arc"))
        .collect();
    let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut enc = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            enc.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        enc.reverse();
        out.extend(enc);
    }
    tlv(0x06, &out)
}

pub const OID_DATA: &str = "1.2.840.113549.1.7.1";
pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";

/// Child `i` of a constructed value (or of DER inside an OCTET STRING).
pub fn child<'a>(tlv: &asn1::Tlv<'a>, i: usize) -> asn1::Tlv<'a> {
    asn1::children(tlv.content, 1).expect("well-formed fixture")[i]
}

pub fn offset_of(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// `bytes` with `new` in place of `bytes[at..at + old_len]`.
pub fn splice(bytes: &[u8], at: usize, old_len: usize, new: &[u8]) -> Vec<u8> {
    [&bytes[..at], new, &bytes[at + old_len..]].concat()
}

pub fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    anchorage::cert::pem_encode(label, der).into_bytes()
}

pub fn nested_definite(depth: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..depth {
        v = tlv(0x30, &v);
    }
    v
}

pub fn nested_indefinite(depth: usize, terminated: bool) -> Vec<u8> {
    let mut v = [0x30, 0x80].repeat(depth);
    if terminated {
        v.extend([0, 0].repeat(depth));
    }
    v
}
