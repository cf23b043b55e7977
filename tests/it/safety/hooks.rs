//! No password in any output, and hooks: run without a shell, with a safe PATH, a timeout and a
//! check of their effect.
//!
//! Hook misbehaviour is simulated with a STAND-IN `update-ca-certificates` inside a tree that
//! has a static busybox as /bin/sh (anchorage then runs the tree's own hook with chroot): the
//! real Debian hook cannot be made to hang, fail or silently do nothing on demand.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[test]
fn password_is_never_logged() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root)
        .args(["-vv", "install", "--no-update", "--password-file"])
        .arg(fx("password.txt"))
        .arg(fx("default.p12")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!all.contains("s3cret"), "{all}");
    let o = run(anchorage(root)
        .args(["-vv", "install", "--no-update"])
        .arg(fx("legacy.p12"))
        .env("ANCHORAGE_PASSWORD", "wrong s3cret guess"));
    assert_eq!(code(&o), 65);
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
}

/// A Debian tree whose own hook is a stand-in script run by a static busybox shell.
fn stand_in_tree(hook: &str) -> tempfile::TempDir {
    let t = debian_tree();
    let root = t.path();
    for d in ["bin", "usr/sbin"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (apt-get install busybox-static)");
    for applet in ["sh", "sleep", "cat", "echo"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let h = root.join("usr/sbin/update-ca-certificates");
    std::fs::write(
        &h,
        format!("#!/bin/sh\n# STAND-IN for Debian's update-ca-certificates\n{hook}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

#[test]
fn hooks_run_without_shell_with_safe_path_timeout_and_effect_check() {
    // Exits 0 but does nothing: judged by effect → exit 1 with the hook's output.
    let t = stand_in_tree("echo 'stand-in did nothing'\nexit 0");
    let o = run(anchorage(t.path())
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not take effect") && stderr(&o).contains("stand-in did nothing"),
        "{}",
        stderr(&o)
    );
    let f = failure(&o);
    assert!(f.changed, "the file was written and the report says so");
    // Fails: its stderr is in the message.
    let t = stand_in_tree("echo 'E: stand-in broke' >&2\nexit 3");
    let o = run(anchorage(t.path()).args(["install"]).arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("E: stand-in broke") && stderr(&o).contains("exit 3"),
        "{}",
        stderr(&o)
    );
    // Hangs: killed after --hook-timeout.
    let t = stand_in_tree("sleep 60");
    let start = Instant::now();
    let o = run(anchorage(t.path())
        .args(["install", "--hook-timeout", "1"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(30));
    // Works, with the fixed PATH whatever the caller's, stderr captured into the report.
    let t = stand_in_tree("echo \"PATH=$PATH\" >&2\ncat /usr/local/share/ca-certificates/anchorage/*.crt > /etc/ssl/certs/ca-certificates.crt");
    let o = run(anchorage(t.path())
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem"))
        .env(
            "PATH",
            format!("/evil/bin:{}", std::env::var("PATH").unwrap_or_default()),
        ));
    let r = report(&o);
    let hook = r.hook.expect("hook");
    assert_eq!(
        hook.command[0].rsplit('/').next(),
        Some("chroot"),
        "the tree's own hook via chroot: {:?}",
        hook.command
    );
    assert!(
        r.warnings.iter().any(
            |w| w.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        ),
        "{:?}",
        r.warnings
    );
    assert!(verifies(t.path(), DEBIAN_BUNDLE, &fx("tls.pem")));
}
