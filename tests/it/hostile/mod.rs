//! Hostile-input corpus: every bad input gives exit 65 (bad input) or 66 (missing source) with
//! the file named, never a panic, never a hang, and leaves the `--root` tree byte-identical.
//!
//! The corpus is generated at test time, deterministically (fixed PRNG seed), from the valid
//! fixtures that `tests/fixtures/make-fixtures.sh` makes (see `fixtures.rs`):
//! random bytes, truncated DER at many offsets, corrupt base64, empty PEM blocks, huge DER
//! lengths, deeply nested ASN.1, PKCS#12 with a wrong MAC / hostile iteration counts / scrypt
//! parameters / no certificates, PKCS#7 without certificates, keys only, files over the 64 MiB
//! cap (sparse), binary with embedded PEM markers, non-UTF-8 names, FIFOs, devices, sockets,
//! symbolic-link loops, and mixes of good and bad sources. Each item runs the real binary twice
//! (text and `--format json`) under a 10 s deadline against a temporary Debian-layout tree.

pub mod fixtures;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anchorage::input::{asn1, MAX_INPUT};
use fixtures::{fixtures, P12_PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_anchorage");
/// A run that takes longer than this is a hang: it is killed and the item fails.
const DEADLINE: Duration = Duration::from_secs(10);
const SEED: u64 = 0x5eed_a11c_e5c0_ffee;

const BAD_INPUT: u8 = 65;
const NO_INPUT: u8 = 66;

// ---------------------------------------------------------------------------------------------
// Deterministic bytes and a tiny DER builder.

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

fn der_len(n: usize) -> Vec<u8> {
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

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn int(v: u64) -> Vec<u8> {
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

fn oid(dotted: &str) -> Vec<u8> {
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

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";

/// Child `i` of a constructed value (or of DER inside an OCTET STRING).
fn child<'a>(tlv: &asn1::Tlv<'a>, i: usize) -> asn1::Tlv<'a> {
    asn1::children(tlv.content, 1).expect("well-formed fixture")[i]
}

fn offset_of(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// `bytes` with `new` in place of `bytes[at..at + old_len]`.
fn splice(bytes: &[u8], at: usize, old_len: usize, new: &[u8]) -> Vec<u8> {
    [&bytes[..at], new, &bytes[at + old_len..]].concat()
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    anchorage::cert::pem_encode(label, der).into_bytes()
}

fn nested_definite(depth: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..depth {
        v = tlv(0x30, &v);
    }
    v
}

fn nested_indefinite(depth: usize, terminated: bool) -> Vec<u8> {
    let mut v = [0x30, 0x80].repeat(depth);
    if terminated {
        v.extend([0, 0].repeat(depth));
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/// What the error message must name.
#[derive(Debug, Clone)]
enum Named {
    /// Exactly this path (`PATH: message`).
    Exact(PathBuf),
    /// A path under this directory (the walker reports the entry it tripped on).
    Under(PathBuf),
}

#[derive(Debug)]
struct Item {
    name: String,
    /// Arguments after `install --no-update`.
    args: Vec<OsString>,
    /// A file for standard input (otherwise /dev/null).
    stdin: Option<PathBuf>,
    expect: u8,
    named: Named,
}

struct Corpus {
    dir: PathBuf,
    items: Vec<Item>,
}

impl Corpus {
    fn path(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.dir.join(name.as_ref())
    }

    fn push(&mut self, name: &str, args: Vec<OsString>, expect: u8, named: Named) {
        assert!(
            !self.items.iter().any(|i| i.name == name),
            "duplicate corpus item {name}"
        );
        self.items.push(Item {
            name: name.to_string(),
            args,
            stdin: None,
            expect,
            named,
        });
    }

    /// Write `bytes` to the file `name` and expect `install FILE` to fail with 65 naming it.
    fn bad_file(&mut self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write corpus file");
        self.push(
            name,
            vec![path.clone().into()],
            BAD_INPUT,
            Named::Exact(path.clone()),
        );
        path
    }

    /// Like `bad_file` but with extra arguments (for example `--password-file`) first.
    fn bad_file_with(&mut self, name: &str, bytes: &[u8], before: &[&OsStr]) {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write corpus file");
        let mut args: Vec<OsString> = before.iter().map(|a| a.to_os_string()).collect();
        args.push(path.clone().into());
        self.push(name, args, BAD_INPUT, Named::Exact(path));
    }

    fn mkdir(&self, name: impl AsRef<OsStr>) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(&path).expect("mkdir");
        path
    }
}

fn build_corpus(dir: &Path) -> Corpus {
    let fx = fixtures();
    let mut c = Corpus {
        dir: dir.to_path_buf(),
        items: Vec::new(),
    };
    let mut rng = Rng(SEED);
    let der = fx.get("myNewCa.crt");
    let pem_text = fx.get("myNewCa.pem");

    // --- random bytes ------------------------------------------------------------------------
    for n in [1usize, 2, 3, 16, 64, 256, 1024, 4096, 65_536, 1 << 20] {
        let bytes = rng.bytes(n);
        c.bad_file(&format!("random-{n:07}.bin"), &bytes);
    }
    for n in [100usize, 1000, 5000] {
        // Random content behind a plausible DER certificate header.
        let mut bytes = vec![0x30, 0x82, (n >> 8) as u8, n as u8];
        bytes.extend(rng.bytes(n));
        c.bad_file(&format!("random-der-header-{n}.crt"), &bytes);
        let mut bytes = vec![0x30, 0x80];
        bytes.extend(rng.bytes(n));
        c.bad_file(&format!("random-indefinite-header-{n}.crt"), &bytes);
    }
    let random = rng.bytes(900);
    c.bad_file("random-base64-in-pem.pem", &pem("CERTIFICATE", &random));

    // --- truncated DER and PEM ---------------------------------------------------------------
    let len = der.len();
    let offsets = [
        0,
        1,
        2,
        3,
        4,
        5,
        8,
        16,
        32,
        64,
        128,
        256,
        400,
        512,
        700,
        len - 100,
        len - 10,
        len - 2,
        len - 1,
    ];
    for at in offsets {
        c.bad_file(&format!("truncated-der-at-{at:04}.crt"), &der[..at]);
    }
    let plen = pem_text.len();
    // (A cut inside the END line leaves the certificate complete, and is accepted.)
    for at in [11, 28, 100, plen / 2, plen - 40, plen - 27, plen - 26] {
        c.bad_file(&format!("truncated-pem-at-{at:04}.pem"), &pem_text[..at]);
    }
    for (fixture, ext) in [
        ("default.p12", "p12"),
        ("bundle-der.p7b", "p7b"),
        ("signed-ber.p7m", "p7m"),
    ] {
        let bytes = fx.get(fixture);
        let stem = fixture.split('.').next().unwrap_or(fixture);
        for at in [40, bytes.len() / 2, bytes.len() - 2, bytes.len() - 1] {
            c.bad_file(&format!("truncated-{stem}-at-{at:04}.{ext}"), &bytes[..at]);
        }
    }

    // --- corrupt base64 ----------------------------------------------------------------------
    // Bit flips in the 6-bit values of the first four base64 characters: they encode the outer
    // SEQUENCE tag and length, so every flip breaks the structure whatever the key material.
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body = pem_text
        .iter()
        .position(|&b| b == b'\n')
        .expect("PEM header line")
        + 1;
    for ch in 0..4 {
        for bit in 0..6 {
            let mut bytes = pem_text.to_vec();
            let value = B64
                .iter()
                .position(|&b| b == bytes[body + ch])
                .expect("base64 char");
            bytes[body + ch] = B64[value ^ (1 << bit)];
            c.bad_file(&format!("base64-flip-char{ch}-bit{bit}.pem"), &bytes);
        }
    }
    for at in [0, 10, 100, 500, 1000] {
        let mut bytes = pem_text.to_vec();
        bytes[body + at] = b'*';
        c.bad_file(&format!("base64-invalid-char-at-{at:04}.pem"), &bytes);
        let bytes = splice(pem_text, body + at, 1, b"");
        c.bad_file(&format!("base64-deleted-char-at-{at:04}.pem"), &bytes);
    }
    let bytes = splice(pem_text, body + 200, 0, b"\0\0\0\0");
    c.bad_file("base64-with-nul-bytes.pem", &bytes);
    let utf16: Vec<u8> = pem_text.iter().flat_map(|&b| [b, 0]).collect();
    c.bad_file("pem-as-utf16le.pem", &utf16);

    // --- PEM structure -----------------------------------------------------------------------
    const EMPTY_BLOCK: &[u8] = b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    c.bad_file("pem-empty-block.pem", EMPTY_BLOCK);
    c.bad_file(
        "pem-empty-block-then-valid.pem",
        &[EMPTY_BLOCK, pem_text].concat(),
    );
    c.bad_file(
        "pem-valid-then-empty-block.pem",
        &[pem_text, EMPTY_BLOCK].concat(),
    );
    c.bad_file("pem-begin-only.pem", b"-----BEGIN CERTIFICATE-----\n");
    c.bad_file("pem-begin-marker-only.pem", b"-----BEGIN ");
    c.bad_file(
        "pem-20000-begin-lines.pem",
        &b"-----BEGIN CERTIFICATE-----\n".repeat(20_000),
    );
    let mut bytes = fx.get("garbage.bin").to_vec();
    bytes.splice(2000..2000, b"-----BEGIN CERTIFICATE-----\n".iter().copied());
    c.bad_file("binary-with-begin-marker.bin", &bytes);
    let mut bytes = rng.bytes(3000);
    bytes.splice(
        1000..1000,
        b"\n-----BEGIN CERTIFICATE-----\n".iter().copied(),
    );
    bytes.splice(2000..2000, b"\n-----END CERTIFICATE-----\n".iter().copied());
    c.bad_file("binary-with-begin-and-end-markers.bin", &bytes);
    c.bad_file(
        "der-then-pem-marker.crt",
        &[der, b"-----BEGIN CERTIFICATE-----\n".as_slice()].concat(),
    );
    c.bad_file(
        "pem-unknown-label-only.pem",
        &pem("X509 CRL", &rng.bytes(200)),
    );
    c.bad_file("pem-certificate-request.pem", fx.get("myNewCa-csr.pem"));
    c.bad_file("pem-pkcs7-garbage.pem", &pem("PKCS7", &rng.bytes(300)));
    c.bad_file(
        "pem-certificate-holding-a-key.pem",
        &pem("CERTIFICATE", fx.get("key-only.der")),
    );
    let many = pem("X", b"").repeat((4 << 20) / pem("X", b"").len());
    c.bad_file("pem-4mib-of-unknown-blocks.pem", &many);
    let mut bytes = pem_text.repeat((2 << 20) / pem_text.len());
    bytes.extend(b"-----BEGIN CERTIFICATE-----\nAAAA*AAA\n-----END CERTIFICATE-----\n");
    c.bad_file("pem-2mib-valid-then-corrupt.pem", &bytes);

    // --- DER structure -----------------------------------------------------------------------
    c.bad_file("der-trailing-garbage.crt", &[der, &rng.bytes(16)].concat());
    // Class/constructed bits flipped: x509-parser checks only tag numbers, OpenSSL refuses these.
    assert_eq!(der[8], 0xa0);
    for (name, at, tag) in [
        ("outer-0x10", 0, 0x10),
        ("tbs-0xb0", 4, 0xb0),
        ("tbs-0x10", 4, 0x10),
        ("version-0x80", 8, 0x80),
    ] {
        let mut bytes = der.to_vec();
        bytes[at] = tag;
        c.bad_file(
            &format!("tag-class-{name}.pem"),
            &pem("CERTIFICATE", &bytes),
        );
        c.bad_file(&format!("tag-class-{name}.crt"), &bytes);
    }
    c.bad_file("der-csr.der", fx.get("myNewCa.csr"));
    // Huge lengths: the outer SEQUENCE header 30 82 LL LL patched.
    assert_eq!(&der[..2], [0x30, 0x82]);
    let huge = [
        ("outer-84ffffffff", vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
        ("outer-847fffffff", vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]),
        (
            "outer-88ff",
            vec![0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        ("outer-ff-length-octets", vec![0x30, 0xff]),
        ("outer-length-zero", vec![0x30, 0x00]),
    ];
    for (name, header) in &huge {
        let bytes = splice(der, 0, 4, header);
        c.bad_file(&format!("der-huge-length-{name}.crt"), &bytes);
        if *name == "outer-84ffffffff" {
            c.bad_file(
                &format!("pem-huge-length-{name}.pem"),
                &pem("CERTIFICATE", &bytes),
            );
        }
    }
    assert_eq!(&der[4..6], [0x30, 0x82]);
    c.bad_file(
        "der-huge-length-tbs-84ffffffff.crt",
        &splice(der, 4, 4, &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    );
    let p7 = fx.get("bundle-der.p7b");
    c.bad_file(
        "p7-huge-length-84ffffffff.p7b",
        &splice(p7, 0, 4, &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    );
    c.bad_file(
        "primitive-indefinite-length.crt",
        &[0x04, 0x80, 0x01, 0x02, 0x00, 0x00],
    );
    c.bad_file("high-tag-number.crt", &[0x3f, 0x81, 0x00, 0x00]);

    // --- deeply nested ASN.1 -----------------------------------------------------------------
    let deep = nested_definite(10_000);
    c.bad_file("nested-10k-definite.der", &deep);
    c.bad_file(
        "nested-10k-indefinite.der",
        &nested_indefinite(10_000, true),
    );
    c.bad_file(
        "nested-100k-indefinite-unterminated.der",
        &nested_indefinite(100_000, false),
    );
    c.bad_file("nested-10k-definite-in-pem.pem", &pem("CERTIFICATE", &deep));
    c.bad_file(
        "nested-10k-indefinite-in-pem.pem",
        &pem("CERTIFICATE", &nested_indefinite(10_000, true)),
    );
    let p7_deep = seq(&[&oid(OID_SIGNED_DATA), &tlv(0xa0, &deep)]);
    c.bad_file("nested-10k-in-pkcs7.p7b", &p7_deep);
    let p12_deep = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &deep))]),
    ]);
    c.bad_file("nested-10k-in-pkcs12.p12", &p12_deep);
    let wide = tlv(0x30, &[0x30, 0x00].repeat(500_000));
    c.bad_file("wide-500k-empty-sequences.der", &wide);

    // --- PKCS#12 -----------------------------------------------------------------------------
    let p12 = fx.get("default.p12");
    let (pfx, _) = asn1::read(p12, 0).expect("default.p12 parses");
    let mac_data = child(&pfx, 2);
    let digest = child(&child(&mac_data, 0), 1);
    let mut bytes = p12.to_vec();
    bytes[offset_of(p12, digest.content)] ^= 0x01;
    let pw_file = c.path("password.txt");
    fs::write(&pw_file, format!("{P12_PASSWORD}\n")).expect("write password file");
    let pw_arg = pw_file.as_os_str();
    c.bad_file_with(
        "p12-flipped-mac-byte.p12",
        &bytes,
        &[OsStr::new("--password-file"), pw_arg],
    );
    c.bad_file("p12-flipped-mac-byte-no-password.p12", &bytes);
    c.bad_file("p12-no-password-given.p12", p12);
    let wrong_pw = c.path("wrong-password.txt");
    fs::write(&wrong_pw, "not the password\n").expect("write password file");
    for fixture in ["default.p12", "legacy.p12", "des3.pfx"] {
        c.bad_file_with(
            &format!("p12-wrong-password-{fixture}"),
            fx.get(fixture),
            &[OsStr::new("--password-file"), wrong_pw.as_os_str()],
        );
    }
    // Without its MacData the file is still refused: the empty password does not decrypt it.
    let no_mac = seq(&[child(&pfx, 0).raw, child(&pfx, 1).raw]);
    c.bad_file("p12-mac-stripped.p12", &no_mac);

    // Iteration counts: p12-iter65536.p12 encodes 65536 as 02 03 01 00 00 in the MacData and
    // in the PBKDF2-params; patch them in place to hostile values.
    let it = fx.get("p12-iter65536.p12");
    let (it_pfx, _) = asn1::read(it, 0).expect("p12-iter65536.p12 parses");
    let mac_iter = child(&child(&it_pfx, 2), 2);
    assert_eq!(mac_iter.raw, [0x02, 0x03, 0x01, 0x00, 0x00]);
    let safes = child(&child(&child(&child(&it_pfx, 1), 1), 0), 0);
    let encrypted_data = child(&child(&child(&safes, 0), 1), 0);
    let pbes2_params = child(&child(&child(&encrypted_data, 1), 1), 1);
    let pbkdf2_iter = child(&child(&child(&pbes2_params, 0), 1), 1);
    assert_eq!(pbkdf2_iter.raw, [0x02, 0x03, 0x01, 0x00, 0x00]);
    for (name, value) in [
        ("7fffff", [0x7f, 0xff, 0xff]),
        ("ffffff-negative", [0xff, 0xff, 0xff]),
        ("000000-non-minimal-zero", [0x00, 0x00, 0x00]),
        ("0f4241-1000001", [0x0f, 0x42, 0x41]),
    ] {
        let at = offset_of(it, mac_iter.content);
        c.bad_file(
            &format!("p12-mac-iterations-{name}.p12"),
            &splice(it, at, 3, &value),
        );
        let at = offset_of(it, pbkdf2_iter.content);
        c.bad_file(
            &format!("p12-pbkdf2-iterations-{name}.p12"),
            &splice(it, at, 3, &value),
        );
    }
    // 40 copies of a legal 1,000,000-iteration EncryptedData (valid under the empty password):
    // 40 PBKDF2 runs in a 40 KiB file, hours for 64 MiB.
    let one = fx.get("p12-1m-nomac.p12");
    let (one_pfx, _) = asn1::read(one, 0).expect("p12-1m-nomac.p12 parses");
    let auth_safe = child(&one_pfx, 1);
    let one_safes = child(&child(&child(&auth_safe, 1), 0), 0);
    assert_eq!(child(&child(&one_safes, 0), 0).raw, oid(OID_ENCRYPTED_DATA));
    let repeated = tlv(0x30, &one_safes.content.repeat(40));
    let dos = seq(&[
        child(&one_pfx, 0).raw,
        &seq(&[child(&auth_safe, 0).raw, &tlv(0xa0, &tlv(0x04, &repeated))]),
    ]);
    c.bad_file("p12-40x-1m-iterations.p12", &dos);
    // PBES2 with scrypt N=2^19, r=16, p=16: 1 GiB and minutes of work for 250 bytes.
    let scrypt = |n: u64, r: u64, p: u64| {
        let kdf = seq(&[
            &oid("1.3.6.1.4.1.11591.4.11"),
            &seq(&[&tlv(0x04, b"saltsalt"), &int(n), &int(r), &int(p)]),
        ]);
        let cipher = seq(&[&oid("2.16.840.1.101.3.4.1.42"), &tlv(0x04, &[0u8; 16])]);
        let alg = seq(&[&oid("1.2.840.113549.1.5.13"), &seq(&[&kdf, &cipher])]);
        let eci = seq(&[&oid(OID_DATA), &alg, &tlv(0x80, &[0u8; 16])]);
        let ci = seq(&[&oid(OID_ENCRYPTED_DATA), &tlv(0xa0, &seq(&[&int(0), &eci]))]);
        seq(&[
            &int(3),
            &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &seq(&[&ci])))]),
        ])
    };
    c.bad_file("p12-scrypt-n524288-r16-p16.p12", &scrypt(1 << 19, 16, 16));
    c.bad_file(
        "p12-scrypt-n1024-r8-p1-bad-ciphertext.p12",
        &scrypt(1 << 10, 8, 1),
    );
    c.bad_file(
        "p12-no-certificates-keys-only.p12",
        fx.get("p12-nocerts.p12"),
    );
    let empty_safe = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &seq(&[])))]),
    ]);
    c.bad_file("p12-empty-authenticated-safe.p12", &empty_safe);
    let garbage_safe = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &rng.bytes(500)))]),
    ]);
    c.bad_file("p12-garbage-authenticated-safe.p12", &garbage_safe);
    c.bad_file("p12-version-3-only.p12", &seq(&[&int(3)]));

    // --- PKCS#7 ------------------------------------------------------------------------------
    c.bad_file("p7-empty.p7b", fx.get("p7-empty.p7b"));
    c.bad_file("p7-empty-der.p7b", fx.get("p7-empty-der.p7b"));
    c.bad_file("p7-oid-only.p7b", &seq(&[&oid(OID_SIGNED_DATA)]));
    c.bad_file(
        "p7-content-not-explicit.p7b",
        &seq(&[&oid(OID_SIGNED_DATA), &int(1)]),
    );
    let first = asn1::pkcs7_certificates(p7).expect("bundle-der.p7b parses")[0];
    let mut bytes = p7.to_vec();
    bytes[offset_of(p7, first) + 4] = 0x31; // tbsCertificate SEQUENCE -> SET
    c.bad_file("p7-corrupt-certificate.p7b", &bytes);
    bytes[offset_of(p7, first) + 4] = 0xb0; // tbsCertificate SEQUENCE -> [16] constructed
    c.bad_file("p7-certificate-tag-class-flipped.p7b", &bytes);

    // --- keys only ---------------------------------------------------------------------------
    for fixture in ["key-only.pem", "key-only.der", "tls.key", "myNewCa.key"] {
        c.bad_file(&format!("keys-only-{fixture}"), fx.get(fixture));
    }
    c.bad_file("readme.txt", fx.get("readme.txt"));
    c.bad_file("garbage.bin", fx.get("garbage.bin"));
    c.bad_file("empty-file.crt", b"");
    c.bad_file("single-newline.pem", b"\n");

    // --- sizes (sparse: nothing is really written) -------------------------------------------
    let over = c.path("over-64mib-by-one.crt");
    File::create(&over)
        .and_then(|f| f.set_len(MAX_INPUT + 1))
        .expect("sparse file");
    c.push(
        "over-64mib-by-one.crt",
        vec![over.clone().into()],
        BAD_INPUT,
        Named::Exact(over),
    );
    let exact = c.path("exactly-64mib-of-zeros.crt");
    File::create(&exact)
        .and_then(|f| f.set_len(MAX_INPUT))
        .expect("sparse file");
    c.push(
        "exactly-64mib-of-zeros.crt",
        vec![exact.clone().into()],
        BAD_INPUT,
        Named::Exact(exact),
    );
    let big_dir = c.mkdir("dir-with-oversized-file");
    fs::write(big_dir.join("a-valid.pem"), pem_text).expect("write");
    let big = big_dir.join("b-huge.crt");
    File::create(&big)
        .and_then(|f| f.set_len(MAX_INPUT + 1))
        .expect("sparse file");
    c.push(
        "dir-with-oversized-file",
        vec![big_dir.into()],
        BAD_INPUT,
        Named::Exact(big),
    );

    // --- file system: names, special files, links --------------------------------------------
    let odd_dir = c.mkdir("dir-with-non-utf8-name");
    let odd = odd_dir.join(OsStr::from_bytes(b"bad-\xff\xfe-\xc0\x80.crt"));
    fs::write(&odd, &der[..300]).expect("write non-UTF-8 name");
    c.push(
        "non-utf8-file-name-in-dir",
        vec![odd_dir.into()],
        BAD_INPUT,
        Named::Exact(odd),
    );
    let odd_parent = c.mkdir("dir-with-non-utf8-subdir");
    let odd_sub = odd_parent.join(OsStr::from_bytes(b"sub-\xe9t\xe9-latin1"));
    fs::create_dir(&odd_sub).expect("mkdir non-UTF-8 name");
    let odd_child = odd_sub.join("empty-block.pem");
    fs::write(&odd_child, EMPTY_BLOCK).expect("write");
    c.push(
        "non-utf8-dir-name",
        vec![odd_parent.into()],
        BAD_INPUT,
        Named::Exact(odd_child),
    );

    let fifo = c.path("a.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    c.push(
        "fifo",
        vec![fifo.clone().into()],
        BAD_INPUT,
        Named::Exact(fifo.clone()),
    );
    let fifo_dir = c.mkdir("dir-with-only-a-fifo");
    nix::unistd::mkfifo(
        &fifo_dir.join("pipe.pem"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("mkfifo");
    symlink("/dev/zero", fifo_dir.join("zero.pem")).expect("symlink");
    c.push(
        "dir-with-only-a-fifo-and-dev-zero",
        vec![fifo_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(fifo_dir),
    );
    for dev in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        c.push(dev, vec![dev.into()], BAD_INPUT, Named::Exact(dev.into()));
    }
    let zero_link = c.path("dev-zero-link.crt");
    symlink("/dev/zero", &zero_link).expect("symlink");
    c.push(
        "symlink-to-dev-zero",
        vec![zero_link.clone().into()],
        BAD_INPUT,
        Named::Exact(zero_link),
    );
    let sock = c.path("a.sock");
    std::os::unix::net::UnixListener::bind(&sock).expect("bind socket");
    c.push(
        "unix-socket",
        vec![sock.clone().into()],
        BAD_INPUT,
        Named::Exact(sock),
    );

    // Directory loops through symbolic links.
    let loop_inner = c.mkdir("loop-parent/inner");
    symlink("..", loop_inner.join("loop")).expect("symlink");
    fs::write(loop_inner.join("z-corrupt.crt"), &der[..500]).expect("write");
    c.push(
        "dir-loop-to-parent",
        vec![loop_inner.clone().into()],
        BAD_INPUT,
        Named::Under(loop_inner),
    );
    let loop_self = c.mkdir("loop-self");
    fs::write(loop_self.join("a-corrupt.crt"), &der[..500]).expect("write");
    symlink(".", loop_self.join("self")).expect("symlink");
    c.push(
        "dir-loop-self-corrupt-first",
        vec![loop_self.clone().into()],
        BAD_INPUT,
        Named::Under(loop_self),
    );
    let loop_valid = c.mkdir("loop-self-with-valid-cert");
    symlink(".", loop_valid.join("self")).expect("symlink");
    fs::write(loop_valid.join("z-valid.pem"), pem_text).expect("write");
    c.push(
        "dir-loop-self-with-valid-cert",
        vec![loop_valid.clone().into()],
        BAD_INPUT,
        Named::Under(loop_valid),
    );
    let link_loop_dir = c.mkdir("file-link-loop");
    fs::write(link_loop_dir.join("a-valid.pem"), pem_text).expect("write");
    symlink("b-loop", link_loop_dir.join("b-loop")).expect("symlink");
    let looped = link_loop_dir.join("b-loop");
    c.push(
        "dir-with-self-referencing-link",
        vec![link_loop_dir.into()],
        BAD_INPUT,
        Named::Exact(looped),
    );
    let self_link = c.path("self-link.crt");
    symlink("self-link.crt", &self_link).expect("symlink");
    c.push(
        "self-referencing-link",
        vec![self_link.clone().into()],
        BAD_INPUT,
        Named::Exact(self_link),
    );
    let (ping, pong) = (c.path("ping.crt"), c.path("pong.crt"));
    symlink("pong.crt", &ping).expect("symlink");
    symlink("ping.crt", &pong).expect("symlink");
    c.push(
        "two-link-loop",
        vec![ping.clone().into()],
        BAD_INPUT,
        Named::Exact(ping),
    );

    let long = c.path("x".repeat(300));
    c.push(
        "name-too-long",
        vec![long.clone().into()],
        BAD_INPUT,
        Named::Exact(long),
    );
    let empty_dir = c.mkdir("empty-dir");
    c.push(
        "empty-dir",
        vec![empty_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(empty_dir),
    );
    let junk_dir = c.mkdir("dir-with-only-junk");
    fs::write(junk_dir.join("garbage.bin"), fx.get("garbage.bin")).expect("write");
    fs::write(junk_dir.join("key.pem"), fx.get("key-only.pem")).expect("write");
    fs::write(junk_dir.join("readme.txt"), fx.get("readme.txt")).expect("write");
    c.push(
        "dir-with-only-junk",
        vec![junk_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(junk_dir),
    );
    let mixed_dir = c.mkdir("dir-valid-and-corrupt");
    fs::write(mixed_dir.join("a-valid.pem"), pem_text).expect("write");
    let corrupt = mixed_dir.join("b-corrupt.crt");
    fs::write(&corrupt, &der[..600]).expect("write");
    c.push(
        "dir-valid-and-corrupt",
        vec![mixed_dir.into()],
        BAD_INPUT,
        Named::Exact(corrupt),
    );

    // Missing sources (66).
    let missing = c.path("does-not-exist.crt");
    c.push(
        "missing",
        vec![missing.clone().into()],
        NO_INPUT,
        Named::Exact(missing.clone()),
    );
    let dangling = c.path("dangling.crt");
    symlink("nowhere.crt", &dangling).expect("symlink");
    c.push(
        "dangling-symlink",
        vec![dangling.clone().into()],
        NO_INPUT,
        Named::Exact(dangling),
    );
    let through_file = c.path("garbage.bin").join("child.crt");
    c.push(
        "path-through-a-file",
        vec![through_file.clone().into()],
        NO_INPUT,
        Named::Exact(through_file),
    );

    // Good and bad sources together: nothing is installed.
    let valid = c.path("valid.pem");
    fs::write(&valid, pem_text).expect("write");
    let bad = c.path("truncated-der-at-0512.crt");
    c.push(
        "valid-then-bad",
        vec![valid.clone().into(), bad.clone().into()],
        BAD_INPUT,
        Named::Exact(bad.clone()),
    );
    c.push(
        "bad-then-valid",
        vec![bad.clone().into(), valid.clone().into()],
        BAD_INPUT,
        Named::Exact(bad),
    );
    c.push(
        "valid-then-missing",
        vec![valid.into(), missing.clone().into()],
        NO_INPUT,
        Named::Exact(missing),
    );

    // Standard input.
    let dash = PathBuf::from("-");
    c.items.push(Item {
        name: "stdin-dev-zero".into(),
        args: vec!["-".into()],
        stdin: Some("/dev/zero".into()),
        expect: BAD_INPUT,
        named: Named::Exact(dash.clone()),
    });
    c.items.push(Item {
        name: "stdin-garbage".into(),
        args: vec!["-".into()],
        stdin: Some(c.path("garbage.bin")),
        expect: BAD_INPUT,
        named: Named::Exact(dash.clone()),
    });
    c.items.push(Item {
        name: "stdin-empty".into(),
        args: vec!["-".into()],
        stdin: None,
        expect: BAD_INPUT,
        named: Named::Exact(dash),
    });
    c
}

// ---------------------------------------------------------------------------------------------
// The tree and its snapshot.

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Link { target: PathBuf },
    Other { mode: u32 },
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("read tree")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let mode = meta.mode();
            let node = if meta.file_type().is_symlink() {
                Node::Link {
                    target: fs::read_link(&path).expect("readlink"),
                }
            } else if meta.is_dir() {
                walk(root, &path, out);
                Node::Dir { mode }
            } else if meta.is_file() {
                Node::File {
                    mode,
                    bytes: fs::read(&path).expect("read tree file"),
                }
            } else {
                Node::Other { mode }
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    out.insert(
        PathBuf::from("."),
        Node::Dir {
            mode: fs::metadata(root).expect("root").mode(),
        },
    );
    walk(root, root, &mut out);
    out
}

fn describe_changes(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>) -> String {
    let mut changes = Vec::new();
    for (path, node) in after {
        match before.get(path) {
            None => changes.push(format!("added {}", path.display())),
            Some(old) if old != node => changes.push(format!("changed {}", path.display())),
            _ => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        changes.push(format!("removed {}", path.display()));
    }
    changes.join(", ")
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ft = entry.file_type().expect("file type");
        if ft.is_symlink() {
            symlink(fs::read_link(&src).expect("readlink"), &dst).expect("symlink");
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else if ft.is_file() {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// A Debian-layout `--root` tree: the host's CA certificates and ca-certificates.conf.
fn debian_tree(root: &Path) {
    let share = Path::new("/usr/share/ca-certificates");
    if share.is_dir() {
        copy_tree(share, &root.join("usr/share/ca-certificates"));
    } else {
        fs::create_dir_all(root.join("usr/share/ca-certificates")).expect("mkdir");
    }
    fs::create_dir_all(root.join("etc/ssl/certs")).expect("mkdir");
    fs::create_dir_all(root.join("usr/local/share/ca-certificates")).expect("mkdir");
    let conf = fs::read("/etc/ca-certificates.conf").unwrap_or_default();
    fs::write(root.join("etc/ca-certificates.conf"), conf).expect("write conf");
    fs::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .expect("write os-release");
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

struct Run {
    code: Option<i32>,
    timed_out: bool,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

fn run_anchorage(root: &Path, scratch: &Path, item: &Item, json: bool) -> Run {
    let (out_path, err_path) = (scratch.join("stdout"), scratch.join("stderr"));
    let mut cmd = Command::new(BIN);
    cmd.arg("--root").arg(root);
    if json {
        cmd.args(["--format", "json"]);
    }
    cmd.args(["install", "--no-update"]).args(&item.args);
    for var in [
        "ANCHORAGE_ROOT",
        "ANCHORAGE_PLATFORM",
        "ANCHORAGE_FORMAT",
        "ANCHORAGE_PASSWORD",
        "ANCHORAGE_HOOK_TIMEOUT",
        "ANCHORAGE_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(match &item.stdin {
        Some(path) => Stdio::from(File::open(path).expect("open stdin file")),
        None => Stdio::null(),
    });
    cmd.stdout(File::create(&out_path).expect("stdout file"));
    cmd.stderr(File::create(&err_path).expect("stderr file"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn anchorage");
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (Some(status), false);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    Run {
        code: status.and_then(|s| s.code()),
        timed_out,
        elapsed: start.elapsed(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Everything that is wrong with one run (empty: it passed).
fn judge(item: &Item, run: &Run, json: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if run.timed_out {
        problems.push(format!("hung: killed after {:?}", DEADLINE));
        return problems;
    }
    if run.code != Some(i32::from(item.expect)) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            run.code, item.expect
        ));
    }
    if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
        problems.push("panicked".into());
    }
    let (named, exact) = match &item.named {
        Named::Exact(p) => (p.display().to_string(), true),
        Named::Under(p) => (p.display().to_string(), false),
    };
    let in_message = if exact {
        format!("{named}: ")
    } else {
        format!("{named}/")
    };
    if !run.stderr.contains(&in_message) {
        problems.push(format!("stderr does not name {in_message:?}"));
    }
    if json {
        match serde_json::from_str::<serde_json::Value>(&run.stdout) {
            Err(e) => problems.push(format!("stdout is not JSON ({e}): {:?}", run.stdout)),
            Ok(v) => {
                if v["failed"] != serde_json::Value::Bool(true) {
                    problems.push(format!("JSON failed is {}", v["failed"]));
                }
                let kind = if item.expect == NO_INPUT {
                    "no_input"
                } else {
                    "bad_input"
                };
                if v["error"]["kind"] != kind {
                    problems.push(format!(
                        "JSON error.kind is {}, expected {kind:?}",
                        v["error"]["kind"]
                    ));
                }
                let path = v["error"]["path"].as_str().unwrap_or_default();
                let ok = if exact {
                    path == named
                } else {
                    path.starts_with(&format!("{named}/"))
                };
                if !ok {
                    problems.push(format!("JSON error.path is {path:?}, expected {named:?}"));
                }
            }
        }
    }
    problems
}

/// Run `items[start], items[start + step], ...` against a tree of this worker's own; returns
/// (item index, failure description) pairs and the slowest run.
fn run_share(
    items: &[Item],
    start: usize,
    step: usize,
    work: &Path,
) -> (Vec<(usize, String)>, (Duration, String)) {
    let root = work.join(format!("root-{start}"));
    let scratch = work.join(format!("scratch-{start}"));
    fs::create_dir_all(&scratch).expect("mkdir");
    debian_tree(&root);
    let before = snapshot(&root);
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for (index, item) in items.iter().enumerate().skip(start).step_by(step) {
        for json in [false, true] {
            let run = run_anchorage(&root, &scratch, item, json);
            let mut problems = judge(item, &run, json);
            let after = snapshot(&root);
            if after != before {
                problems.push(format!(
                    "tree changed: {}",
                    describe_changes(&before, &after)
                ));
                // Start the next run from a pristine tree, so one failure does not cascade.
                fs::remove_dir_all(&root).expect("remove tree");
                debian_tree(&root);
                assert!(snapshot(&root) == before, "cannot rebuild the tree");
            }
            if run.elapsed > slowest.0 {
                slowest = (run.elapsed, item.name.clone());
            }
            if !problems.is_empty() {
                let mode = if json { "json" } else { "text" };
                failures.push((
                    index,
                    format!(
                        "{} [{mode}]: {}\n    stderr: {}",
                        item.name,
                        problems.join("; "),
                        run.stderr.trim().replace('\n', "\n            ")
                    ),
                ));
            }
        }
    }
    (failures, slowest)
}

#[test]
fn hostile_corpus_fails_cleanly_and_changes_nothing() {
    let work = tempfile::Builder::new()
        .prefix("anchorage-hostile-")
        .tempdir()
        .expect("temp dir");
    let corpus_dir = work.path().join("corpus");
    fs::create_dir_all(&corpus_dir).expect("mkdir");
    let corpus = build_corpus(&corpus_dir);
    assert!(
        corpus.items.len() >= 50,
        "only {} corpus items",
        corpus.items.len()
    );

    // Two workers (the machine has two cores), each with its own tree.
    const WORKERS: usize = 2;
    let started = Instant::now();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (items, work) = (&corpus.items, work.path());
                scope.spawn(move || run_share(items, w, WORKERS, work))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let mut failures: Vec<(usize, String)> = results
        .iter()
        .flat_map(|(f, _)| f.iter().cloned())
        .collect();
    failures.sort();
    let slowest = results
        .iter()
        .map(|(_, s)| s)
        .max_by_key(|s| s.0)
        .cloned()
        .unwrap_or_default();
    let runs = corpus.items.len() * 2;
    println!(
        "hostile corpus: {} items ({} expect 65, {} expect 66), {runs} runs in {:.1?}, slowest {:.1?} ({}); \
         {} runs failed",
        corpus.items.len(),
        corpus.items.iter().filter(|i| i.expect == BAD_INPUT).count(),
        corpus.items.iter().filter(|i| i.expect == NO_INPUT).count(),
        started.elapsed(),
        slowest.0,
        slowest.1,
        failures.len()
    );
    let report: Vec<&str> = failures.iter().map(|(_, f)| f.as_str()).collect();
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        report.join("\n")
    );
}

/// The control: the same tree accepts a valid certificate, so the 65s above are about the
/// input, not a broken tree.
#[test]
fn control_valid_certificate_installs_into_the_same_tree() {
    let work = tempfile::Builder::new()
        .prefix("anchorage-hostile-control-")
        .tempdir()
        .expect("temp dir");
    let root = work.path().join("root");
    debian_tree(&root);
    let cert = work.path().join("myNewCa.pem");
    fs::write(&cert, fixtures().get("myNewCa.pem")).expect("write");
    let before = snapshot(&root);
    let item = Item {
        name: "valid".into(),
        args: vec![cert.into()],
        stdin: None,
        expect: 0,
        named: Named::Exact(PathBuf::new()),
    };
    let run = run_anchorage(&root, work.path(), &item, false);
    assert_eq!(
        run.code,
        Some(0),
        "valid certificate refused: {}",
        run.stderr
    );
    assert_ne!(
        snapshot(&root),
        before,
        "installing a valid certificate changed nothing"
    );
}

/// A non-UTF-8 file name given directly as SOURCE should be bad input (65) naming the file.
/// Today clap refuses it as a usage error (2) before anchorage sees it: `ChangeArgs::sources` is
/// `Vec<String>` in src/cli.rs (and `input::source::load` takes `&[String]`). The same file
/// inside a directory is covered by the corpus above.
#[test]
fn non_utf8_file_name_as_argument() {
    let work = tempfile::Builder::new()
        .prefix("anchorage-hostile-nonutf8-")
        .tempdir()
        .expect("temp dir");
    let root = work.path().join("root");
    debian_tree(&root);
    let odd = work.path().join(OsStr::from_bytes(b"bad-\xff\xfe.crt"));
    fs::write(&odd, b"garbage").expect("write");
    let item = Item {
        name: "non-utf8-argument".into(),
        args: vec![odd.clone().into()],
        stdin: None,
        expect: BAD_INPUT,
        named: Named::Exact(odd),
    };
    let run = run_anchorage(&root, work.path(), &item, false);
    let problems = judge(&item, &run, false);
    assert!(problems.is_empty(), "{problems:?}: {}", run.stderr);
}
