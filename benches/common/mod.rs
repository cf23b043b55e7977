//! Shared fixtures for the criterion benchmarks: the openssl-made test fixtures (generated once
//! per bench binary into a temporary directory) and synthetic bundles of thousands of distinct
//! certificates derived from `myNewCa.crt` by rewriting its serial number.

#![allow(dead_code)] // each bench binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anchorage::cert::{pem_encode, Certificate};
use anchorage::input::asn1;

/// Criterion settings shared by the bench binaries: no plots (plotters rendering costs more
/// than some of the benchmarks); per-group sample sizes and times are set by each bench.
pub fn config() -> criterion::Criterion {
    criterion::Criterion::default().without_plots()
}

/// The fixture files the benchmarks read, loaded into memory.
pub struct Fixtures {
    /// `myNewCa.crt`: one DER certificate.
    pub der: Vec<u8>,
    /// `bundle.pem`: three PEM certificates.
    pub bundle_pem: Vec<u8>,
    /// `bundle-der.p7b`: the same three in a DER PKCS#7.
    pub p7b: Vec<u8>,
    /// `default.p12`: key + server certificate + CA (AES/PBKDF2, openssl 3 defaults).
    pub p12: Vec<u8>,
    /// `nokeys.p12`: certificates only.
    pub p12_nokeys: Vec<u8>,
    pub password: String,
}

/// Run `tests/fixtures/make-fixtures.sh` once (per process) and read the files it made.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-fixtures.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .output()
            .expect("run make-fixtures.sh");
        assert!(
            out.status.success(),
            "make-fixtures.sh failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |name: &str| {
            std::fs::read(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let password = String::from_utf8(read("password.txt"))
            .expect("utf-8 password")
            .trim_end()
            .to_string();
        Fixtures {
            der: read("myNewCa.crt"),
            bundle_pem: read("bundle.pem"),
            p7b: read("bundle-der.p7b"),
            p12: read("default.p12"),
            p12_nokeys: read("nokeys.p12"),
            password,
        }
    })
}

/// Byte range of the serial number's content octets inside a DER certificate:
/// Certificate SEQUENCE → tbsCertificate SEQUENCE → [0] version (optional) → INTEGER serial.
fn serial_range(der: &[u8]) -> std::ops::Range<usize> {
    let (cert, _) = asn1::read(der, 0).expect("Certificate");
    assert_eq!(cert.tag, 0x30, "Certificate is not a SEQUENCE");
    let (tbs, _) = asn1::read(cert.content, 1).expect("tbsCertificate");
    assert_eq!(tbs.tag, 0x30, "tbsCertificate is not a SEQUENCE");
    let (mut field, mut rest) = asn1::read(tbs.content, 2).expect("tbsCertificate field");
    if field.tag == 0xa0 {
        (field, rest) = asn1::read(rest, 2).expect("serialNumber");
    }
    let _ = rest;
    assert_eq!(field.tag, 0x02, "serialNumber is not an INTEGER");
    let start = field.content.as_ptr() as usize - der.as_ptr() as usize;
    start..start + field.content.len()
}

/// `n` distinct DER certificates: `template` with the last four serial octets replaced by the
/// index (the signature no longer verifies, which anchorage never checks).
pub fn variants(template: &[u8], n: usize) -> Vec<Vec<u8>> {
    let range = serial_range(template);
    assert!(
        range.len() >= 5,
        "serial too short to vary ({} octets)",
        range.len()
    );
    let at = range.end - 4;
    (0..n)
        .map(|i| {
            let mut der = template.to_vec();
            der[at..at + 4]
                .copy_from_slice(&u32::try_from(i).expect("index fits u32").to_be_bytes());
            der
        })
        .collect()
}

/// PEM bundle of `ders`, one `CERTIFICATE` block each.
pub fn pem_bundle(ders: &[Vec<u8>]) -> Vec<u8> {
    let mut out = String::new();
    for der in ders {
        out.push_str(&pem_encode("CERTIFICATE", der));
    }
    out.into_bytes()
}

/// Parse generated certificates (and prove they are distinct and still parse).
pub fn parse_all(ders: &[Vec<u8>]) -> Vec<Certificate> {
    let certs: Vec<Certificate> = ders
        .iter()
        .map(|d| Certificate::from_der(d, false).expect("generated certificate parses"))
        .collect();
    let distinct: std::collections::HashSet<[u8; 32]> = certs.iter().map(|c| c.sha256).collect();
    assert_eq!(
        distinct.len(),
        certs.len(),
        "generated certificates are not distinct"
    );
    certs
}

/// Size in MB (10^6 bytes), for bench names.
pub fn mb(len: usize) -> String {
    format!("{:.1}MB", len as f64 / 1e6)
}

/// A file in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temporary file");
    (dir, path)
}

/// The host's effective bundle, if it has one.
pub const HOST_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
