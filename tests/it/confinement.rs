//! Issue 13: a tree others control cannot lead a root run out of it. Every test plants what an
//! adversarial review planted (links out of the tree, FIFOs, `..`, a tree linked over its own
//! /etc), runs the real binary as root, and checks that nothing outside the tree changed.

use crate::common::*;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under `dir` with its bytes (or link target) and mode, to prove it untouched.
fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let m = e.path().symlink_metadata().unwrap();
        let bytes = if m.file_type().is_symlink() {
            std::fs::read_link(e.path())
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if m.is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.push((e.path().to_path_buf(), bytes, m.mode()));
    }
    out
}

/// An outside directory with a "secret" file in it.
fn outside() -> (tempfile::TempDir, PathBuf) {
    let o = tempfile::tempdir().unwrap();
    let secret = o.path().join("secret");
    std::fs::write(&secret, b"root's secret\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    (o, secret)
}

fn managed_files(root: &Path) -> usize {
    std::fs::read_dir(root.join("usr/local/share/ca-certificates/anchorage"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Run with a deadline: a hang fails the test instead of blocking the suite.
fn run_within(cmd: &mut Command, secs: u64) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("anchorage hung for {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn host_hook_never_writes_through_a_bundle_link_out_of_the_tree() {
    let (o, secret) = outside();
    let before = listing(o.path());
    let t = debian_tree();
    symlink(
        &secret,
        t.path().join("etc/ssl/certs/ca-certificates.crt.new"),
    )
    .unwrap();
    let out = run(anchorage(t.path()).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ca-certificates.crt.new"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        listing(o.path()),
        before,
        "the secret was appended to or chmodded"
    );
    assert_eq!(managed_files(t.path()), 0, "refused before the first write");
}

#[test]
fn host_hook_never_creates_links_in_a_directory_a_pem_link_points_at() {
    let (o, _) = outside();
    let before = listing(o.path());
    let t = debian_tree();
    symlink(
        o.path(),
        t.path().join("etc/ssl/certs/myNewCa_Test_Root.pem"),
    )
    .unwrap();
    let out = run(anchorage(t.path()).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("leads out of the tree"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(o.path()), before);
}

#[test]
fn host_hook_never_reads_a_certificate_a_link_brings_in_from_the_host() {
    let (o, _) = outside();
    std::fs::copy(fx("ca3.pem"), o.path().join("host.crt")).unwrap();
    let t = debian_tree();
    symlink(
        o.path().join("host.crt"),
        t.path().join("usr/local/share/ca-certificates/host.crt"),
    )
    .unwrap();
    let out = run(anchorage(t.path()).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        !t.path().join(DEBIAN_BUNDLE).exists()
            || !verifies(t.path(), DEBIAN_BUNDLE, &fx("ca3.pem"))
    );
}

#[test]
fn host_hook_does_not_run_the_trees_update_d_scripts_as_host_root() {
    let (o, _) = outside();
    let marker = o.path().join("ran");
    let t = debian_tree();
    let hooks = t.path().join("etc/ca-certificates/update.d");
    std::fs::create_dir_all(&hooks).unwrap();
    let script = hooks.join("evil");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(anchorage(t.path())
        .args(["install", "--format", "json"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        !marker.exists(),
        "the tree's update.d script ran on the host"
    );
    let v = value::<serde_json::Value>(&out.stdout);
    assert!(
        v.to_string().contains("update.d hooks were not run (evil)"),
        "the report says what was skipped: {v}"
    );
    assert!(verifies(t.path(), DEBIAN_BUNDLE, &fx("tls.pem")));
}

/// A tree with user `u` (uid 4242) and root's database at /root/.pki/nssdb.
fn nss_tree() -> tempfile::TempDir {
    let t = debian_tree();
    let r = t.path();
    std::fs::write(
        r.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nu:x:4242:4242::/home/u:/bin/sh\nother:x:5000:5000::/home/other:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(r.join("etc/group"), "root:x:0:\nu:x:4242:\nother:x:5000:\n").unwrap();
    std::fs::create_dir_all(r.join("root/.pki/nssdb")).unwrap();
    let st = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", r.join("root/.pki/nssdb").display()))
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::create_dir_all(r.join("home/u")).unwrap();
    std::os::unix::fs::chown(r.join("home/u"), Some(4242), Some(4242)).unwrap();
    t
}

#[test]
fn nss_database_reached_through_a_parent_link_is_refused_and_root_keeps_its_keys() {
    let t = nss_tree();
    let r = t.path();
    symlink("../../root/.pki", r.join("home/u/.pki")).unwrap();
    let out = run(anchorage(r)
        .args([
            "install",
            "--nssdb",
            "/home/u/.pki/nssdb",
            "--nss-owner",
            "u",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("home/u/.pki is a link"),
        "{}",
        stderr(&out)
    );
    for f in ["cert9.db", "key4.db", "pkcs11.txt"] {
        let m = std::fs::metadata(r.join("root/.pki/nssdb").join(f)).unwrap();
        assert_eq!((m.uid(), m.gid()), (0, 0), "{f} was given away");
    }
    assert_eq!(
        managed_files(r),
        0,
        "refused before the system store was written"
    );
}

#[test]
fn nss_chown_refuses_a_directory_on_the_way_owned_by_another_user() {
    let t = nss_tree();
    let r = t.path();
    std::fs::create_dir_all(r.join("home/other/shared")).unwrap();
    std::os::unix::fs::chown(r.join("home/other"), Some(5000), Some(5000)).unwrap();
    let out = run(anchorage(r)
        .args([
            "install",
            "--no-update",
            "--nssdb",
            "/home/other/shared/nssdb",
            "--nss-owner",
            "u",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("owned by uid 5000"),
        "{}",
        stderr(&out)
    );
    assert!(!r.join("home/other/shared/nssdb").exists());
}

#[test]
fn nssdb_with_dot_dot_is_refused_before_any_write() {
    let parent = tempfile::tempdir().unwrap();
    let tree = parent.path().join("a/b");
    std::fs::create_dir_all(&tree).unwrap();
    let src = debian_tree();
    let st = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.path().display()))
        .arg(&tree)
        .status()
        .unwrap();
    assert!(st.success());
    let out = run(anchorage(&tree)
        .args(["install", "--nssdb", "/../../escaped/.pki/nssdb"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(stderr(&out).contains("`..`"), "{}", stderr(&out));
    assert!(
        !parent.path().join("escaped").exists(),
        "a directory was created outside the tree"
    );
    assert_eq!(managed_files(&tree), 0);
}

#[test]
fn conf_mode_with_etc_linked_out_refuses_before_deleting_or_writing_anything() {
    let (o, _) = outside();
    let t = debian_tree();
    let r = t.path();
    std::fs::copy(
        r.join("etc/ca-certificates.conf"),
        o.path().join("ca-certificates.conf"),
    )
    .unwrap();
    std::fs::write(o.path().join(".anchorage-1-0.tmp"), b"not ours to delete").unwrap();
    std::fs::rename(r.join("etc"), r.join("etc.real")).unwrap();
    symlink(o.path(), r.join("etc")).unwrap();
    let before = listing(o.path());
    let out = run(anchorage(r)
        .args([
            "--platform",
            "debian",
            "install",
            "--debian-conf",
            "--no-update",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert_eq!(
        listing(o.path()),
        before,
        "outside files deleted or changed"
    );
    assert!(
        std::fs::read_dir(r.join("usr/share/ca-certificates"))
            .unwrap()
            .all(|e| e.unwrap().file_name() != "anchorage"),
        "the anchor was written before the refusal"
    );
}

#[test]
fn unsafe_etc_ssl_is_refused_before_the_anchors_are_written() {
    let (o, _) = outside();
    let t = debian_tree();
    let r = t.path();
    std::fs::remove_dir_all(r.join("etc/ssl")).unwrap();
    std::fs::create_dir_all(o.path().join("certs")).unwrap();
    symlink(o.path(), r.join("etc/ssl")).unwrap();
    let before = listing(o.path());
    let out = run(anchorage(r).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert_eq!(managed_files(r), 0);
    assert_eq!(listing(o.path()), before);
}

#[test]
fn fifos_in_the_managed_directory_or_as_the_bundle_never_hang_a_run() {
    let t = debian_tree();
    let r = t.path();
    let dir = r.join("usr/local/share/ca-certificates/anchorage");
    std::fs::create_dir_all(&dir).unwrap();
    let mkfifo = |p: &Path| assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
    mkfifo(&dir.join("x.crt"));
    let out = run_within(anchorage(r).arg("list"), 20);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("FIFO"),
        "named in a warning: {}",
        stderr(&out)
    );
    let out = run_within(anchorage(r).arg("install").arg(fx("myNewCa.pem")), 20);
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(stderr(&out).contains("x.crt"), "{}", stderr(&out));
    std::fs::remove_file(dir.join("x.crt")).unwrap();
    // The effective bundle is a FIFO.
    let _ = std::fs::remove_file(r.join(DEBIAN_BUNDLE));
    mkfifo(&r.join(DEBIAN_BUNDLE));
    let out = run_within(anchorage(r).arg("list"), 20);
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    let out = run_within(anchorage(r).args(["doctor", "--format", "json"]), 20);
    assert_ne!(code(&out), 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FIFO"),
        "a doctor problem"
    );
}

#[test]
fn a_relative_root_works_with_the_host_hook() {
    let t = debian_tree();
    let (parent, name) = (t.path().parent().unwrap(), t.path().file_name().unwrap());
    let out = run(Command::new(bin())
        .current_dir(parent)
        .arg("--root")
        .arg(name)
        .arg("install")
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(verifies(t.path(), DEBIAN_BUNDLE, &fx("tls.pem")));
}

#[test]
fn an_anchors_directory_on_its_own_mount_stages_beside_the_files() {
    struct Mount(PathBuf);
    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    for (id, like, anchors) in [
        ("rhel", "fedora", "etc/pki/ca-trust/source/anchors"),
        ("alpine", "", "usr/local/share/ca-certificates"),
        ("sles", "suse", "etc/pki/trust/anchors"),
        ("arch", "", "etc/ca-certificates/trust-source/anchors"),
    ] {
        let t = family_tree(id, like);
        let dir = t.path().join(anchors);
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs (needs root)");
        let _m = Mount(dir.clone());
        let out = run(anchorage(t.path())
            .args(["install", "--no-update"])
            .arg(fx("myNewCa.pem")));
        assert_eq!(code(&out), 0, "{id}: {}", stderr(&out));
        let files: Vec<String> = walkdir::WalkDir::new(&dir)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            files.len(),
            1,
            "{id}: one anchor, no temporaries: {files:?}"
        );
        let out = run(anchorage(t.path()).args(["remove", "--no-update", "myNewCa_Test_Root"]));
        assert_eq!(code(&out), 0, "{id}: {}", stderr(&out));
    }
}

#[test]
fn reads_resolve_absolute_links_inside_the_tree_not_on_the_host() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("usr/lib")).unwrap();
    std::fs::write(r.join("usr/lib/os-release"), "NAME=Alpine\nID=alpine\n").unwrap();
    symlink("/usr/lib/os-release", r.join("etc/os-release")).unwrap();
    let out = run(anchorage(r).args(["list", "--format", "json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = value::<serde_json::Value>(&out.stdout);
    assert_eq!(v["platform"], "alpine", "{v}");
}

/// Many CA certificates, quickly (rcgen), as DER files in `dir`.
fn many_cas(dir: &Path, n: usize, tag: &str) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name
                .push(rcgen::DnType::CommonName, format!("Race {tag} {i}"));
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            let path = dir.join(format!("{tag}{i}.der"));
            std::fs::write(&path, cert.der()).unwrap();
            path
        })
        .collect()
}

#[test]
fn swapping_the_managed_directory_for_a_link_during_syncs_never_touches_the_outside() {
    let (o, _) = outside();
    let victims = o.path().join("victims");
    std::fs::create_dir_all(&victims).unwrap();
    for i in 0..200 {
        std::fs::write(victims.join(format!("Race_A_{i}.crt")), b"victim").unwrap();
    }
    let before = listing(o.path());
    let src = tempfile::tempdir().unwrap();
    let a = src.path().join("a");
    let b = src.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    many_cas(&a, 200, "A");
    many_cas(&b, 200, "B");
    let t = debian_tree();
    let r = t.path().to_path_buf();
    let managed = r.join("usr/local/share/ca-certificates/anchorage");
    let out = run(anchorage(&r).args(["sync", "--no-update"]).arg(&a));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, managed, victims) = (stop.clone(), managed.clone(), victims.clone());
        std::thread::spawn(move || {
            let real = managed.with_extension("real");
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if std::fs::rename(&managed, &real).is_ok() {
                    let _ = symlink(&victims, &managed);
                    std::thread::sleep(Duration::from_micros(300));
                    let _ = std::fs::remove_file(&managed);
                    let _ = std::fs::rename(&real, &managed);
                    swaps += 1;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            swaps
        })
    };
    let start = Instant::now();
    let (mut runs, mut refused, mut ok) = (0, 0, 0);
    while start.elapsed() < Duration::from_secs(30) {
        let src = if runs % 2 == 0 { &b } else { &a };
        let out = run(anchorage(&r).args(["sync", "--no-update"]).arg(src));
        // A run that meets the swap refuses (77) or, if a directory vanishes under an
        // operation, fails with an I/O error (74); what matters is the outside, checked below.
        match code(&out) {
            0 => ok += 1,
            77 | 74 => refused += 1,
            c => panic!("unexpected exit {c}: {}", stderr(&out)),
        }
        runs += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(
        swaps > 100 && runs > 5,
        "the race ran ({swaps} swaps, {runs} syncs)"
    );
    eprintln!("{runs} syncs ({ok} completed, {refused} refused), {swaps} swaps");
    assert_eq!(
        listing(o.path()),
        before,
        "a file outside the tree was changed"
    );
}

#[test]
fn the_walk_used_without_openat2_gives_the_same_answers() {
    // Kernels before 5.6 (or a seccomp profile refusing openat2) take the O_NOFOLLOW walk;
    // ANCHORAGE_NO_OPENAT2=1 forces it here.
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("usr/lib")).unwrap();
    std::fs::write(r.join("usr/lib/os-release"), "ID=alpine\n").unwrap();
    symlink("/usr/lib/os-release", r.join("etc/os-release")).unwrap();
    let out = run(anchorage(r)
        .env("ANCHORAGE_NO_OPENAT2", "1")
        .args(["-v", "list", "--format", "json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        value::<serde_json::Value>(&out.stdout)["platform"],
        "alpine"
    );
    assert!(
        stderr(&out).contains("O_NOFOLLOW) walk"),
        "{}",
        stderr(&out)
    );

    let (o, _) = outside();
    let before = listing(o.path());
    let t = debian_tree();
    symlink(
        o.path(),
        t.path().join("usr/local/share/ca-certificates/anchorage"),
    )
    .unwrap();
    let out = run(anchorage(t.path())
        .env("ANCHORAGE_NO_OPENAT2", "1")
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert_eq!(listing(o.path()), before);
    let out = run(anchorage(t.path())
        .env("ANCHORAGE_NO_OPENAT2", "1")
        .args(["install", "--nssdb", "/root/../../x/nssdb"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&out), 77, "{}", stderr(&out));
}
