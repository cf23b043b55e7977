//! Valid base material for the hostile-input corpus and the property tests, shared by
//! `hostile` and `properties` (as `crate::hostile::fixtures`).
//!
//! Once per test process (guarded by a `OnceLock`), the files `tests/fixtures/make-fixtures.sh`
//! made (`common::fixture_dir`) are copied to a temporary directory, and a few extra `openssl`
//! commands make inputs the script does not. Every file is read into memory and the directory
//! is removed again, so nothing is left behind.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub struct Fixtures {
    files: BTreeMap<String, Vec<u8>>,
}

impl Fixtures {
    /// The bytes of fixture `name` (panics with the list of names if there is no such file).
    pub fn get(&self, name: &str) -> &[u8] {
        match self.files.get(name) {
            Some(bytes) => bytes,
            None => panic!(
                "no fixture {name:?}; have {:?}",
                self.files.keys().collect::<Vec<_>>()
            ),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// The fixture password of the PKCS#12 files (`password.txt` without its newline).
pub const P12_PASSWORD: &str = "s3cret pass";

pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(generate)
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn generate() -> Fixtures {
    let dir = tempfile::Builder::new()
        .prefix("anchorage-hostile-fixtures-")
        .tempdir()
        .expect("temp dir");
    // A copy of what make-fixtures.sh made for this process (`common::fixture_dir`), so the
    // script runs once per process and the extra files below stay out of the shared directory.
    for entry in std::fs::read_dir(crate::common::fixture_dir()).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
        }
    }
    assert!(
        dir.path().join(".complete").exists(),
        "make-fixtures.sh did not complete"
    );

    // Inputs the script does not produce.
    // PKCS#12 with keys but no certificates, empty password (so the decoder gets past the MAC).
    run(
        dir.path(),
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-nocerts",
            "-inkey",
            "key-only.pem",
            "-passout",
            "pass:",
            "-out",
            "p12-nocerts.p12",
        ],
    );
    // PKCS#12 whose MAC and PBKDF2 iteration counts are 65536, i.e. encoded as the 3-byte
    // INTEGER 02 03 01 00 00, which the corpus patches to huge values in place.
    run(
        dir.path(),
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "tls.key.pem",
            "-in",
            "tls.pem",
            "-certfile",
            "myNewCa.pem",
            "-passout",
            "pass:",
            "-iter",
            "65536",
            "-out",
            "p12-iter65536.p12",
        ],
    );
    // No MAC, the certificate in an AES-256-CBC EncryptedData under the empty password with
    // 1,000,000 PBKDF2 iterations: legal once, a denial of service when repeated (the corpus
    // repeats the EncryptedData 40 times).
    run(
        dir.path(),
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "myNewCa.pem",
            "-passout",
            "pass:",
            "-iter",
            "1000000",
            "-nomac",
            "-certpbe",
            "AES-256-CBC",
            "-out",
            "p12-1m-nomac.p12",
        ],
    );
    // DER form of the certificate-less PKCS#7, and a PEM certificate request.
    run(
        dir.path(),
        "openssl",
        &[
            "pkcs7",
            "-in",
            "p7-empty.p7b",
            "-outform",
            "DER",
            "-out",
            "p7-empty-der.p7b",
        ],
    );
    run(
        dir.path(),
        "openssl",
        &[
            "req",
            "-in",
            "myNewCa.csr",
            "-inform",
            "DER",
            "-out",
            "myNewCa-csr.pem",
        ],
    );

    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        if entry.file_type().expect("file type").is_file() {
            let name = entry.file_name().into_string().expect("UTF-8 fixture name");
            files.insert(name, std::fs::read(entry.path()).expect("read fixture"));
        }
    }
    Fixtures { files }
}
