//! Shared helpers for the integration tests: fixtures made by the vendor guides' own openssl
//! commands (tests/fixtures/make-fixtures.sh, once per test process), temporary Debian-layout
//! `--root` trees copied from the host, the binary as a command, tree snapshots, and the JSON
//! reports, typed (`json.rs`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

mod json;
pub use json::*;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_anchorage")
}

/// A fixture file (see `fixture_dir`).
pub fn fx(name: &str) -> PathBuf {
    fixture_dir().join(name)
}

/// The fixtures of tests/fixtures/make-fixtures.sh, made once per test process in
/// `$TMPDIR/anchorage-fixtures-PID`, and removed when the process ends.
///
/// Removal: statics are never dropped and libtest has no hook after the last test, so the
/// directory's life is tied to the process's instead. A small `sh` blocks reading a pipe
/// whose only write end this process holds (kept in the static; close-on-exec, as std makes
/// every pipe, so no child inherits it). However the process ends (return, panic, abort,
/// SIGKILL) the kernel closes that end, the read sees end-of-file and the `sh` removes the
/// directory. It runs in its own process group, so a Ctrl-C or a kill of the test's group
/// does not take it first. Directories of processes that no longer run (left by the older
/// scheme, or if the cleaner itself was killed) are removed when the next run starts.
pub fn fixture_dir() -> &'static Path {
    struct Fixtures {
        dir: PathBuf,
        /// The cleaner, holding the write end of its standard input: never written, never
        /// closed, never waited for.
        _cleaner: Child,
    }
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    let fixtures = FIXTURES.get_or_init(|| {
        let tmp = std::env::temp_dir();
        remove_stale_fixture_dirs(&tmp);
        let dir = tmp.join(format!("anchorage-fixtures-{}", std::process::id()));
        let cleaner = Command::new("sh")
            .args([
                "-c",
                "cat >/dev/null; exec rm -rf -- \"$1\"",
                "anchorage-fixtures-cleanup",
            ])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn the fixture cleaner");
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
        Fixtures {
            dir,
            _cleaner: cleaner,
        }
    });
    &fixtures.dir
}

/// Remove `anchorage-fixtures-PID` directories whose process is gone (only where /proc shows
/// which processes run).
fn remove_stale_fixture_dirs(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("anchorage-fixtures-"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// A temporary Debian-layout tree: the host's /usr/share/ca-certificates and
/// /etc/ca-certificates.conf, empty /etc/ssl/certs and /usr/local/share/ca-certificates, and
/// /var/lib (where the tree lock goes, as in a real tree).
pub fn debian_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    for d in [
        "etc/ssl/certs",
        "usr/share",
        "usr/local/share/ca-certificates",
        "var/lib",
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

/// An empty tree with an os-release of the given family (for the non-Debian layouts), and
/// /var/lib (where the tree lock goes).
pub fn family_tree(id: &str, like: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(t.path().join("etc")).expect("mkdir");
    std::fs::create_dir_all(t.path().join("var/lib")).expect("mkdir");
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

/// Every path under `root` with its type, mode, owner and content (or link target); not the
/// tree lock's directory `var/lib/anchorage` (created by the first run that takes the lock,
/// never a trust store).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let lock_dir = root.join("var/lib/anchorage");
    let walk = walkdir::WalkDir::new(root).follow_links(false);
    for e in walk.into_iter().filter_entry(|e| e.path() != lock_dir) {
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
