//! Certificate text is data (issue 13 §5, §8, §16a): subjects carrying a newline and a PEM
//! block, a forged `added` line, ESC/NUL/bidi characters; a CA named like a distribution root
//! (Debian's `/etc/ssl/certs/NAME.pem` links); `--name` values certutil cannot list back.
//! Certificates are made with rcgen (any string in the DN), checked with the real openssl,
//! update-ca-certificates and certutil.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

use crate::common::*;

fn ca_params(cn: &str, org: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

fn pem(der: &[u8]) -> String {
    anchorage::cert::pem_encode("CERTIFICATE", der)
}

/// A self-signed CA whose subject is `O=org, CN=cn` (any characters), as PEM.
fn ca_pem(cn: &str, org: &str) -> String {
    let key = KeyPair::generate().expect("key");
    pem(ca_params(cn, org)
        .self_signed(&key)
        .expect("self-sign")
        .der())
}

/// An intermediate CA issued by a CA named `O=org, CN=cn`, as PEM.
fn intermediate_pem(cn: &str, org: &str) -> String {
    let (issuer, issuer_key) = (ca_params(cn, org), KeyPair::generate().expect("key"));
    let key = KeyPair::generate().expect("key");
    pem(ca_params("Intermediate", "Org")
        .signed_by(&key, &Issuer::from_params(&issuer, &issuer_key))
        .expect("issue")
        .der())
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).expect("write");
    p
}

/// `openssl verify` of `cert` against a CA file or a hashed directory, and nothing else (without
/// `-no-*`, openssl also trusts the host's default file or directory).
/// `/etc/ssl/certs` of the tree under `root` as a program inside the tree sees it: a copy whose
/// absolute links point into the tree (links now name the tree's own paths, issue 18), for
/// `openssl verify -CApath` run from the host.
fn capath_view(root: &Path) -> tempfile::TempDir {
    let view = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root.join("etc/ssl/certs")).unwrap() {
        let e = e.unwrap();
        let dest = view.path().join(e.file_name());
        match std::fs::read_link(e.path()) {
            Ok(t) if t.is_absolute() && !t.starts_with(root) => {
                std::os::unix::fs::symlink(root.join(t.strip_prefix("/").unwrap()), dest).unwrap()
            }
            Ok(t) => std::os::unix::fs::symlink(t, dest).unwrap(),
            Err(_) => {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }
    view
}

fn openssl_verify(flag: &str, trust: &Path, cert: &Path) -> bool {
    let only = match flag {
        "-CApath" => ["-no-CAfile", "-no-CAstore"],
        _ => ["-no-CApath", "-no-CAstore"],
    };
    Command::new("openssl")
        .arg("verify")
        .args(only)
        .arg(flag)
        .arg(trust)
        .arg(cert)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const UNSAFE: &[char] = &[
    '\u{1b}', '\0', '\u{7}', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2066}',
];

fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for c in UNSAFE {
        assert!(!text.contains(*c), "{what} holds a raw {c:?}: {text:?}");
    }
}

#[test]
fn subject_with_a_pem_block_adds_no_hidden_anchor_to_the_env_bundle() {
    let t = debian_tree();
    let src = tempfile::tempdir().unwrap();
    let hidden_pem = ca_pem("Hidden Anchor", "Nobody");
    let hidden = write(src.path(), "hidden.pem", &hidden_pem);
    let evil = write(
        src.path(),
        "evil.pem",
        &ca_pem(&format!("Evil\n{hidden_pem}"), "Evil Org"),
    );
    let out = tempfile::tempdir().unwrap();
    let mut cmd = anchorage(t.path());
    for k in [
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "XDG_RUNTIME_DIR",
    ] {
        cmd.env_remove(k);
    }
    let o = run(cmd
        .env("ANCHORAGE_BUNDLE_DIR", out.path())
        .arg("env")
        .arg(&evil));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bundle = out.path().join("anchorage-ca-bundle.pem");
    // The tree has no system bundle yet: exactly the one source certificate (a PEM block
    // starts a line; the subject's copy stays inside the one comment line).
    let text = std::fs::read_to_string(&bundle).unwrap();
    let blocks = text.lines().filter(|l| l.starts_with("-----BEGIN")).count();
    assert_eq!(blocks, 1, "{text}");
    assert!(openssl_verify("-CAfile", &bundle, &evil));
    assert!(
        !openssl_verify("-CAfile", &bundle, &hidden),
        "the hidden certificate is trusted through the bundle"
    );
    assert!(text.contains("# anchorage: "), "{text}");
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() == 1,
        "{text}"
    );
}

