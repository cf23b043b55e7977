//! Security review issue 13, items 12, 15 and 16e:
//!
//! * OpenSSL trust settings (`TRUSTED CERTIFICATE` aux data made with `openssl x509 -addtrust /
//!   -addreject -trustout`) that keep a CA from authenticating TLS servers refuse the install
//!   (65, nothing changed) instead of being dropped and the CA trusted for everything; settings
//!   that allow serverAuth install a plain certificate. Real openssl is the oracle: every
//!   refused variant is one `openssl verify -purpose sslserver` also rejects.
//! * `--nss-owner john.doe` is user `john.doe` when it exists, `browserbot.browserbot` still
//!   user + group.
//! * The `env`/`exec` bundle directory must be private to the caller: not a link, owned by the
//!   caller, not group/world-writable; `$ANCHORAGE_BUNDLE_DIR` refuses (77), `$XDG_RUNTIME_DIR`
//!   falls back to a fresh private directory.

use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `openssl x509 -in myNewCa.pem -trustout ARGS -out DIR/NAME`.
fn trusted(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let o = Command::new("openssl")
        .args(["x509", "-in"])
        .arg(fx("myNewCa.pem"))
        .args(args)
        .args(["-trustout", "-out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("-----BEGIN TRUSTED CERTIFICATE-----"));
    out
}

/// OpenSSL's own judgement: does tls.pem verify for a TLS server against `ca` alone?
fn openssl_trusts_for_servers(ca: &Path) -> bool {
    Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-CAfile"])
        .arg(ca)
        .arg(fx("tls.pem"))
        .output()
        .unwrap()
        .status
        .success()
}

fn assert_refused(args: &[&str], why: &str) {
    let src = tempfile::tempdir().unwrap();
    let ca = trusted(src.path(), "ca.pem", args);
    assert!(!openssl_trusts_for_servers(&ca), "openssl agrees: {args:?}");
    let t = debian_tree();
    let root = t.path();
    let before = snapshot(root);
    let o = run(anchorage(root).arg("install").arg(&ca));
    let err = stderr(&o);
    assert_eq!(code(&o), 65, "{err}");
    assert!(err.contains(&ca.display().to_string()), "{err}");
    assert!(err.contains(why), "{err}");
    assert!(err.contains("-addtrust serverAuth"), "the fix: {err}");
    assert_eq!(snapshot(root), before, "nothing changed");
}

#[test]
fn rejected_server_auth_is_refused_and_nothing_changes() {
    assert_refused(
        &["-addreject", "serverAuth"],
        "OpenSSL trust settings reject serverAuth",
    );
}

#[test]
fn rejected_any_extended_key_usage_is_refused() {
    assert_refused(
        &[
            "-addtrust",
            "serverAuth",
            "-addreject",
            "anyExtendedKeyUsage",
        ],
        "reject anyExtendedKeyUsage",
    );
}

#[test]
fn trusted_for_client_auth_only_is_refused() {
    assert_refused(
        &["-addtrust", "clientAuth"],
        "trust it only for clientAuth, not serverAuth",
    );
}

/// Install `ca` and check it verifies tls.pem and landed as a plain certificate.
fn assert_installed_plain(ca: &Path) {
    assert!(openssl_trusts_for_servers(ca), "openssl agrees");
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root).arg("install").arg(ca));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    let local = root.join("usr/local/share/ca-certificates");
    let files: Vec<_> = walkdir::WalkDir::new(&local)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.starts_with("-----BEGIN CERTIFICATE-----") && !text.contains("TRUSTED"),
        "the trust settings are dropped: {text}"
    );
    assert_eq!(
        openssl_sha256(&files[0]),
        openssl_sha256(&fx("myNewCa.pem"))
    );
}

#[test]
fn trusted_for_server_auth_is_installed_as_a_plain_certificate_and_verifies() {
    let src = tempfile::tempdir().unwrap();
    // Another purpose rejected and an alias: still fine for TLS servers.
    let ca = trusted(
        src.path(),
        "ca.pem",
        &[
            "-addtrust",
            "serverAuth",
            "-addreject",
            "emailProtection",
            "-setalias",
            "my alias",
        ],
    );
    assert_installed_plain(&ca);
}

