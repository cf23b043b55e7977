//! Reliability and security guarantees (issue 5): atomic writes and preserved conf
//! attributes, kill -9 at random moments, one lock per tree, link safety, read-only / no
//! permission / disk full, umask-independent modes, no secrets in logs, safe hooks.
//!
//! * `files`: conf attributes, modes, links, read-only, permission denied, disk full;
//! * `crash`: kill -9 at random moments, concurrent installs, the tree lock;
//! * `hooks`: no secrets in logs, hook misbehaviour.

mod crash;
mod files;
mod hooks;

use std::path::{Path, PathBuf};
use std::process::Command;

const CA: &str = "myNewCa_Test_Root";

fn sh(script: &str) -> std::process::Output {
    Command::new("sh").arg("-c").arg(script).output().unwrap()
}

/// Every `*.crt` our hooks would read is exactly one full certificate.
fn assert_no_torn_crt(root: &Path) {
    for dir in [
        "usr/local/share/ca-certificates",
        "usr/share/ca-certificates/anchorage",
    ] {
        let d = root.join(dir);
        if !d.exists() {
            continue;
        }
        for e in walkdir::WalkDir::new(&d) {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_file() && name.ends_with(".crt") {
                let o = Command::new("openssl")
                    .args(["x509", "-noout", "-in"])
                    .arg(e.path())
                    .output()
                    .unwrap();
                assert!(o.status.success(), "torn file {}", e.path().display());
                let text = std::fs::read_to_string(e.path()).unwrap();
                assert_eq!(
                    text.matches("BEGIN CERTIFICATE").count(),
                    1,
                    "{}",
                    e.path().display()
                );
            }
        }
    }
}

fn temporaries(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".anchorage-"))
        .map(|e| e.path().to_path_buf())
        .collect()
}
