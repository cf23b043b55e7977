//! Issue 16, part 4, on Debian trees with the real hook: an anchor already trusted through a
//! file anchorage does not manage (an administrator's `.crt`, a distribution root) is
//! `unchanged` with "already trusted via …" (nothing written, no hook) and installed once that
//! file is gone; removing an anchor the distribution also ships succeeds and says it stays;
//! `sync` removes from whichever Debian placement (conf or directory) holds an anchor.

use crate::common::*;
use std::path::Path;
use std::process::Command;

fn hook(root: &Path) {
    let o = Command::new("update-ca-certificates")
        .arg("--certsconf")
        .arg(root.join("etc/ca-certificates.conf"))
        .arg("--certsdir")
        .arg(root.join("usr/share/ca-certificates"))
        .arg("--localcertsdir")
        .arg(root.join("usr/local/share/ca-certificates"))
        .arg("--etccertsdir")
        .arg(root.join("etc/ssl/certs"))
        .arg("--hooksdir")
        .arg(root.join("etc/ca-certificates/update.d"))
        .arg("--fresh")
        .output()
        .expect("update-ca-certificates");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn install(root: &Path, args: &[&str], file: &Path) -> (i32, Report, String) {
    let o = run(anchorage(root)
        .args(["--format", "json", "install"])
        .args(args)
        .arg(file));
    (code(&o), report(&o), stderr(&o))
}

const BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

#[test]
fn an_anchor_an_admin_file_already_provides_is_unchanged_and_installed_once_that_file_is_gone() {
    let t = debian_tree();
    let root = t.path();
    let admin = root.join("usr/local/share/ca-certificates/corp-root.crt");
    std::fs::copy(fx("myNewCa.pem"), &admin).unwrap();
    hook(root);
    let before = snapshot(root);
    let (rc, r, _) = install(root, &[], &fx("myNewCa.pem"));
    assert_eq!(rc, 0);
    assert!(!r.changed);
    assert_eq!(r.certificates[0].action, "unchanged");
    assert!(r.hook.is_none(), "no hook: {:?}", r.hook);
    let note = r
        .warnings
        .iter()
        .find(|w| w.contains("already trusted via"))
        .expect("the note");
    assert!(
        note.ends_with("not installed again (nothing written, no hook)")
            && note.contains("/usr/local/share/ca-certificates/corp-root.crt"),
        "{note}"
    );
    assert_eq!(snapshot(root), before, "nothing written");

    // The administrator's file goes (and the bundle with it): the next run installs it.
    std::fs::remove_file(&admin).unwrap();
    hook(root);
    let (rc, r, err) = install(root, &[], &fx("myNewCa.pem"));
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r.certificates[0].action, "added");
    assert!(verifies(root, BUNDLE, &fx("tls.pem")));

    // A file gone but a bundle not rebuilt since: no source provides it, so it is installed.
    let t2 = debian_tree();
    let root2 = t2.path();
    let admin = root2.join("usr/local/share/ca-certificates/corp-root.crt");
    std::fs::copy(fx("myNewCa.pem"), &admin).unwrap();
    hook(root2);
    std::fs::remove_file(&admin).unwrap();
    let (rc, r, err) = install(root2, &[], &fx("myNewCa.pem"));
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r.certificates[0].action, "added");
}

/// A distribution root (ISRG Root X2, from the Mozilla set the tree ships).
fn distribution_root(root: &Path) -> std::path::PathBuf {
    let p = root.join("usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt");
    assert!(p.is_file(), "the Mozilla set has ISRG Root X2");
    let copy = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    std::fs::copy(&p, &copy).unwrap();
    copy
}