#[test]
fn trustout_without_settings_is_installed() {
    let src = tempfile::tempdir().unwrap();
    assert_installed_plain(&trusted(src.path(), "ca.pem", &[]));
}

#[test]
fn a_refusing_file_inside_a_directory_source_refuses_the_run() {
    // Bad certificates inside a directory refuse the run (expired, leaf, broken: 65); only
    // files that hold no certificate are skipped. A refused CA is a certificate.
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(fx("ca2.pem"), src.path().join("a-good.pem")).unwrap();
    let bad = trusted(src.path(), "b-rejected.pem", &["-addreject", "serverAuth"]);
    let t = debian_tree();
    let root = t.path();
    let before = snapshot(root);
    let o = run(anchorage(root).arg("install").arg(src.path()));
    let err = stderr(&o);
    assert_eq!(code(&o), 65, "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert_eq!(
        snapshot(root),
        before,
        "nothing changed, not even a-good.pem"
    );
}

#[test]
fn a_refusing_copy_wins_over_a_plain_copy_of_the_same_certificate() {
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(fx("myNewCa.pem"), src.path().join("a-plain.pem")).unwrap();
    trusted(src.path(), "b-rejected.pem", &["-addreject", "serverAuth"]);
    let t = debian_tree();
    let o = run(anchorage(t.path()).arg("install").arg(src.path()));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(stderr(&o).contains("b-rejected.pem"), "{}", stderr(&o));
}

#[test]
fn a_refusing_file_still_selects_its_certificate_for_remove() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let src = tempfile::tempdir().unwrap();
    let ca = trusted(src.path(), "ca.pem", &["-addreject", "serverAuth"]);
    let o = run(anchorage(root).arg("remove").arg(&ca));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
}

#[test]
fn malformed_trust_settings_are_refused_as_openssl_refuses_them() {
    let src = tempfile::tempdir().unwrap();
    let der = std::fs::read(fx("myNewCa.der")).unwrap();
    // SEQUENCE { INTEGER 1 }: not an X509_CERT_AUX.
    let bytes = [der, vec![0x30, 0x03, 0x02, 0x01, 0x01]].concat();
    let b64 = String::from_utf8(
        Command::new("openssl")
            .args(["base64", "-e"])
            .stdin(
                std::fs::File::open({
                    let p = src.path().join("raw");
                    std::fs::write(&p, &bytes).unwrap();
                    p
                })
                .unwrap(),
            )
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let ca = src.path().join("bad-aux.pem");
    std::fs::write(
        &ca,
        format!("-----BEGIN TRUSTED CERTIFICATE-----\n{b64}-----END TRUSTED CERTIFICATE-----\n"),
    )
    .unwrap();
    // `openssl x509` reads the block as a plain certificate; a trust store load (-CAfile)
    // decodes the settings, and refuses these.
    let openssl = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(fx("tls.pem"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&openssl.stderr).contains("Error loading file"),
        "openssl refuses it too"
    );
    let t = debian_tree();
    let root = t.path();
    let before = snapshot(root);
    let o = run(anchorage(root).arg("install").arg(&ca));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("malformed OpenSSL trust settings"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(root), before);
}

// --- item 15: --nss-owner USER.GROUP vs a user name with a dot ---------------------------------

const DB: &str = "/var/lib/te-browserbot/.pki/nssdb";

fn install_with_owner(owner: &str) -> (u32, u32) {
    let t = debian_tree();
    let root = t.path();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\njohn:x:1000:1000::/home/john:/bin/sh\njohn.doe:x:4100:4200::/home/jd:/bin/sh\nbrowserbot:x:4242:4343::/var/lib/te-browserbot:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\njohn:x:1000:\ndoe:x:4300:\njd:x:4200:\nbrowserbot:x:4343:\n",
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--nssdb", DB, "--nss-owner", owner])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{owner}: {}", stderr(&o));
    let db = root.join(DB.trim_start_matches('/'));
    let owners: Vec<(u32, u32)> = [db.clone(), db.join("cert9.db"), db.join("key4.db")]
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).unwrap();
            (m.uid(), m.gid())
        })
        .collect();
    assert!(owners.iter().all(|o| *o == owners[0]), "{owners:?}");
    owners[0]
}