#[test]
fn common_name_cannot_forge_lines_of_the_text_report() {
    let t = debian_tree();
    let src = tempfile::tempdir().unwrap();
    let forged = "Real CA\nadded        Forged_CA  CN=Forged CA  sha256:0000000000000000…";
    let ca = write(
        src.path(),
        "ca.pem",
        &ca_pem(forged, "Org\nnote: all is well"),
    );
    let o = run(anchorage(t.path())
        .args(["install", "--no-update"])
        .arg(&ca));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let added: Vec<&str> = stdout.lines().filter(|l| l.starts_with("added")).collect();
    assert_eq!(added.len(), 1, "{stdout}");
    assert!(added[0].contains("\\nadded"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("note:")), "{stdout}");
    let o = run(anchorage(t.path()).arg("list"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.lines().any(|l| l.starts_with("added")), "{stdout}");
    // JSON keeps the real subject.
    let o = run(anchorage(t.path()).args(["list", "--format", "json"]));
    let l: List = parse("list", &o.stdout);
    assert!(
        l.certificates[0].subject.contains(forged),
        "{:?}",
        l.certificates[0].subject
    );
}

#[test]
fn escape_nul_and_bidi_bytes_never_reach_the_terminal() {
    let t = debian_tree();
    let root = t.path();
    let src = tempfile::tempdir().unwrap();
    let cn = "Red\u{1b}[31mCA\u{1b}]0;title\u{7}\0nul\u{7f}\u{9b}2J\u{202e}gpj.exe\u{2066}";
    let ca = write(src.path(), "ca.pem", &ca_pem(cn, "Org\u{1b}[2J"));
    let mut outputs = Vec::new();
    for args in [
        &["install", "--no-update", "--check"][..],
        &["install", "--no-update"],
        &["install", "--no-update", "-v"],
        &["list"],
        &["doctor"],
    ] {
        let mut cmd = anchorage(root);
        cmd.args(args);
        if args[0] == "install" {
            cmd.arg(&ca);
        }
        outputs.push((args.join(" "), run(&mut cmd)));
    }
    // An error quoting the issuer: an intermediate issued by that name is refused.
    let sub = write(src.path(), "sub.pem", &intermediate_pem(cn, "Org"));
    let o = run(anchorage(root).args(["install", "--no-update"]).arg(&sub));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("intermediate CA issued by"),
        "{}",
        stderr(&o)
    );
    outputs.push(("install intermediate".into(), o));
    // A warning quoting a selector.
    let o = run(anchorage(root).args(["remove", "--no-update", "Red\u{1b}[31m\u{202e}"]));
    assert!(
        stderr(&o).contains("Red\\x1b[31m\\u{202e}"),
        "{}",
        stderr(&o)
    );
    outputs.push(("remove".into(), o));
    for (what, o) in &outputs {
        assert_no_raw_controls(&format!("{what}: stdout"), &o.stdout);
        assert_no_raw_controls(&format!("{what}: stderr"), &o.stderr);
    }
    let install = &outputs[1].1;
    let stdout = String::from_utf8_lossy(&install.stdout);
    assert!(
        stdout.contains("Red\\x1b[31mCA")
            && stdout.contains("\\0nul")
            && stdout.contains("\\u{202e}"),
        "{stdout}"
    );
    // JSON carries the real subject.
    let o = run(anchorage(root).args(["list", "--format", "json"]));
    let l: List = parse("list", &o.stdout);
    assert!(
        l.certificates[0].subject.contains(cn),
        "{:?}",
        l.certificates[0].subject
    );
}

#[test]
fn ca_named_like_a_distribution_root_leaves_the_root_verifiable() {
    let t = debian_tree();
    let root = t.path();
    let real = root.join("usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt");
    assert!(real.is_file(), "the host has no ISRG Root X1");
    let src = tempfile::tempdir().unwrap();
    let fake = write(
        src.path(),
        "fake.pem",
        &ca_pem("ISRG Root X1", "Internet Security Research Group"),
    );
    let o = run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(&fake));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    let name = &r.certificates[0].name;
    assert_ne!(name, "ISRG_Root_X1");
    assert!(name.starts_with("ISRG_Root_X1-"), "{name}");
    let certs = root.join("etc/ssl/certs");
    let link = std::fs::read_link(certs.join("ISRG_Root_X1.pem")).unwrap();
    assert!(
        link.ends_with("mozilla/ISRG_Root_X1.crt"),
        "{}",
        link.display()
    );
    assert!(
        openssl_verify("-CApath", capath_view(root).path(), &real),
        "the real root lost its hash link"
    );
    assert!(openssl_verify("-CApath", capath_view(root).path(), &fake));
    let bundle = root.join(DEBIAN_BUNDLE);
    assert!(openssl_verify("-CAfile", &bundle, &real));
    assert!(openssl_verify("-CAfile", &bundle, &fake));
    // The same name every run: nothing churns.
    let again = report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(&fake)));
    assert!(!again.changed);
    assert_eq!(&again.certificates[0].name, name);
    let d: Doctor = parse(
        "doctor",
        &run(anchorage(root).args(["doctor", "--format", "json"])).stdout,
    );
    assert!(d.ok && d.shadowing.is_empty(), "{:?}", d.problems);
}