#[test]
fn a_distribution_root_is_already_trusted_and_removing_a_managed_copy_of_it_succeeds() {
    let t = debian_tree();
    let root = t.path();
    hook(root);
    let x2 = distribution_root(root);
    let (rc, r, _) = install(root, &[], &x2);
    assert_eq!(rc, 0);
    assert_eq!(r.certificates[0].action, "unchanged");
    assert!(r
        .warnings
        .iter()
        .any(|w| w
            .contains("already trusted via the distribution bundle (/usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt)")));
    // A managed copy anyway (as a version before issue 16 made, or --no-update), then remove:
    // the effect check expects it to stay, and the run says why.
    let (rc, r, err) = install(root, &["--no-update"], &x2);
    assert_eq!(rc, 0, "{err}");
    let name = r.certificates[0].name.clone();
    let o = run(anchorage(root).args(["--format", "json", "remove", &name]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r.certificates[0].action, "removed");
    assert!(
        r.warnings.iter().any(|w| w.contains("stays trusted")
            && w.contains("/usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt")),
        "{:?}",
        r.warnings
    );
    let _ = std::fs::remove_file(x2);
}

#[test]
fn sync_removes_from_the_debian_conf_placement_too() {
    let t = debian_tree();
    let root = t.path();
    let (rc, _, err) = install(root, &["--debian-conf"], &fx("myNewCa.pem"));
    assert_eq!(rc, 0, "{err}");
    assert!(verifies(root, BUNDLE, &fx("tls.pem")));
    // Directory mode: the conf placement's anchor is not installed a second time.
    let (rc, r, _) = install(root, &[], &fx("myNewCa.pem"));
    assert_eq!(rc, 0);
    assert_eq!(r.certificates[0].action, "unchanged");
    assert!(r.hook.is_none());
    let empty = tempfile::tempdir().unwrap();
    let o = run(anchorage(root)
        .args(["--format", "json", "sync"])
        .arg(empty.path()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.changed);
    assert_eq!(r.certificates[0].action, "removed");
    assert!(!verifies(root, BUNDLE, &fx("tls.pem")));
    let conf = std::fs::read_to_string(root.join("etc/ca-certificates.conf")).unwrap();
    assert!(!conf.contains("anchorage/"), "{conf}");
}

/// An Alpine tree whose own hook is a STAND-IN (run by a static busybox shell, as in
/// `safety/hooks.rs`): the bundle is the distribution's Mozilla file + the local anchors, as
/// Alpine's `update-ca-certificates` builds it.
fn alpine_tree_with_vendor_root() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = family_tree("alpine", "");
    let root = t.path();
    for d in [
        "bin",
        "usr/sbin",
        "etc/ssl/certs",
        "usr/local/share/ca-certificates",
        "usr/share/ca-certificates/mozilla",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (apt-get install busybox-static)");
    for applet in ["sh", "cat"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::copy(
        "/usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt",
        root.join("usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt"),
    )
    .unwrap();
    let h = root.join("usr/sbin/update-ca-certificates");
    std::fs::write(
        &h,
        "#!/bin/sh\n# STAND-IN for Alpine's update-ca-certificates\nfor f in /usr/share/ca-certificates/mozilla/*.crt /usr/local/share/ca-certificates/*.crt; do\n  if [ -f \"$f\" ]; then cat \"$f\"; fi\ndone > /etc/ssl/certs/ca-certificates.crt\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

#[test]
fn removing_a_distribution_root_succeeds_off_debian_too() {
    // Issue 16 §4 on a non-Debian layout: the family's vendor directory still provides the
    // anchor that stays after the hook — not a failed removal; the note names that file.
    let t = alpine_tree_with_vendor_root();
    let root = t.path();
    let x2 = distribution_root(root);
    let (rc, r, err) = install(root, &[], &x2);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r.platform, "alpine");
    assert_eq!(r.certificates[0].action, "added");
    let name = r.certificates[0].name.clone();
    let o = run(anchorage(root).args(["--format", "json", "remove", &name]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r.certificates[0].action, "removed");
    assert!(
        r.warnings.iter().any(|w| w.contains("stays trusted")
            && w.contains(
                "the distribution bundle (/usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt)"
            )),
        "{:?}",
        r.warnings
    );
    let _ = std::fs::remove_file(x2);
}