#[test]
fn nss_owner_with_a_dot_is_the_exact_user_when_that_user_exists() {
    // Before: split at the dot into user john (1000), group doe (4300).
    assert_eq!(install_with_owner("john.doe"), (4100, 4200));
}

#[test]
fn nss_owner_user_dot_group_still_splits_when_no_such_user_exists() {
    // The vendor guide's form.
    assert_eq!(install_with_owner("browserbot.browserbot"), (4242, 4343));
    assert_eq!(install_with_owner("john.jd"), (1000, 4200));
    assert_eq!(install_with_owner("john.doe:doe"), (4100, 4300));
}

// --- item 16e: the env/exec bundle directory must be private --------------------------------

/// `anchorage env SOURCE` with only `vars` set among the bundle-directory variables, as root or
/// (with `as_nobody`) as uid 65534.
fn env_run(vars: &[(&str, &Path)], as_nobody: bool) -> std::process::Output {
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A source every user can read.
    let src = tempfile::tempdir().unwrap();
    std::fs::set_permissions(src.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca = src.path().join("ca.pem");
    std::fs::copy(fx("myNewCa.pem"), &ca).unwrap();
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let c = anchorage(root);
    let mut cmd = if as_nobody {
        let mut s = Command::new("setpriv");
        s.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(c.get_program());
        s
    } else {
        Command::new(c.get_program())
    };
    cmd.args(c.get_args()).arg("env").arg(&ca);
    for v in [
        "ANCHORAGE_BUNDLE_DIR",
        "XDG_RUNTIME_DIR",
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "SSL_CERT_DIR",
        "ANCHORAGE_PASSWORD",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let o = run(&mut cmd);
    drop(t);
    o
}

/// The bundle path `env` exported.
fn exported(o: &std::process::Output) -> PathBuf {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("export SSL_CERT_FILE="))
        .unwrap_or_else(|| panic!("no export in {out}"));
    PathBuf::from(line.trim_matches('\''))
}

/// A directory in /tmp owned by `uid` with `mode`.
fn dir_in_tmp(uid: u32, mode: u32) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("trust-settings-")
        .tempdir_in("/tmp")
        .unwrap();
    std::os::unix::fs::chown(d.path(), Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    d
}

#[test]
fn bundle_dir_owned_by_another_user_is_refused() {
    let d = dir_in_tmp(65534, 0o700);
    let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", d.path())], false);
    let err = stderr(&o);
    assert_eq!(code(&o), 77, "{err}");
    assert!(err.contains(&d.path().display().to_string()), "{err}");
    assert!(err.contains("owner uid 65534"), "{err}");
    assert!(err.contains("mkdir -m 700"), "the fix: {err}");
    assert!(o.stdout.is_empty());
    assert!(!d.path().join("anchorage-ca-bundle.pem").exists());
}

#[test]
fn world_writable_bundle_dir_is_refused() {
    let d = dir_in_tmp(0, 0o777);
    let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", d.path())], false);
    let err = stderr(&o);
    assert_eq!(code(&o), 77, "{err}");
    assert!(err.contains("mode 0777"), "{err}");
    assert!(!d.path().join("anchorage-ca-bundle.pem").exists());
}

#[test]
fn bundle_dir_that_is_a_symbolic_link_is_refused() {
    let d = dir_in_tmp(0, 0o700);
    let link = d.path().join("link");
    let target = d.path().join("real");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", &link)], false);
    let err = stderr(&o);
    assert_eq!(code(&o), 77, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!target.join("anchorage-ca-bundle.pem").exists());
}

#[test]
fn bundle_dir_under_a_directory_others_can_write_is_refused() {
    // The directory itself is private, but whoever owns its parent can rename it away.
    let parent = dir_in_tmp(65534, 0o755);
    let d = parent.path().join("mine");
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", &d)], false);
    let err = stderr(&o);
    assert_eq!(code(&o), 77, "{err}");
    assert!(err.contains("another user can change"), "{err}");
}

#[test]
fn private_bundle_dir_is_used_as_root_and_as_an_unprivileged_user() {
    for (uid, as_nobody) in [(0, false), (65534, true)] {
        let d = dir_in_tmp(uid, 0o700);
        let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", d.path())], as_nobody);
        assert_eq!(code(&o), 0, "uid {uid}: {}", stderr(&o));
        let bundle = exported(&o);
        assert_eq!(bundle, d.path().join("anchorage-ca-bundle.pem"));
        let m = std::fs::symlink_metadata(&bundle).unwrap();
        assert!(m.is_file());
        assert_eq!((m.uid(), m.mode() & 0o777), (uid, 0o644));
        assert!(verifies(
            Path::new("/"),
            bundle.to_str().unwrap(),
            &fx("tls.pem")
        ));
        // Only the bundle and the Java truststore beside it (issue 15): no temporary left
        // behind.
        let mut names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["anchorage-ca-bundle.pem", "anchorage-truststore.p12"]
        );
        let p12 = std::fs::symlink_metadata(d.path().join("anchorage-truststore.p12")).unwrap();
        assert_eq!((p12.uid(), p12.mode() & 0o777), (uid, 0o644));
    }
}

