//! PKCS#12 variants real tools produce (issue 14 §2), each file made at test time by the tool:
//! an absent (NULL) password (OpenSSL's `PKCS12_create(NULL, ...)`, as pyOpenSSL's
//! `PKCS12.export()` without a passphrase calls it), keytool's PBES2 with the hmacWithSHA1 PRF,
//! `-nomac` files, and ciphers anchorage does not decrypt (named, with the conversion hint).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A self-signed CA made by openssl in `dir`; its key stays in `dir` (a temporary directory).
fn ca(dir: &Path) -> PathBuf {
    let pem = dir.join("CA.pem");
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-subj",
            "/CN=P12 Variant CA",
            "-days",
            "30",
            "-keyout",
        ])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl req");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    pem
}

fn make(program: &str, args: &[&str], dir: &Path) {
    let o = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `openssl pkcs12 -export -nokeys -in CA.pem -out OUT` with extra arguments.
fn openssl_p12(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["pkcs12", "-export", "-nokeys", "-in", "CA.pem", "-out", out];
    args.extend_from_slice(extra);
    make("openssl", &args, dir);
    dir.join(out)
}

/// `anchorage --root T install --check --format json FILE`, with a password from the
/// environment or a file.
fn check(file: &Path, env: Option<&str>, pwfile: Option<&Path>) -> std::process::Output {
    let tree = debian_tree();
    let mut cmd = anchorage(tree.path());
    cmd.args(["install", "--check", "--format", "json"])
        .arg(file);
    if let Some(p) = env {
        cmd.env("ANCHORAGE_PASSWORD", p);
    }
    if let Some(p) = pwfile {
        cmd.arg("--password-file").arg(p);
    }
    run(&mut cmd)
}

fn assert_reads(file: &Path, env: Option<&str>, pwfile: Option<&Path>, want: &str) {
    let r = report(&check(file, env, pwfile));
    let got: Vec<&str> = r.certificates.iter().map(|c| c.sha256.as_str()).collect();
    assert_eq!(got, vec![want], "{}", file.display());
}

fn assert_fails(file: &Path, env: Option<&str>, wanted: &[&str]) {
    let o = check(file, env, None);
    assert_eq!(code(&o), 65, "{}: {}", file.display(), stderr(&o));
    let f = failure(&o);
    for w in wanted {
        assert!(
            f.msg.contains(w),
            "{}: {:?} lacks {w:?}",
            file.display(),
            f.msg
        );
    }
}

/// Case 1, NULL password: the MAC (and the PBES1 3DES key) derive from the empty byte string. Made
/// by OpenSSL's PKCS12_create with a NULL password (tests/it/pkcs12/nullpass.py, libcrypto via
/// ctypes), with OpenSSL 3's default AES/PBES2 and with 3DES as pyOpenSSL asks for it. Read with
/// no password, and with `--password-file` holding an empty line.
#[test]
fn null_password() {
    let t = tempfile::tempdir().unwrap();
    let pem = ca(t.path());
    let want = openssl_sha256(&pem);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/pkcs12/nullpass.py");
    let empty = t.path().join("empty.pass");
    std::fs::write(&empty, "\n").unwrap();
    for pbe in ["default", "PBE-SHA1-3DES"] {
        let out = t.path().join(format!("null-{pbe}.p12"));
        let o = Command::new("python3")
            .arg(&script)
            .arg(&pem)
            .arg(&out)
            .arg(pbe)
            .output()
            .expect("python3");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_reads(&out, None, None, &want);
        assert_reads(&out, None, Some(&empty), &want);
    }
    // `-passout pass:` is the BMPString "" (two zero bytes), still read.
    assert_reads(
        &openssl_p12(t.path(), "empty.p12", &["-passout", "pass:"]),
        None,
        None,
        &want,
    );
    // A NULL-password file is not opened by a wrong password.
    let null = t.path().join("null-default.p12");
    assert_fails(&null, Some("wrong"), &["wrong PKCS#12 password"]);
}

/// Case 2, PBES2 with the hmacWithSHA1 PRF (keytool) and others, AES and DES-EDE3-CBC (openssl).
#[test]
fn pbes2_prfs_and_ciphers() {
    let t = tempfile::tempdir().unwrap();
    let pem = ca(t.path());
    let want = openssl_sha256(&pem);
    for alg in ["PBEWithHmacSHA1AndAES_256", "PBEWithHmacSHA512AndAES_128"] {
        let out = format!("{alg}.p12");
        let prop = format!("-J-Dkeystore.pkcs12.certProtectionAlgorithm={alg}");
        make(
            "keytool",
            &[
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                "CA.pem",
                "-keystore",
                &out,
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit",
                &prop,
            ],
            t.path(),
        );
        assert_reads(&t.path().join(&out), Some("changeit"), None, &want);
    }
    for cipher in ["AES-128-CBC", "AES-192-CBC", "DES-EDE3-CBC"] {
        for md in ["sha1", "sha384"] {
            let out = format!("{cipher}-{md}.p12");
            let f = openssl_p12(
                t.path(),
                &out,
                &["-passout", "pass:s3cret", "-certpbe", cipher, "-macalg", md],
            );
            assert_reads(&f, Some("s3cret"), None, &want);
        }
    }
}

/// Case 3, `-nomac`: readable without a password when the certificates are not encrypted; when they
/// are, the message says a password is needed (or that the one given is wrong).
#[test]
fn nomac() {
    let t = tempfile::tempdir().unwrap();
    let pem = ca(t.path());
    let want = openssl_sha256(&pem);
    let plain = openssl_p12(
        t.path(),
        "plain.p12",
        &["-passout", "pass:", "-nomac", "-certpbe", "NONE"],
    );
    assert_reads(&plain, None, None, &want);
    for cipher in ["AES-256-CBC", "PBE-SHA1-3DES"] {
        let out = format!("nomac-{cipher}.p12");
        let f = openssl_p12(
            t.path(),
            &out,
            &["-passout", "pass:s3cret", "-nomac", "-certpbe", cipher],
        );
        assert_reads(&f, Some("s3cret"), None, &want);
        assert_fails(
            &f,
            None,
            &[
                "has no MAC and its certificates are encrypted: a password is needed",
                "--password-file",
            ],
        );
        assert_fails(
            &f,
            Some("wrong"),
            &["wrong PKCS#12 password (the file has no MAC"],
        );
    }
}

/// Case 4, ciphers anchorage does not decrypt: named, with the conversion command.
#[test]
fn unsupported_cipher_named() {
    let t = tempfile::tempdir().unwrap();
    ca(t.path());
    for (cipher, name) in [
        ("CAMELLIA-256-CBC", "Camellia-256-CBC"),
        ("CAMELLIA-128-CBC", "Camellia-128-CBC"),
        ("ARIA-256-CBC", "ARIA-256-CBC"),
    ] {
        let f = openssl_p12(
            t.path(),
            &format!("{cipher}.p12"),
            &["-passout", "pass:s3cret", "-certpbe", cipher],
        );
        assert_fails(
            &f,
            Some("s3cret"),
            &[
                &format!("PKCS#12 is encrypted with {name}, which anchorage does not decrypt"),
                "openssl pkcs12 -in FILE -nokeys -out ca.pem",
            ],
        );
        // Without the password the MAC fails first: the password is asked for.
        assert_fails(&f, None, &["the empty password does not open it"]);
    }
}
