//! `scripts/sandbox.sh DIR` (the README's "A sandbox tree of your own", used by the demo): the
//! tree it makes is one anchorage is healthy on, its bundle (built by the host's real
//! `update-ca-certificates` pointed into DIR) holds exactly the host's distribution CA set,
//! and it refuses a non-empty DIR.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sandbox_sh(dir: &Path) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sandbox.sh"))
        .arg(dir)
        .output()
        .expect("run scripts/sandbox.sh")
}

/// The certificates the host's /etc/ca-certificates.conf selects (and that exist): what
/// update-ca-certificates puts in a bundle with an empty local directory. The host's own
/// bundle may hold more (its /usr/local/share/ca-certificates), which the sandbox leaves out.
fn host_selected_count() -> usize {
    let conf = std::fs::read_to_string("/etc/ca-certificates.conf").expect("read conf");
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| PathBuf::from("/usr/share/ca-certificates").join(l))
        .map(|p| count_certs(&p))
        .sum()
}

#[test]
fn sandbox_tree_is_healthy_and_holds_the_host_ca_set() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("sb");
    let o = sandbox_sh(&dir);
    assert!(o.status.success(), "sandbox.sh failed: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let canon = std::fs::canonicalize(&dir).expect("canonicalize");
    assert!(
        stdout.contains(&format!("anchorage --root {} doctor", canon.display())),
        "sandbox.sh does not print the next command: {stdout}"
    );

    let want = host_selected_count();
    assert!(want > 100, "the host's CA set has only {want} certificates");
    assert_eq!(count_certs(&dir.join(DEBIAN_BUNDLE)), want);
    assert!(
        std::fs::read_dir(dir.join("usr/local/share/ca-certificates"))
            .expect("local dir")
            .next()
            .is_none(),
        "usr/local/share/ca-certificates is not empty"
    );

    let o = run(anchorage(&dir).arg("doctor"));
    assert_eq!(code(&o), 0, "doctor on the sandbox: {}", stderr(&o));
    let o = run(anchorage(&dir)
        .args(["--format", "json", "install"])
        .arg(fx("myNewCa.crt")));
    assert_eq!(code(&o), 0, "install into the sandbox: {}", stderr(&o));
    assert_eq!(count_certs(&dir.join(DEBIAN_BUNDLE)), want + 1);
    assert!(verifies(&dir, DEBIAN_BUNDLE, &fx("tls.pem")));
}

#[test]
fn sandbox_refuses_a_non_empty_dir() {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::write(t.path().join("keep.txt"), "mine").expect("write");
    let before = snapshot(t.path());
    let o = sandbox_sh(t.path());
    assert_eq!(code(&o), 73, "want 73 for a non-empty DIR: {}", stderr(&o));
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    assert_eq!(
        snapshot(t.path()),
        before,
        "sandbox.sh changed a non-empty DIR"
    );
}
