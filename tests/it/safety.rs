//! Reliability and security guarantees (issue 5): atomic writes and preserved conf
//! attributes, kill -9 at random moments, one lock per tree, link safety, read-only / no
//! permission / disk full, umask-independent modes, no secrets in logs, safe hooks.
//!
//! Hook misbehaviour is simulated with a STAND-IN `update-ca-certificates` inside a tree that
//! has a static busybox as /bin/sh (anchorage then runs the tree's own hook with chroot): the
//! real Debian hook cannot be made to hang, fail or silently do nothing on demand.

use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

#[test]
fn conf_edit_preserves_mode_owner_and_every_other_byte() {
    let t = debian_tree();
    let root = t.path();
    let conf = root.join("etc/ca-certificates.conf");
    let mut original = std::fs::read(&conf).unwrap();
    original.extend_from_slice(
        b"# admin comment with trailing spaces   \r\n!mozilla/Some_Deselected_CA.crt\n",
    );
    std::fs::write(&conf, &original).unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&conf, Some(123), Some(456)).unwrap();
    report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let after = std::fs::read(&conf).unwrap();
    assert!(after.starts_with(&original));
    let m = std::fs::metadata(&conf).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 123, 456));
    report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    let m = std::fs::metadata(&conf).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 123, 456));
    assert!(temporaries(root).is_empty(), "{:?}", temporaries(root));
}

#[test]
fn written_files_are_0644_whatever_the_umask() {
    let t = debian_tree();
    let root = t.path();
    let o = sh(&format!(
        "umask 077; exec {} --root {} install --no-update {}",
        bin(),
        root.display(),
        fx("myNewCa.pem").display()
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = root.join(format!(
        "usr/local/share/ca-certificates/anchorage/{CA}.crt"
    ));
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o644, 0));
    let d = std::fs::metadata(f.parent().unwrap()).unwrap();
    assert_eq!(d.mode() & 0o7777, 0o755);
}

#[test]
fn kill_9_at_random_moments_never_leaves_a_torn_store() {
    let t = debian_tree();
    let root = t.path();
    // A completed first run gives a real bundle to compare against.
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut kills = 0;
    for i in 0..36 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 400_000);
        let conf_mode = i % 2 == 1;
        let mut cmd = anchorage(root);
        if i % 4 < 2 {
            cmd.arg("install").arg(fx("myNewCa.pem"));
        } else {
            cmd.arg("remove").arg(CA);
        }
        if conf_mode {
            cmd.arg("--debian-conf");
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_no_torn_crt(root);
        assert!(
            count_certs(&root.join(DEBIAN_BUNDLE)) > 100,
            "the bundle is never torn"
        );
    }
    assert!(
        kills >= 12,
        "only {kills} runs were killed mid-way; the test proves little"
    );
    // The next runs complete the job in both modes and end in the right state.
    for conf in [false, true] {
        let mut c = anchorage(root);
        c.args(["install", "--format", "json"])
            .arg(fx("myNewCa.pem"));
        if conf {
            c.arg("--debian-conf");
        }
        report(&run(&mut c));
        assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
        let mut c = anchorage(root);
        c.args(["remove", "--format", "json", CA]);
        report(&run(&mut c));
        assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    }
    assert!(
        temporaries(root).is_empty(),
        "stale temporaries: {:?}",
        temporaries(root)
    );
    let conf = std::fs::read_to_string(root.join("etc/ca-certificates.conf")).unwrap();
    assert!(!conf.contains("anchorage/"), "conf entry left behind");
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("ca3.pem")));
}

