//! Hand-built keystore bytes fed to `anchorage::input::decode`: the layout, the password
//! check (digests computed by `openssl dgst -sha1`, independent of anchorage's SHA-1), and
//! hostile lengths, counts and tags.

use std::io::Write;
use std::process::{Command, Stdio};

use anchorage::input::{decode, Container, DecodeError};

use crate::common::fx;

const JKS: u32 = 0xFEED_FEED;
const JCEKS: u32 = 0xCECE_CECE;

fn ca() -> Vec<u8> {
    std::fs::read(fx("myNewCa.crt")).unwrap()
}

fn utf(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn blob(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn header(magic: u32, version: u32, count: u32) -> Vec<u8> {
    [magic, version, count]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

fn trusted(out: &mut Vec<u8>, alias: &str, cert: &[u8]) {
    out.extend_from_slice(&2u32.to_be_bytes());
    utf(out, alias.as_bytes());
    out.extend_from_slice(&0x0000_0190_0000_0000u64.to_be_bytes());
    utf(out, b"X.509");
    blob(out, cert);
}

fn private_key(out: &mut Vec<u8>, chain: &[&[u8]]) {
    out.extend_from_slice(&1u32.to_be_bytes());
    utf(out, b"key");
    out.extend_from_slice(&0u64.to_be_bytes());
    blob(out, b"opaque protected key bytes");
    out.extend_from_slice(&(chain.len() as u32).to_be_bytes());
    for c in chain {
        utf(out, b"X.509");
        blob(out, c);
    }
}

/// SHA-1(password UTF-16BE ‖ "Mighty Aphrodite" ‖ body), by openssl.
fn digest(password: &str, body: &[u8]) -> Vec<u8> {
    let mut input: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    input.extend_from_slice(b"Mighty Aphrodite");
    input.extend_from_slice(body);
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha1", "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout.len(), 20);
    out.stdout
}

fn sealed(body: Vec<u8>, password: Option<&str>) -> Vec<u8> {
    let d = password.map_or(vec![0; 20], |p| digest(p, &body));
    [body, d].concat()
}

fn invalid(bytes: &[u8], want: &str) {
    match decode(bytes, None) {
        Err(DecodeError::Container {
            kind: Container::Keystore,
            msg,
        }) => assert!(msg.contains(want), "{msg}"),
        other => panic!("expected a keystore error ({want}), got {other:?}"),
    }
}

#[test]
fn a_hand_built_store_and_its_password() {
    let mut body = header(JKS, 2, 3);
    trusted(&mut body, "one", &ca());
    private_key(&mut body, &[b"not even DER", &ca()]);
    trusted(&mut body, "ünïcode alias", &ca());
    // The given password verifies; another one is a keystore error, not a PKCS#12 one.
    let store = sealed(body.clone(), Some("pässwörd"));
    let d = decode(&store, Some("pässwörd")).unwrap();
    assert_eq!((d.format, d.certs.len(), d.keys_ignored), ("jks", 2, 1));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    let e = decode(&store, Some("passwort")).unwrap_err();
    assert_eq!(e, DecodeError::WrongKeystorePassword);
    assert!(e.message().contains("keystore") && !e.message().contains("PKCS#12"));
    // No password: changeit does not match, so a note; changeit matching: no note.
    let d = decode(&store, None).unwrap();
    assert!(
        d.notes[0].contains("integrity not checked (no password"),
        "{:?}",
        d.notes
    );
    let d = decode(&sealed(body.clone(), Some("changeit")), None).unwrap();
    assert!(d.notes.is_empty());
    // JCEKS: the same layout under its own magic.
    body[..4].copy_from_slice(&JCEKS.to_be_bytes());
    assert_eq!(decode(&sealed(body, None), None).unwrap().format, "jceks");
}

#[test]
fn version_1_has_no_certificate_type() {
    let mut body = header(JKS, 1, 1);
    body.extend_from_slice(&2u32.to_be_bytes());
    utf(&mut body, b"v1");
    body.extend_from_slice(&0u64.to_be_bytes());
    blob(&mut body, &ca());
    assert_eq!(decode(&sealed(body, None), None).unwrap().certs.len(), 1);
    invalid(&sealed(header(JKS, 3, 0), None), "unsupported version 3");
}

#[test]
fn counts_and_lengths_are_bounded() {
    // An entry count that cannot fit (and would overflow any allocation).
    invalid(
        &sealed(header(JKS, 2, u32::MAX), None),
        "claims 4294967295 entries",
    );
    let mut body = header(JKS, 2, 2);
    trusted(&mut body, "a", &ca());
    invalid(&sealed(body, None), "truncated");
    // A certificate length past the end.
    let mut body = header(JKS, 2, 1);
    body.extend_from_slice(&2u32.to_be_bytes());
    utf(&mut body, b"a");
    body.extend_from_slice(&0u64.to_be_bytes());
    utf(&mut body, b"X.509");
    body.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    invalid(&sealed(body, None), "truncated");
    // A private key's chain count past the end.
    let mut body = header(JKS, 2, 1);
    body.extend_from_slice(&1u32.to_be_bytes());
    utf(&mut body, b"k");
    body.extend_from_slice(&0u64.to_be_bytes());
    blob(&mut body, b"key");
    body.extend_from_slice(&u32::MAX.to_be_bytes());
    invalid(&sealed(body, None), "chain of 4294967295");
    // Too short for a header and a digest; bytes left over before the digest.
    invalid(&header(JKS, 2, 0), "truncated");
    let mut body = header(JKS, 2, 1);
    trusted(&mut body, "a", &ca());
    body.push(0);
    invalid(&sealed(body, None), "1 unexpected bytes");
}

#[test]
fn tags_and_types() {
    for (magic, tag, want) in [
        (JKS, 7u32, "unknown tag 7"),
        (JKS, 3, "unknown tag 3"),
        (JCEKS, 0, "unknown tag 0"),
    ] {
        let mut body = header(magic, 2, 1);
        body.extend_from_slice(&tag.to_be_bytes());
        utf(&mut body, b"x");
        body.extend_from_slice(&[0; 16]);
        invalid(&sealed(body, None), want);
    }
    let mut body = header(JCEKS, 2, 1);
    body.extend_from_slice(&3u32.to_be_bytes());
    utf(&mut body, b"aes");
    body.extend_from_slice(&[0xAC, 0xED, 0, 5]);
    body.extend_from_slice(&[0; 16]);
    match decode(&sealed(body, None), None) {
        Err(e @ DecodeError::Unsupported(_)) => {
            assert!(e.message().contains("secret-key entries are not supported"));
            assert!(e.hint().contains("-deststoretype pkcs12"));
        }
        other => panic!("{other:?}"),
    }
    let mut body = header(JKS, 2, 1);
    body.extend_from_slice(&2u32.to_be_bytes());
    utf(&mut body, b"pgp");
    body.extend_from_slice(&0u64.to_be_bytes());
    utf(&mut body, b"PGP");
    blob(&mut body, &ca());
    invalid(&sealed(body, None), "type 'PGP', not X.509");
    // A trusted entry that is not a certificate goes through the DER checks.
    let mut body = header(JKS, 2, 1);
    trusted(&mut body, "junk", b"\x30\x03\x02\x01\x01");
    invalid(
        &sealed(body, None),
        "trusted certificate #1 ('junk'): malformed",
    );
    // Only a private key; no entries at all.
    let mut body = header(JKS, 2, 1);
    private_key(&mut body, &[&ca()]);
    assert_eq!(
        decode(&sealed(body, None), None).unwrap_err(),
        DecodeError::OnlyKeys
    );
    let e = decode(&sealed(header(JKS, 2, 0), None), None).unwrap_err();
    assert!(matches!(e, DecodeError::NoCertificate(_)), "{e:?}");
}

#[test]
fn every_prefix_is_an_error_not_a_panic() {
    let mut body = header(JCEKS, 2, 2);
    private_key(&mut body, &[&ca()]);
    trusted(&mut body, "a", &ca());
    let store = sealed(body, Some("changeit"));
    assert!(decode(&store, None).unwrap().notes.is_empty());
    for n in 0..store.len() {
        assert!(decode(&store[..n], Some("changeit")).is_err(), "prefix {n}");
    }
}
