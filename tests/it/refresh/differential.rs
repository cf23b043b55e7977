//! Differential tests: for each scenario two identical trees; anchorage with `--refresh
//! native` on one and `--refresh hook` (the tree's own update-ca-certificates under chroot)
//! on the other; the trees must be identical — every path, type, mode, owner, link target and
//! file byte (timestamps excepted).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use super::oracle;
use crate::common::*;

/// Run `args` on two copies of `template`, natively and with the hook; the trees must match.
/// Returns the native run's report.
fn differential(template: &Path, args: &[&str], extra: &[PathBuf]) -> Report {
    let native = oracle::clone(template);
    let hook = oracle::clone(template);
    let mut reports = Vec::new();
    for (t, mode) in [(&native, "native"), (&hook, "hook")] {
        let o = run(anchorage(t.path())
            .args(["--format", "json"])
            .args(args)
            .args(["--refresh", mode])
            .args(extra)
            .env_remove("TMPDIR"));
        assert_eq!(code(&o), 0, "{mode}: {}", stderr(&o));
        reports.push(report(&o));
    }
    let (a, b) = (snapshot(native.path()), snapshot(hook.path()));
    let differ: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "{}: native {:?} / hook {:?}",
                k.display(),
                a.get(k),
                b.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "the trees differ:\n{}",
        differ.join("\n")
    );
    let hook_report = reports.pop().unwrap();
    let native_report = reports.pop().unwrap();
    assert_eq!(
        native_report.hook.as_ref().map(|h| h.command.clone()),
        Some(vec!["anchorage".to_string(), "native-refresh".to_string()])
    );
    let hook_cmd = hook_report.hook.as_ref().map(|h| h.command.join(" "));
    assert!(
        hook_cmd
            .as_deref()
            .is_some_and(|c| c.contains("update-ca-certificates")),
        "{hook_cmd:?}"
    );
    native_report
}

/// An image's tree: its own script already run, with update.d hooks.
fn image() -> tempfile::TempDir {
    let t = oracle::tree();
    oracle::add_update_d_hooks(t.path());
    oracle::refresh(t.path());
    t
}

/// Self-signed CAs named `cn` (`same_subject`: all with the one subject, different keys).
fn cas(dir: &Path, n: usize, cn: &str, same_subject: bool) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let mut p = CertificateParams::default();
            let name = if same_subject {
                cn.to_string()
            } else {
                format!("{cn} {i}")
            };
            p.distinguished_name.push(DnType::CommonName, name);
            p.distinguished_name
                .push(DnType::OrganizationName, "Anchorage Refresh Tests");
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            let path = dir.join(format!("ca-{i}.pem"));
            std::fs::write(
                &path,
                anchorage::cert::pem_encode("CERTIFICATE", cert.der()),
            )
            .unwrap();
            path
        })
        .collect()
}

#[test]
fn first_install_into_an_image() {
    let t = image();
    let r = differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
    // 10record, 20fails (its failure reported), 30-after_failure; not the other two.
    let names: Vec<&str> = r
        .hook
        .as_ref()
        .unwrap()
        .update_d
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "/etc/ca-certificates/update.d/10record",
            "/etc/ca-certificates/update.d/20fails",
            "/etc/ca-certificates/update.d/30-after_failure"
        ]
    );
    let out = std::fs::read_to_string(t.path().join("etc/10record.out")).unwrap();
    assert!(out.contains("from /etc/ssl/certs"), "{out}");
}

#[test]
fn first_install_into_a_tree_never_refreshed() {
    let t = oracle::tree();
    differential(t.path(), &["install"], &[fx("myNewCa.pem"), fx("ca2.pem")]);
}

#[test]
fn crlf_and_no_final_newline_as_sed_leaves_them() {
    let t = image();
    let local = t.path().join("usr/local/share/ca-certificates");
    let pem = std::fs::read_to_string(fx("ca3.pem")).unwrap();
    std::fs::write(
        local.join("admin crlf (x),y.crt"),
        pem.replace('\n', "\r\n"),
    )
    .unwrap();
    std::fs::write(local.join("no-newline.crt"), pem.trim_end()).unwrap();
    differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
}