#[test]
fn a_bundle_dir_owned_by_root_is_refused_to_an_unprivileged_caller() {
    let d = dir_in_tmp(0, 0o755);
    let o = env_run(&[("ANCHORAGE_BUNDLE_DIR", d.path())], true);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(stderr(&o).contains("owner uid 0"), "{}", stderr(&o));
}

#[test]
fn a_foreign_xdg_runtime_dir_falls_back_to_a_fresh_private_directory() {
    // As after `su`: root with another user's runtime directory.
    let d = dir_in_tmp(65534, 0o700);
    let o = env_run(&[("XDG_RUNTIME_DIR", d.path())], false);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bundle = exported(&o);
    let dir = bundle.parent().unwrap().to_path_buf();
    assert!(!bundle.starts_with(d.path()), "{}", bundle.display());
    assert!(
        dir.to_string_lossy().starts_with("/tmp/anchorage-"),
        "{}",
        bundle.display()
    );
    let m = std::fs::symlink_metadata(&dir).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o700));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("# note: $XDG_RUNTIME_DIR not used") && out.contains("owner uid 65534"),
        "{out}"
    );
    assert!(verifies(
        Path::new("/"),
        bundle.to_str().unwrap(),
        &fx("tls.pem")
    ));
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_private_xdg_runtime_dir_is_used() {
    let d = dir_in_tmp(0, 0o700);
    let o = env_run(&[("XDG_RUNTIME_DIR", d.path())], false);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(exported(&o), d.path().join("anchorage-ca-bundle.pem"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("# note"));
}

#[test]
fn verify_ca_file_does_not_trust_a_ca_whose_settings_reject_server_auth() {
    // As `openssl verify -purpose sslserver -CAfile` does.
    let t = debian_tree();
    let src = tempfile::tempdir().unwrap();
    let server = crate::verify::server::s_server("tls.pem", "tls.key.pem", &[]);
    let verify = |ca: &Path| {
        let mut c = anchorage(t.path());
        for v in [
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            c.env_remove(v);
        }
        run(c.args(["verify", "--ca-file"]).arg(ca).arg(server.target()))
    };
    let rejected = trusted(src.path(), "rejected.pem", &["-addreject", "serverAuth"]);
    let o = verify(&rejected);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("reject serverAuth"), "{out}");
    let allowed = trusted(src.path(), "allowed.pem", &["-addtrust", "serverAuth"]);
    let o = verify(&allowed);
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}
