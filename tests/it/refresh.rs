//! Issue 18, native refresh: the subject hash against `openssl`, and the trees `--refresh
//! native` writes against the ones the real `update-ca-certificates` writes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

use anchorage::store::native::hash;

use crate::common::*;

/// `openssl rehash -v DIR` names each file's hash link: file name → hash.
fn openssl_hashes(dir: &Path) -> BTreeMap<String, u32> {
    let out = Command::new("openssl")
        .args(["rehash", "-v"])
        .arg(dir)
        .output()
        .expect("openssl rehash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(rest) = line.strip_prefix("link ") else {
            continue;
        };
        let (file, link) = rest.split_once(" -> ").expect("link line");
        let h = u32::from_str_radix(&link[..8], 16).expect("hex");
        map.insert(file.to_string(), h);
    }
    map
}

fn pem(der: &[u8]) -> String {
    anchorage::cert::pem_encode("CERTIFICATE", der)
}

fn der_of_pem(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.find("-----BEGIN CERTIFICATE-----")?;
    let body = &text[start + 27..];
    let end = body.find("-----END")?;
    let b64: String = body[..end].split_whitespace().collect();
    data_b64(&b64)
}

fn data_b64(s: &str) -> Option<Vec<u8>> {
    let out = Command::new("openssl")
        .args(["base64", "-d", "-A"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .ok()?;
    Some(out.stdout)
}

#[test]
fn subject_hash_matches_openssl_for_every_mozilla_root() {
    let dir = tempfile::tempdir().unwrap();
    let mut ders = BTreeMap::new();
    for e in walkdir::WalkDir::new("/usr/share/ca-certificates") {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        let der = der_of_pem(&bytes).expect("a PEM certificate");
        let name = format!("{}.pem", ders.len());
        std::fs::write(dir.path().join(&name), &bytes).unwrap();
        ders.insert(name, der);
    }
    assert!(ders.len() > 100, "{} roots", ders.len());
    let want = openssl_hashes(dir.path());
    for (name, der) in &ders {
        assert_eq!(
            hash::subject_hash(der),
            Some(want[name]),
            "{name}: {}",
            pem(der)
        );
    }
}

#[test]
fn subject_hash_matches_openssl_for_every_fixture() {
    let mut checked = 0;
    for e in walkdir::WalkDir::new(fixture_dir()) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        for form in ["PEM", "DER"] {
            let out = Command::new("openssl")
                .args(["x509", "-noout", "-subject_hash", "-inform", form, "-in"])
                .arg(e.path())
                .output()
                .unwrap();
            if !out.status.success() {
                continue;
            }
            let want = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let der = Command::new("openssl")
                .args(["x509", "-outform", "DER", "-inform", form, "-in"])
                .arg(e.path())
                .output()
                .unwrap()
                .stdout;
            let got = hash::subject_hash(&der).map(|h| format!("{h:08x}"));
            assert_eq!(got.as_deref(), Some(&*want), "{}", e.path().display());
            checked += 1;
            break;
        }
    }
    assert!(checked > 20, "{checked} fixtures");
}

/// Append a DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// The children of a DER value's content (definite lengths only).
fn children(mut c: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !c.is_empty() {
        let (len, hdr) = match c[1] {
            l if l < 0x80 => (l as usize, 2),
            0x81 => (c[2] as usize, 3),
            0x82 => (((c[2] as usize) << 8) | c[3] as usize, 4),
            _ => panic!("length"),
        };
        out.push(&c[..hdr + len]);
        c = &c[hdr + len..];
    }
    out
}

fn content(tlv: &[u8]) -> &[u8] {
    match tlv[1] {
        l if l < 0x80 => &tlv[2..],
        0x81 => &tlv[3..],
        0x82 => &tlv[4..],
        _ => &tlv[5..],
    }
}

/// A certificate like `template` with `subject` (a DER Name) as its subject: openssl reads
/// the name without checking the signature.
fn with_subject(template: &[u8], subject: &[u8]) -> Vec<u8> {
    let cert = children(content(template));
    let tbs = children(content(cert[0]));
    let skip = usize::from(tbs[0][0] == 0xa0);
    let mut fields: Vec<Vec<u8>> = tbs.iter().map(|t| t.to_vec()).collect();
    fields[skip + 4] = subject.to_vec();
    let tbs = tlv(0x30, &fields.concat());
    tlv(0x30, &[tbs, cert[1].to_vec(), cert[2].to_vec()].concat())
}

/// A small deterministic generator (no seed to choose: the same subjects every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn random_value(g: &mut Lcg) -> Vec<u8> {
    const PIECES: &[&str] = &[
        "A", "b", "Z", " ", "  ", "\t", "x", "0", "-", "é", "É", "中", "Ω", "q",
    ];
    let tags: &[u8] = &[0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1e, 0x1c];
    let tag = tags[g.next(tags.len())];
    let mut s = String::new();
    for _ in 0..1 + g.next(8) {
        let p = PIECES[g.next(PIECES.len())];
        let ascii_only = matches!(tag, 0x13 | 0x16 | 0x1a);
        let latin1_only = tag == 0x14;
        if (ascii_only && !p.is_ascii()) || (latin1_only && p.chars().any(|c| c as u32 > 0xff)) {
            continue;
        }
        if tag == 0x13 && p == "\t" {
            continue;
        }
        s.push_str(p);
    }
    let bytes: Vec<u8> = match tag {
        0x14 => s.chars().map(|c| c as u32 as u8).collect(),
        0x1e => s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
        0x1c => s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
        _ => s.into_bytes(),
    };
    tlv(tag, &bytes)
}

fn random_name(g: &mut Lcg) -> Vec<u8> {
    const OIDS: &[&[u8]] = &[
        &[0x55, 0x04, 0x03],
        &[0x55, 0x04, 0x0a],
        &[0x55, 0x04, 0x0b],
        &[0x55, 0x04, 0x06],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
    ];
    let mut rdns = Vec::new();
    for _ in 0..1 + g.next(4) {
        let mut members = Vec::new();
        for _ in 0..1 + g.next(3) * g.next(2) {
            let oid = tlv(0x06, OIDS[g.next(OIDS.len())]);
            members.push(tlv(0x30, &[oid, random_value(g)].concat()));
        }
        rdns.push(tlv(0x31, &members.concat()));
    }
    tlv(0x30, &rdns.concat())
}

#[test]
fn subject_hash_matches_openssl_for_generated_subjects() {
    let template = der_of_pem(
        &std::fs::read(
            walkdir::WalkDir::new("/usr/share/ca-certificates/mozilla")
                .into_iter()
                .filter_map(|e| e.ok())
                .find(|e| e.file_type().is_file())
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut g = Lcg(18);
    let mut seen = HashSet::new();
    let mut made = BTreeMap::new();
    while made.len() < 3000 {
        let name = random_name(&mut g);
        if !seen.insert(name.clone()) {
            continue;
        }
        let der = with_subject(&template, &name);
        let file = format!("{}.pem", made.len());
        std::fs::write(dir.path().join(&file), pem(&der)).unwrap();
        made.insert(file, der);
    }
    let want = openssl_hashes(dir.path());
    let mut compared = 0;
    for (file, der) in &made {
        // A file openssl could not load (a VisibleString value) has no link, and no hash here
        // either: native refresh then leaves the tree to the real hook.
        let want = want.get(file).copied();
        assert_eq!(hash::subject_hash(der), want, "{file}: {}", pem(der));
        compared += usize::from(want.is_some());
    }
    assert!(compared > 1000, "{compared} compared");
}

mod differential;
mod modes;
mod oracle;
