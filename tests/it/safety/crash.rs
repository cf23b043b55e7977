//! kill -9 at random moments never leaves a torn store; concurrent installs serialize; the tree
//! lock waits for a live holder and not for a dead one.

use super::{assert_no_torn_crt, temporaries, CA};
use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn kill_9_at_random_moments_never_leaves_a_torn_store() {
    let t = debian_tree();
    let root = t.path();
    // A completed first run gives a real bundle to compare against.
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    // Native refresh (the default on this tree) finishes in milliseconds, the hook in hundreds:
    // each gets kill moments spread over its own uninterrupted run time, so most kills land
    // mid-run in both.
    for refresh in ["native", "hook"] {
        // The shortest of an uninterrupted install and remove (each changes the store).
        let mut span = u64::MAX;
        for verb in ["install", "remove"] {
            let mut c = anchorage(root);
            c.args([verb, "--refresh", refresh]);
            if verb == "install" {
                c.arg(fx("myNewCa.pem"));
            } else {
                c.arg(CA);
            }
            let started = Instant::now();
            let o = run(&mut c);
            span = span.min(started.elapsed().as_micros() as u64);
            assert_eq!(
                code(&o),
                0,
                "{refresh}: an uninterrupted {verb}: {}",
                stderr(&o)
            );
        }
        let span = span.max(1_000);
        let mut kills = 0;
        for i in 0..20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let delay = Duration::from_micros(seed % span);
            let conf_mode = i % 2 == 1;
            let mut cmd = anchorage(root);
            if i % 4 < 2 {
                cmd.arg("install").arg(fx("myNewCa.pem"));
            } else {
                cmd.arg("remove").arg(CA);
            }
            cmd.args(["--refresh", refresh]);
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
            kills >= 6,
            "{refresh}: only {kills} of 20 runs were killed mid-way (run time {span} µs); the test proves little"
        );
    }
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
    let v: serde_json::Value = value::<List>(&o.stdout);
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 8);
    assert!(certs.iter().all(|c| c["in_bundle"] == true), "{v}");
}

#[test]
fn the_tree_lock_waits_for_a_holder_and_not_for_a_dead_one() {
    let t = debian_tree();
    let root = t.path();
    // A live holder of the lock file: anchorage waits for it.
    let lock = root.join("var/lib/anchorage/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = Command::new("flock")
        .arg(&lock)
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
        .arg(&lock)
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
