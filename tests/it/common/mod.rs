//! Shared helpers for the integration tests: fixtures made by the vendor guides' own openssl
//! commands (tests/fixtures/make-fixtures.sh, once per test process), temporary Debian-layout
//! `--root` trees copied from the host, the binary as a command, and tree snapshots.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_anchorage")
}

/// The fixture directory (made once per test binary).
pub fn fx(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("anchorage-fixtures-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-fixtures.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("run make-fixtures.sh");
        assert!(
            out.status.success(),
            "make-fixtures.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    });
    dir.join(name)
}

/// A temporary Debian-layout tree: the host's /usr/share/ca-certificates and
/// /etc/ca-certificates.conf, empty /etc/ssl/certs and /usr/local/share/ca-certificates.
pub fn debian_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    for d in [
        "etc/ssl/certs",
        "usr/share",
        "usr/local/share/ca-certificates",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let st = Command::new("cp")
        .args(["-a", "/usr/share/ca-certificates"])
        .arg(root.join("usr/share/"))
        .status()
        .expect("cp");
    assert!(st.success());
    std::fs::copy(
        "/etc/ca-certificates.conf",
        root.join("etc/ca-certificates.conf"),
    )
    .expect("copy conf");
    t
}

/// An empty tree with an os-release of the given family (for the non-Debian layouts).
pub fn family_tree(id: &str, like: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(t.path().join("etc")).expect("mkdir");
    std::fs::write(
        t.path().join("etc/os-release"),
        format!("NAME=test\nID={id}\nID_LIKE=\"{like}\"\n"),
    )
    .expect("write");
    t
}

pub fn anchorage(root: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--root").arg(root);
    c.env_remove("ANCHORAGE_PASSWORD")
        .env_remove("ANCHORAGE_FORMAT")
        .env_remove("ANCHORAGE_PLATFORM");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run anchorage")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// The JSON report, parsed strictly: an unknown or missing field fails the test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub changed: bool,
    pub check: bool,
    pub platform: String,
    pub root: String,
    pub certificates: Vec<Cert>,
    pub hook: Option<Hook>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cert {
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub name: String,
    pub action: String,
    pub stores: Vec<String>,
    pub warnings: Vec<String>,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub command: Vec<String>,
    pub ran: bool,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub changed: bool,
    pub failed: bool,
    pub msg: String,
    pub error: ErrorInfo,
    #[serde(default)]
    pub certificates: Option<Vec<Cert>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    pub kind: String,
    pub path: Option<String>,
}

pub fn report(o: &Output) -> Report {
    assert_eq!(code(o), 0, "expected success, stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON report ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

pub fn failure(o: &Output) -> Failure {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON failure ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// sha256 fingerprint of a fixture, computed by openssl (independent of anchorage).
pub fn openssl_sha256(pem_or_der: &Path) -> String {
    let form = if std::fs::read(pem_or_der)
        .map(|b| b.starts_with(b"-----"))
        .unwrap_or(false)
    {
        "PEM"
    } else {
        "DER"
    };
    let o = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-inform",
            form,
            "-in",
        ])
        .arg(pem_or_der)
        .output()
        .expect("openssl");
    let s = String::from_utf8_lossy(&o.stdout);
    s.trim()
        .rsplit('=')
        .next()
        .unwrap_or("")
        .replace(':', "")
        .to_ascii_lowercase()
}

/// `openssl verify -CAfile <effective bundle> cert`.
pub fn verifies(root: &Path, bundle_rel: &str, cert: &Path) -> bool {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(root.join(bundle_rel))
        .arg(cert)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub const DEBIAN_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// Every path under `root` with its type, mode, owner and content (or link target).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).follow_links(false) {
        let e = e.expect("walk");
        let meta = e.path().symlink_metadata().expect("meta");
        let rel = e.path().strip_prefix(root).expect("prefix").to_path_buf();
        let desc = if meta.file_type().is_symlink() {
            format!(
                "link {}",
                std::fs::read_link(e.path()).expect("readlink").display()
            )
        } else if meta.is_file() {
            let bytes = std::fs::read(e.path()).expect("read");
            format!(
                "file {:o} {}:{} {}",
                meta.mode(),
                meta.uid(),
                meta.gid(),
                hex_sha(&bytes)
            )
        } else {
            format!("dir {:o}", meta.mode())
        };
        out.insert(rel, desc);
    }
    out
}

fn hex_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Certificates in a PEM bundle (by counting BEGIN lines).
pub fn count_certs(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.matches("-----BEGIN CERTIFICATE-----").count())
        .unwrap_or(0)
}
