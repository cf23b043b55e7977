//! Where a truststore is: links inside the tree followed once (the real path written and
//! reported), `--java-discover` and doctor's problem for a JRE store without the anchor, a link
//! that climbs out of the tree refused, the file's mode and owner kept.

use std::path::{Path, PathBuf};

use super::{install, listing, store_with_key, ALIAS, PASS};
use crate::common::*;

/// A JDK's `lib/security/cacerts` linked (absolutely) to the shared store, as on Debian; no
/// ca-certificates-java hook in this tree, so anchorage writes the link's target once.
fn jdk_link_tree(root: &Path) -> PathBuf {
    let shared = root.join("etc/ssl/certs/java/cacerts");
    store_with_key(&shared, "JKS");
    let sec = root.join("usr/lib/jvm/java-17-openjdk-amd64/lib/security");
    std::fs::create_dir_all(&sec).unwrap();
    std::os::unix::fs::symlink("/etc/ssl/certs/java/cacerts", sec.join("cacerts")).unwrap();
    shared
}

#[test]
fn a_link_inside_the_tree_is_followed_once_and_the_real_path_reported() {
    let t = debian_tree();
    let root = t.path();
    let shared = jdk_link_tree(root);
    let o = install(
        root,
        &["/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts"],
        &["--java-discover"],
        "myNewCa.pem",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    // Named twice (option, discovery), written once, reported by the path written.
    assert_eq!(
        r.certificates[0].stores,
        vec![
            "system".to_string(),
            "java:/etc/ssl/certs/java/cacerts".to_string()
        ]
    );
    let link = root.join("usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(listing(&shared, PASS).iter().any(|l| l.starts_with(ALIAS)));

    // doctor: the discovered store has it; a second JRE's store under /opt that lacks it is a
    // problem.
    store_with_key(&root.join("opt/agent/jre/lib/security/cacerts"), "JKS");
    let o = run(anchorage(root).args(["--java-discover", "doctor", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("java:/opt/agent/jre/lib/security/cacerts"),
        "{problems} {}",
        stderr(&o)
    );
    assert!(
        !problems.contains("java:/etc/ssl/certs/java/cacerts"),
        "{problems}"
    );
    assert_ne!(code(&o), 0);
    let o = run(anchorage(root).args(["--java-discover", "list", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["certificates"][0]["stores"]
        .to_string()
        .contains("java:/etc/ssl/certs/java/cacerts"));
}

#[test]
fn a_link_leading_out_of_the_tree_is_refused() {
    let t = debian_tree();
    let root = t.path();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("cacerts");
    store_with_key(&victim, "JKS");
    let before = std::fs::read(&victim).unwrap();
    let sec = root.join("opt/jre/lib/security");
    std::fs::create_dir_all(&sec).unwrap();
    // Relative, climbing above the root: refused. An absolute one means a path in the tree.
    let up = "../".repeat(20) + victim.to_str().unwrap().trim_start_matches('/');
    std::os::unix::fs::symlink(&up, sec.join("cacerts")).unwrap();
    let o = install(root, &["/opt/jre/lib/security/cacerts"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    std::fs::remove_file(sec.join("cacerts")).unwrap();
    std::os::unix::fs::symlink(&victim, sec.join("cacerts")).unwrap();
    let o = install(root, &["/opt/jre/lib/security/cacerts"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 66, "{}", stderr(&o));
    assert_eq!(std::fs::read(&victim).unwrap(), before);
}

#[test]
fn mode_and_owner_are_kept() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let t = debian_tree();
    let root = t.path();
    let p12 = root.join("srv/ts.p12");
    store_with_key(&p12, "PKCS12");
    std::fs::set_permissions(&p12, std::fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = nix_uid() == 0;
    if is_root {
        std::os::unix::fs::chown(&p12, Some(4242), Some(4343)).unwrap();
    }
    let o = install(root, &["/srv/ts.p12"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m = std::fs::metadata(&p12).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o640);
    if is_root {
        assert_eq!((m.uid(), m.gid()), (4242, 4343));
    }
    let stray: Vec<_> = std::fs::read_dir(root.join("srv"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty());
}

fn nix_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(1)
}

/// ca-certificates-java's hook in a tree without an `update-ca-certificates` of its own: the
/// host's command pointed into the tree does not run the tree's update.d scripts, so nothing
/// would maintain /etc/ssl/certs/java/cacerts — anchorage writes it, and says why. (With the
/// tree's own command, the hook maintains it: tests/rootfs-java.sh.)
#[test]
fn a_hook_that_cannot_run_leaves_the_shared_store_to_anchorage() {
    use std::os::unix::fs::PermissionsExt;
    let t = debian_tree();
    let root = t.path();
    let shared = root.join("etc/ssl/certs/java/cacerts");
    store_with_key(&shared, "JKS");
    let hooks = root.join("etc/ca-certificates/update.d");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("jks-keystore"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(
        hooks.join("jks-keystore"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let o = install(root, &["/etc/ssl/certs/java/cacerts"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("no /usr/sbin/update-ca-certificates of its own")),
        "{:?}",
        r.warnings
    );
    assert!(listing(&shared, PASS).iter().any(|l| l.starts_with(ALIAS)));
}