fn make_ca(dir: &Path, i: usize) -> PathBuf {
    let p = dir.join(format!("ca{i}.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-keyout",
            "/dev/null",
            "-subj",
        ])
        .arg(format!("/CN=Concurrent Root {i}"))
        .args(["-addext", "basicConstraints=critical,CA:TRUE", "-out"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    p
}

#[test]
fn eight_concurrent_installs_serialize_and_all_land() {
    let t = debian_tree();
    let root = t.path();
    let cas = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..8).map(|i| make_ca(cas.path(), i)).collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            anchorage(root)
                .args(["install", "--format", "json"])
                .arg(f)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let o = run(anchorage(root).args(["list", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 8);
    assert!(certs.iter().all(|c| c["in_bundle"] == true), "{v}");
}

#[test]
fn the_tree_lock_waits_for_a_holder_and_not_for_a_dead_one() {
    let t = debian_tree();
    let root = t.path();
    // A live holder: anchorage waits for it.
    let mut holder = Command::new("flock")
        .arg(root)
        .args(["sleep", "1.5"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0);
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "did not wait for the lock"
    );
    holder.wait().unwrap();
    // A holder killed with -9: the kernel releases the lock; anchorage does not block.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(root)
        .args(["sleep", "600"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let mut c = anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("ca2.pem"))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            assert!(st.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blocked on a dead process's lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn links_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    // 1. Our managed directory is a link to somewhere else.
    let t = debian_tree();
    let root = t.path();
    std::os::unix::fs::symlink(
        outside.path(),
        root.join("usr/local/share/ca-certificates/anchorage"),
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("usr/local/share/ca-certificates/anchorage"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // 2. A parent resolves outside the root.
    let t = debian_tree();
    let root = t.path();
    std::fs::remove_dir(root.join("usr/local/share/ca-certificates")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("usr/local/share/ca-certificates"))
        .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(stderr(&o).contains("outside --root"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // 3. A planted link where a managed file will be written.
    let t = debian_tree();
    let root = t.path();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::fs::create_dir_all(root.join("usr/local/share/ca-certificates/anchorage")).unwrap();
    std::os::unix::fs::symlink(
        &victim,
        root.join("usr/local/share/ca-certificates/anchorage/evil.crt"),
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--name", "evil"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // 4. ca-certificates.conf is a link.
    let t = debian_tree();
    let root = t.path();
    let fake_conf = outside.path().join("conf");
    std::fs::copy(root.join("etc/ca-certificates.conf"), &fake_conf).unwrap();
    let conf_bytes = std::fs::read(&fake_conf).unwrap();
    std::fs::remove_file(root.join("etc/ca-certificates.conf")).unwrap();
    std::os::unix::fs::symlink(&fake_conf, root.join("etc/ca-certificates.conf")).unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--debian-conf"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(std::fs::read(&fake_conf).unwrap(), conf_bytes);
}

struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn read_only_file_system_keeps_the_old_store() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let before = snapshot(root);
    assert!(Command::new("mount")
        .arg("--bind")
        .arg(root)
        .arg(root)
        .status()
        .unwrap()
        .success());
    let _m = Mount(root.to_path_buf());
    assert!(Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(root)
        .status()
        .unwrap()
        .success());
    let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("read-only file system"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&root.display().to_string()),
        "names the path: {}",
        stderr(&o)
    );
    drop(_m);
    assert_eq!(snapshot(root), before);
}

#[test]
fn permission_denied_says_run_as_root() {
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(root);
    let o = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .arg("--root")
        .arg(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run as root or use --root"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(root), before);
}

#[test]
fn disk_full_is_reported_and_nothing_half_written() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let local = root.join("usr/local/share/ca-certificates/anchorage");
    let saved = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&local).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), saved.path().join(e.file_name())).unwrap();
    }
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&local)
        .status()
        .unwrap()
        .success());
    let _m = Mount(local.clone());
    for e in std::fs::read_dir(saved.path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), local.join(e.file_name())).unwrap();
    }
    // Fill the file system.
    let _ = sh(&format!(
        "dd if=/dev/zero of={}/.filler bs=1k count=64 2>/dev/null",
        local.display()
    ));
    let bundle_before = std::fs::read(root.join(DEBIAN_BUNDLE)).unwrap();
    let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    assert!(stderr(&o).contains("disk full"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(root.join(DEBIAN_BUNDLE)).unwrap(),
        bundle_before,
        "old bundle intact"
    );
    assert!(!local.join(format!("{CA}.crt")).exists());
    assert!(temporaries(root).is_empty(), "{:?}", temporaries(root));
}

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
