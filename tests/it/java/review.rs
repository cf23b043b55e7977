//! The review of issues 15/16 (notes/review-15-16.md), Java part: removing anchorage's entry
//! from a hook-maintained store (directly: no hook writes `anchorage-` aliases), one truthful
//! note under `--no-system`, links owned by other users refused (a discovered one skipped),
//! the key-derivation cap on PKCS#12 stores, an empty ANCHORAGE_JAVA_PASSWORD, a relative
//! `--java-truststore`, and a normal user's run on a store someone else owns.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::{java_cmd, listing, store_with_key, ALIAS, PASS};
use crate::common::*;

/// A uid of its own (no other test uses it).
const UID: u32 = 64_929;
const SHARED: &str = "/etc/ssl/certs/java/cacerts";

fn exe(p: &Path, body: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// ca-certificates-java's hook and the tree's own update-ca-certificates (stubs): the shared
/// store counts as hook-maintained.
fn hooked_tree() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = debian_tree();
    let shared = t.path().join(SHARED.trim_start_matches('/'));
    store_with_key(&shared, "JKS");
    exe(
        &t.path().join("etc/ca-certificates/update.d/jks-keystore"),
        "#!/bin/sh\nexit 0\n",
    );
    exe(
        &t.path().join("usr/sbin/update-ca-certificates"),
        "#!/bin/sh\nexit 0\n",
    );
    (t, shared)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn our_entry_in_a_hook_maintained_store_is_removed_directly() {
    let (t, shared) = hooked_tree();
    let root = t.path();
    let before = listing(&shared, PASS);
    let ca = fx("myNewCa.pem");
    let ca = ca.to_str().unwrap();
    let install = |extra: &[&str]| {
        let mut args = vec!["--format", "json", "install", "--no-system"];
        args.extend_from_slice(extra);
        args.push(ca);
        java_cmd(root, &[SHARED], &args)
    };
    let o = install(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    // One note about the hook, and a true one.
    let hook_notes: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("maintained by"))
        .collect();
    assert_eq!(hook_notes.len(), 1, "{:?}", r.warnings);
    assert!(hook_notes[0].contains("written directly"), "{hook_notes:?}");
    assert!(listing(&shared, PASS).iter().any(|l| l.starts_with(ALIAS)));

    // remove --no-system: written directly, the store as it was.
    let o = java_cmd(
        root,
        &[SHARED],
        &[
            "--format",
            "json",
            "remove",
            "--no-system",
            "myNewCa_Test_Root",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.changed);
    assert_eq!(
        r.warnings
            .iter()
            .filter(|w| w.contains("maintained by"))
            .count(),
        1,
        "{:?}",
        r.warnings
    );
    assert_eq!(listing(&shared, PASS), before);

    // Without --no-system the hook maintains the store, but never our alias: remove takes it
    // out directly, with --no-update (no hook runs) and without (the hook has nothing to do).
    for extra in [&["--no-update"][..], &[][..]] {
        let o = install(&[]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(listing(&shared, PASS).iter().any(|l| l.starts_with(ALIAS)));
        let mut args = vec!["--format", "json", "remove"];
        args.extend_from_slice(extra);
        args.push("myNewCa_Test_Root");
        let o = java_cmd(root, &[SHARED], &args);
        assert_eq!(code(&o), 0, "{extra:?}: {}", stderr(&o));
        let r = report(&o);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("maintained by") && w.contains("removed directly")),
            "{:?}",
            r.warnings
        );
        assert_eq!(listing(&shared, PASS), before, "{extra:?}");
    }
}

/// Root managing a store named in another user's directory: that user's link (or a link in
/// their directory) is not followed into the system's store.
#[test]
fn links_other_users_own_are_refused_and_skipped_when_discovered() {
    if !is_root() {
        eprintln!("skipped: needs root (chown)");
        return;
    }
    let t = debian_tree();
    let root = t.path();
    let shared = root.join(SHARED.trim_start_matches('/'));
    store_with_key(&shared, "JKS");
    let before = std::fs::read(&shared).unwrap();
    let java = root.join("home/bob/.java");
    std::fs::create_dir_all(&java).unwrap();
    let link = java.join("cacerts");
    std::os::unix::fs::symlink(SHARED, &link).unwrap();
    // The link is bob's.
    std::os::unix::fs::chown(&java, Some(UID), Some(UID)).unwrap();
    std::os::unix::fs::lchown(&link, Some(UID), Some(UID)).unwrap();
    let ca = fx("myNewCa.pem");
    let args = [
        "install",
        "--no-system",
        "--no-update",
        ca.to_str().unwrap(),
    ];
    let o = java_cmd(root, &["/home/bob/.java/cacerts"], &args);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("uid {UID}")), "{err}");
    assert!(err.contains("home/bob/.java/cacerts"), "{err}");
    // Root's link in bob's directory: bob could swap it.
    std::os::unix::fs::lchown(&link, Some(0), Some(0)).unwrap();
    let o = java_cmd(root, &["/home/bob/.java/cacerts"], &args);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("directory owned by uid"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&shared).unwrap(), before);

    // Discovery: a JRE's cacerts that is bob's link is skipped with a note, the rest done.
    let sec = root.join("opt/bad/lib/security");
    std::fs::create_dir_all(&sec).unwrap();
    std::os::unix::fs::symlink(SHARED, sec.join("cacerts")).unwrap();
    std::os::unix::fs::lchown(sec.join("cacerts"), Some(UID), Some(UID)).unwrap();
    let good = root.join("opt/agent/jre/lib/security/cacerts");
    store_with_key(&good, "JKS");
    let o = java_cmd(
        root,
        &[],
        &[
            "--java-discover",
            "--format",
            "json",
            "install",
            "--no-update",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(
        r.warnings
            .iter()
            .any(|w| w
                .contains("skipped the Java truststore found at /opt/bad/lib/security/cacerts")),
        "{:?}",
        r.warnings
    );
    assert!(listing(&good, PASS).iter().any(|l| l.starts_with(ALIAS)));
}

/// A discovered link that climbs out of the tree no longer aborts the run (named: still 77).
#[test]
fn a_discovered_link_out_of_the_tree_is_skipped() {
    let t = debian_tree();
    let root = t.path();
    std::fs::write(root.join("etc/passwd"), "").unwrap();
    let sec = root.join("opt/bad/lib/security");
    std::fs::create_dir_all(&sec).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../etc/passwd", sec.join("cacerts")).unwrap();
    let good = root.join("opt/agent/jre/lib/security/cacerts");
    store_with_key(&good, "PKCS12");
    let ca = fx("myNewCa.pem");
    let o = java_cmd(
        root,
        &[],
        &[
            "--java-discover",
            "--format",
            "json",
            "install",
            "--no-update",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("skipped the Java truststore found at /opt/bad")),
        "{:?}",
        r.warnings
    );
    assert!(listing(&good, PASS).iter().any(|l| l.starts_with(ALIAS)));
    let o = java_cmd(
        root,
        &["/opt/bad/lib/security/cacerts"],
        &["install", "--no-update", ca.to_str().unwrap()],
    );
    assert_eq!(code(&o), 77, "{}", stderr(&o));
}

/// A PKCS#12 store asking for more key-derivation work than the input reader allows is 65,
/// quickly, for install and for doctor's discovery alike.
#[test]
fn pkcs12_store_over_the_kdf_cap_is_refused() {
    let t = debian_tree();
    let root = t.path();
    let p12 = root.join("opt/agent/jre/lib/security/cacerts");
    std::fs::create_dir_all(p12.parent().unwrap()).unwrap();
    let o = Command::new("keytool")
        .args([
            "-J-Dkeystore.pkcs12.macIterationCount=1500000",
            "-J-Dkeystore.pkcs12.certPbeIterationCount=1500000",
            "-importcert",
            "-noprompt",
            "-storepass",
            PASS,
            "-storetype",
            "PKCS12",
            "-alias",
            "corp",
            "-keystore",
            p12.to_str().unwrap(),
            "-file",
            fx("ca2.pem").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&p12).unwrap();
    let started = std::time::Instant::now();
    let o = java_cmd(
        root,
        &["/opt/agent/jre/lib/security/cacerts"],
        &[
            "install",
            "--no-update",
            fx("myNewCa.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(stderr(&o).contains("key-derivation"), "{}", stderr(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(std::fs::read(&p12).unwrap(), before);
}

/// `ANCHORAGE_JAVA_PASSWORD=` (empty) is unset: the default password opens the store. A
/// relative `--java-truststore` means that path in the tree (as `--nssdb`), not in $PWD.
#[test]
fn empty_password_variable_is_the_default_and_relative_paths_are_in_the_tree() {
    let t = debian_tree();
    let root = t.path();
    let jks = root.join("srv/ts.jks");
    store_with_key(&jks, "JKS");
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run(anchorage(root)
        .current_dir(elsewhere.path())
        .env("ANCHORAGE_JAVA_PASSWORD", "")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE")
        .args([
            "--java-truststore",
            "srv/ts.jks",
            "--format",
            "json",
            "install",
            "--no-update",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.certificates[0]
        .stores
        .contains(&"java:/srv/ts.jks".to_string()));
    assert!(listing(&jks, PASS).iter().any(|l| l.starts_with(ALIAS)));
}

/// A normal user's `--no-system` run does not rewrite a truststore another user owns, even
/// when its mode would let them (the rename would hand the file to them).
#[test]
fn a_normal_user_does_not_write_a_store_someone_else_owns() {
    if !is_root() {
        eprintln!("skipped: needs root (setpriv)");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = t.path().join("home");
    let store = home.join("ts.jks");
    store_with_key(&store, "JKS");
    std::fs::copy(fx("myNewCa.pem"), t.path().join("ca.pem")).unwrap();
    std::fs::set_permissions(
        t.path().join("ca.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::chown(&home, Some(UID), Some(UID)).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o666)).unwrap();
    let before = std::fs::read(&store).unwrap();
    let o = run(Command::new("setpriv")
        .arg(format!("--reuid={UID}"))
        .arg(format!("--regid={UID}"))
        .args(["--clear-groups", "--", bin()])
        .args(["install", "--no-system", "--java-truststore"])
        .arg(&store)
        .arg(t.path().join("ca.pem"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &home));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(stderr(&o).contains("owned by uid 0"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&store).unwrap(), before);
}