#[test]
fn install_into_a_tree_with_a_thousand_managed_anchors_then_remove_and_sync() {
    let t = image();
    let srcs = tempfile::tempdir().unwrap();
    let many = cas(&srcs.path().join("many"), 1000, "Refresh Many", false);
    let o = run(anchorage(t.path())
        .args(["install", "--refresh", "hook"])
        .arg(srcs.path().join("many"))
        .env_remove("TMPDIR"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
    // Removal: the hook runs with --fresh.
    differential(t.path(), &["remove"], &many[..3]);
    // Sync to 100 of them.
    let keep = srcs.path().join("keep");
    std::fs::create_dir_all(&keep).unwrap();
    for p in &many[..100] {
        std::fs::copy(p, keep.join(p.file_name().unwrap())).unwrap();
    }
    differential(t.path(), &["sync"], &[keep]);
}

#[test]
fn debian_conf_add_then_remove() {
    let t = image();
    differential(
        t.path(),
        &["install", "--debian-conf"],
        &[fx("myNewCa.pem")],
    );
    let o = run(anchorage(t.path())
        .args(["install", "--debian-conf", "--refresh", "hook"])
        .arg(fx("myNewCa.pem"))
        .env_remove("TMPDIR"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    differential(t.path(), &["remove", "--debian-conf"], &[fx("myNewCa.pem")]);
}

#[test]
fn a_local_name_colliding_with_a_distribution_root() {
    let t = image();
    let stem = std::fs::read_dir(t.path().join("usr/share/ca-certificates/mozilla"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .min()
        .unwrap();
    std::fs::copy(
        fx("ca3.pem"),
        t.path().join("usr/local/share/ca-certificates").join(stem),
    )
    .unwrap();
    differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
}

#[test]
fn anchors_whose_subject_hashes_collide() {
    let t = image();
    let srcs = tempfile::tempdir().unwrap();
    let first = cas(&srcs.path().join("a"), 1, "Refresh Same Subject", true);
    let o = run(anchorage(t.path())
        .args(["install", "--refresh", "hook"])
        .args(&first)
        .env_remove("TMPDIR"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let more = cas(&srcs.path().join("b"), 3, "Refresh Same Subject", true);
    differential(t.path(), &["install"], &more);
    differential(t.path(), &["remove"], &first);
}

#[test]
fn a_deselected_conf_line() {
    let t = image();
    let conf = t.path().join("etc/ca-certificates.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("mozilla/"))
        .unwrap()
        .to_string();
    std::fs::write(&conf, text.replacen(&line, &format!("!{line}"), 1)).unwrap();
    let r = differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
    assert!(!r.hook.unwrap().update_d.is_empty());
}

/// ca-certificates-java's `/etc/ssl/certs/java/` (its `cacerts` a regular file) is a
/// subdirectory the script's recursive `find`s pass over: native refresh models it (install,
/// then a `--fresh` removal) instead of leaving such trees to the hook; a link below it is
/// still left to the hook.
#[test]
fn a_java_subdirectory_of_etc_ssl_certs() {
    let t = image();
    let java = t.path().join("etc/ssl/certs/java");
    std::fs::create_dir_all(java.join("nested")).unwrap();
    std::fs::write(java.join("cacerts"), b"\xfe\xed\xfe\xed not parsed").unwrap();
    std::fs::copy(fx("ca2.pem"), java.join("nested/cacerts.pem")).unwrap();
    differential(t.path(), &["install"], &[fx("myNewCa.pem")]);
    let installed = oracle::clone(t.path());
    let o = run(anchorage(installed.path())
        .args(["install", "--refresh", "native"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    differential(installed.path(), &["remove"], &[fx("myNewCa.pem")]);

    std::os::unix::fs::symlink("../ca-certificates.crt", java.join("link.pem")).unwrap();
    let o = run(anchorage(t.path())
        .args(["install", "--refresh", "native"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a link below /etc/ssl/certs"),
        "{}",
        stderr(&o)
    );
}