#[test]
fn explicit_name_of_a_distribution_root_is_refused_and_changes_nothing() {
    let t = debian_tree();
    let root = t.path();
    let src = tempfile::tempdir().unwrap();
    let fake = write(src.path(), "fake.pem", &ca_pem("Corp CA", "Corp"));
    let before = snapshot(root);
    let o = run(anchorage(root)
        .args(["install", "--name", "ISRG_Root_X1"])
        .arg(&fake));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("/etc/ssl/certs/ISRG_Root_X1.pem")
            && err.contains("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")
            && err.contains("hint: choose another --name"),
        "{err}"
    );
    assert_eq!(snapshot(root), before);
}

#[test]
fn doctor_reports_a_managed_file_that_shadows_a_distribution_root() {
    let t = debian_tree();
    let root = t.path();
    let src = tempfile::tempdir().unwrap();
    let fake_pem = ca_pem("ISRG Root X1", "Internet Security Research Group");
    let fake = write(src.path(), "fake.pem", &fake_pem);
    // As an older anchorage wrote it: the managed file takes the distribution root's name.
    let dir = root.join("usr/local/share/ca-certificates/anchorage");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ISRG_Root_X1.crt"), &fake_pem).unwrap();
    let r = |rel: &str| root.join(rel);
    let st = Command::new("update-ca-certificates")
        .arg("--certsconf")
        .arg(r("etc/ca-certificates.conf"))
        .arg("--certsdir")
        .arg(r("usr/share/ca-certificates"))
        .arg("--localcertsdir")
        .arg(r("usr/local/share/ca-certificates"))
        .arg("--etccertsdir")
        .arg(r("etc/ssl/certs"))
        .arg("--hooksdir")
        .arg(r("etc/ca-certificates/update.d"))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let real = r("usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt");
    // The damage doctor must see: the real root is not found in the hashed directory.
    assert!(!openssl_verify("-CApath", capath_view(root).path(), &real));
    let o = run(anchorage(root).args(["doctor", "--format", "json"]));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let d: Doctor = parse("doctor", &o.stdout);
    assert!(!d.ok);
    assert_eq!(d.shadowing, ["ISRG_Root_X1"]);
    assert!(
        d.problems
            .iter()
            .any(|p| p.contains("shadows") && p.contains("mozilla/ISRG_Root_X1.crt")),
        "{:?}",
        d.problems
    );
    let o = run(anchorage(root).arg("doctor"));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("hint: give it a name of its own: `anchorage remove ISRG_Root_X1`"),
        "{text}"
    );
    // The hint works: remove, install again, the real root verifies again.
    assert_eq!(
        code(&run(anchorage(root).args(["remove", "ISRG_Root_X1"]))),
        0
    );
    assert_eq!(code(&run(anchorage(root).arg("install").arg(&fake))), 0);
    assert!(openssl_verify("-CApath", capath_view(root).path(), &real));
    let d: Doctor = parse(
        "doctor",
        &run(anchorage(root).args(["doctor", "--format", "json"])).stdout,
    );
    assert!(d.ok, "{:?}", d.problems);
}

#[test]
fn name_certutil_cannot_list_back_is_refused_before_anything_changes() {
    let t = debian_tree();
    let root = t.path();
    let src = tempfile::tempdir().unwrap();
    let ca = write(src.path(), "ca.pem", &ca_pem("Corp CA", "Corp"));
    let db = "/var/lib/te-bot/.pki/nssdb";
    let abs = root.join(db.trim_start_matches('/'));
    std::fs::create_dir_all(&abs).unwrap();
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(&abs);
    let st = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(&spec)
        .status()
        .unwrap();
    assert!(st.success());
    let before = snapshot(root);
    for bad in [
        "a\nb",
        "a\rb",
        "tab\there",
        "esc\u{1b}[31m",
        "rtl\u{202e}",
        "token:nick",
        "trailing ",
        " leading",
    ] {
        let o = run(anchorage(root)
            .args(["install", "--nssdb", db, "--name", bad])
            .arg(&ca));
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("--name '"), "{bad:?}: {err}");
        assert!(
            err.contains("letters, digits, spaces and printable punctuation except ':'"),
            "{bad:?}: {err}"
        );
        // One line for the value: the message shows it escaped.
        assert!(
            !err.contains(bad) || !bad.chars().any(char::is_control),
            "{bad:?}: {err}"
        );
        assert_no_raw_controls(bad, &o.stderr);
        assert_eq!(snapshot(root), before, "{bad:?} changed the tree");
    }
    // A name with spaces and punctuation is fine, and later runs still read the database.
    let o = run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--nssdb",
            db,
            "--name",
            "Corp \"Proxy\" CA (2026)",
        ])
        .arg(&ca));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(anchorage(root).args(["list", "--format", "json", "--nssdb", db]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let l: List = parse("list", &o.stdout);
    assert_eq!(l.certificates.len(), 1);
}
