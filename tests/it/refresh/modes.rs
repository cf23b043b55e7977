//! `--refresh auto|native|hook` and `ANCHORAGE_REFRESH`: which one runs and says so; native
//! refusing a tree it does not model (nothing in /etc/ssl/certs written) while auto falls back
//! to the hook; the host hook's links rewritten to the tree's own paths; doctor's link check.

use std::path::Path;
use std::process::Command;

use super::oracle;
use crate::common::*;

fn native_command(r: &Report) -> bool {
    r.hook
        .as_ref()
        .is_some_and(|h| h.command == ["anchorage", "native-refresh"])
}

#[test]
fn auto_is_native_for_the_proven_script_and_the_hook_for_another() {
    let t = oracle::tree();
    oracle::refresh(t.path());
    let o = run(anchorage(t.path())
        .args(["-v", "--format", "json", "install"])
        .arg(fx("myNewCa.pem"))
        .env_remove("ANCHORAGE_REFRESH"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refresh: native (update-ca-certificates is ca-certificates 20"),
        "{}",
        stderr(&o)
    );
    assert!(native_command(&report(&o)));
    // ANCHORAGE_REFRESH=hook: the tree's script under chroot.
    let o = run(anchorage(t.path())
        .args(["--format", "json", "install"])
        .arg(fx("ca2.pem"))
        .env("ANCHORAGE_REFRESH", "hook"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.hook.unwrap().command[0].ends_with("chroot"));
    // A script native refresh was not proven against: auto runs it.
    let script = t.path().join("usr/sbin/update-ca-certificates");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("# locally changed\n");
    std::fs::write(&script, text).unwrap();
    let o = run(anchorage(t.path())
        .args(["-v", "--format", "json", "install"])
        .arg(fx("ca3.pem"))
        .env_remove("ANCHORAGE_REFRESH"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("refresh: the hook"), "{}", stderr(&o));
    assert!(!native_command(&report(&o)));
}

#[test]
fn native_refuses_what_it_does_not_model_and_auto_falls_back() {
    let t = oracle::tree();
    oracle::refresh(t.path());
    // A subdirectory of /etc/ssl/certs (the script's `find`s descend into it).
    std::fs::create_dir(t.path().join("etc/ssl/certs/sub")).unwrap();
    let before = snapshot(&t.path().join("etc/ssl/certs"));
    let o = run(anchorage(t.path())
        .args(["install", "--refresh", "native"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--refresh hook"), "{}", stderr(&o));
    assert_eq!(before, snapshot(&t.path().join("etc/ssl/certs")));
    let o = run(anchorage(t.path())
        .args(["-v", "--format", "json", "install", "--refresh", "auto"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not model this tree"),
        "{}",
        stderr(&o)
    );
    assert!(!native_command(&report(&o)));
    assert!(verifies(t.path(), DEBIAN_BUNDLE, &fx("tls.pem")));
}

/// Every link of /etc/ssl/certs names a path inside the tree, and resolves there.
fn links_are_the_trees_own(root: &Path) {
    let certs = root.join("etc/ssl/certs");
    let mut n = 0;
    for e in std::fs::read_dir(&certs).unwrap() {
        let p = e.unwrap().path();
        let Ok(target) = std::fs::read_link(&p) else {
            continue;
        };
        n += 1;
        assert!(
            !target.starts_with(root),
            "{} -> {}",
            p.display(),
            target.display()
        );
        let inside = if target.is_absolute() {
            root.join(target.strip_prefix("/").unwrap())
        } else {
            certs.join(&target)
        };
        assert!(
            inside.symlink_metadata().is_ok(),
            "{} -> {}",
            p.display(),
            target.display()
        );
    }
    assert!(n > 200, "{n} links");
}

#[test]
fn host_hook_links_are_rewritten_into_the_tree_and_doctor_reports_host_paths() {
    // No hook of its own: the host's, pointed into the tree.
    let t = debian_tree();
    let root = t.path();
    for args in [&["install"][..], &["remove"][..]] {
        let o = run(anchorage(root)
            .args(args)
            .args(["--refresh", "hook"])
            .arg(fx("myNewCa.pem")));
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        links_are_the_trees_own(root);
    }
    let o = run(anchorage(root).args(["doctor", "--format", "json"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("/etc/ssl/certs ("), "{out}");
    // The raw host hook into the tree (what anchorage did before): doctor says so.
    let tree = |rel: &str| root.join(rel);
    let st = Command::new("update-ca-certificates")
        .arg("--certsconf")
        .arg(tree("etc/ca-certificates.conf"))
        .arg("--certsdir")
        .arg(tree("usr/share/ca-certificates"))
        .arg("--localcertsdir")
        .arg(tree("usr/local/share/ca-certificates"))
        .arg("--etccertsdir")
        .arg(tree("etc/ssl/certs"))
        .arg("--hooksdir")
        .arg(tree("nonexistent"))
        .arg("--fresh")
        .output()
        .unwrap();
    assert!(st.status.success());
    let o = run(anchorage(root).args(["doctor"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
    assert!(out.contains("point at the tree's host path"), "{out}");
    // Native refresh puts them right.
    let o = run(anchorage(root)
        .args(["install", "--refresh", "native"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    links_are_the_trees_own(root);
}
