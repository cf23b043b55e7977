//! Issue 16 with real runtimes: the environment fallback's rules (`env`/`exec` with the TLS
//! variables pre-set to the system bundle, to a custom bundle, `SSL_CERT_DIR`), real curl,
//! Python requests and Node.js against `openssl s_server` on 127.0.0.1 failing before and
//! succeeding under `anchorage exec` as an unprivileged user; `exec`'s Node variables after the
//! system store took the anchors; `doctor --runtimes` on a tree with a virtualenv holding certifi.

use crate::common::*;
use crate::verify::server::s_server;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const VARS: [&str; 8] = [
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "SSL_CERT_DIR",
    "NODE_USE_SYSTEM_CA",
    "NODE_OPTIONS",
];
const BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// The command with none of the TLS variables of this machine (it sets some globally).
fn cmd(root: &Path) -> Command {
    let mut c = anchorage(root);
    for v in VARS.iter().chain(&[
        "ANCHORAGE_SOURCES",
        "ANCHORAGE_BUNDLE_DIR",
        "XDG_RUNTIME_DIR",
        "ANCHORAGE_ON_ERROR",
    ]) {
        c.env_remove(v);
    }
    c
}

/// A Debian tree whose system bundle the real hook built (the distribution roots only).
fn tree_with_bundle() -> tempfile::TempDir {
    let t = debian_tree();
    let r = t.path();
    let st = Command::new("update-ca-certificates")
        .arg("--certsconf")
        .arg(r.join("etc/ca-certificates.conf"))
        .arg("--certsdir")
        .arg(r.join("usr/share/ca-certificates"))
        .arg("--localcertsdir")
        .arg(r.join("usr/local/share/ca-certificates"))
        .arg("--etccertsdir")
        .arg(r.join("etc/ssl/certs"))
        .arg("--hooksdir")
        .arg(r.join("etc/ca-certificates/update.d"))
        .output()
        .expect("update-ca-certificates");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn sources(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        std::fs::copy(fx(f), d.path().join(f)).unwrap();
    }
    d
}

fn exports(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn get<'a>(vars: &'a [(String, String)], k: &str) -> Option<&'a str> {
    vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn private_bundle_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

#[test]
fn env_replaces_a_variable_naming_the_system_bundle_and_combines_a_custom_one() {
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let dir = private_bundle_dir();
    // A subset of the system bundle: one distribution root on its own.
    let subset = dir.path().join("one-root.pem");
    let first = std::fs::read_dir(root.join("usr/share/ca-certificates/mozilla"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::copy(&first, &subset).unwrap();
    let custom = dir.path().join("corp.pem");
    std::fs::copy(fx("ca2.pem"), &custom).unwrap();
    let o = run(cmd(root)
        .env("ANCHORAGE_BUNDLE_DIR", dir.path())
        .env("SSL_CERT_FILE", root.join(BUNDLE))
        .env("CURL_CA_BUNDLE", &subset)
        .env("REQUESTS_CA_BUNDLE", &custom)
        .env("NODE_EXTRA_CA_CERTS", &custom)
        .env("SSL_CERT_DIR", "/etc/ssl/certs")
        .arg("env")
        .arg(src.path()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let vars = exports(&out);
    let bundle = dir.path().join("anchorage-ca-bundle.pem");
    let b = bundle.display().to_string();
    assert_eq!(get(&vars, "SSL_CERT_FILE"), Some(b.as_str()), "{out}");
    assert_eq!(get(&vars, "CURL_CA_BUNDLE"), Some(b.as_str()), "{out}");
    assert_eq!(get(&vars, "GIT_SSL_CAINFO"), Some(b.as_str()), "{out}");
    // The custom bundle: that file + the source, both trusted by what the variable names now.
    let req = PathBuf::from(get(&vars, "REQUESTS_CA_BUNDLE").expect("REQUESTS_CA_BUNDLE"));
    assert_ne!(req, bundle, "{out}");
    assert!(
        out.contains("# note: REQUESTS_CA_BUNDLE named a custom bundle"),
        "{out}"
    );
    let ok = |ca: &Path, cert: &str| {
        code(&run(Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(ca)
            .arg(fx(cert))))
            == 0
    };
    assert!(ok(&req, "tls.pem"), "the source is in {}", req.display());
    assert!(
        ok(&req, "ca2.pem"),
        "the custom CA stays in {}",
        req.display()
    );
    assert!(
        !ok(&bundle, "ca2.pem"),
        "the combined bundle has no custom CA"
    );
    assert!(ok(&bundle, "tls.pem"));
    let node = get(&vars, "NODE_EXTRA_CA_CERTS").expect("NODE_EXTRA_CA_CERTS");
    assert!(ok(Path::new(node), "ca2.pem") && ok(Path::new(node), "tls.pem"));
    // SSL_CERT_DIR: a hashed directory of the sources first, the old value after it.
    let d = get(&vars, "SSL_CERT_DIR").expect("SSL_CERT_DIR");
    let (first_dir, rest) = d.split_once(':').expect("two entries");
    assert_eq!(rest, "/etc/ssl/certs");
    let hash = String::from_utf8(
        run(Command::new("openssl")
            .args(["x509", "-noout", "-hash", "-in"])
            .arg(fx("myNewCa.pem")))
        .stdout,
    )
    .unwrap();
    assert!(Path::new(first_dir)
        .join(format!("{}.0", hash.trim()))
        .is_file());
    let o = run(Command::new("openssl")
        .args(["verify", "-no-CAfile", "-CApath", first_dir])
        .arg(fx("tls.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // --keep-env: the old rule, every set variable untouched.
    let o = run(cmd(root)
        .env("ANCHORAGE_BUNDLE_DIR", dir.path())
        .env("SSL_CERT_FILE", root.join(BUNDLE))
        .env("SSL_CERT_DIR", "/etc/ssl/certs")
        .args(["env", "--keep-env"])
        .arg(src.path()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("export SSL_CERT_FILE"), "{out}");
    assert!(!out.contains("export SSL_CERT_DIR"), "{out}");
    assert!(out.contains("# SSL_CERT_FILE is already set"), "{out}");
    assert!(out.contains("export CURL_CA_BUNDLE="), "{out}");
    // --keep-env and --override-env contradict each other: a usage error.
    let o = run(cmd(root)
        .args(["env", "--keep-env", "--override-env"])
        .arg(src.path()));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// The runtimes as a shell line: each prints OK or FAIL.
fn clients(port: u16) -> String {
    let url = format!("https://127.0.0.1:{port}/");
    format!(
        "curl -sS -o /dev/null {url} && echo curl=OK || echo curl=FAIL; \
         /usr/bin/python3 -c 'import requests,sys; requests.get(sys.argv[1])' {url} >/dev/null 2>&1 && echo python=OK || echo python=FAIL; \
         node -e 'require(\"https\").get(process.argv[1], r => process.exit(0)).on(\"error\", () => process.exit(1))' {url} >/dev/null 2>&1 && echo node=OK || echo node=FAIL"
    )
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("/usr/bin/python3")
            .args(["-c", "import requests"])
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn unprivileged_exec_with_variables_preset_to_the_system_bundle_makes_curl_python_and_node_trust() {
    if !have("node") || !have("curl") {
        eprintln!("SKIP: node, curl or python3-requests missing");
        return;
    }
    const UID: u32 = 64_925;
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let line = clients(server.port);
    let preset = root.join(BUNDLE);
    let as_user = |args: &[&str]| {
        let c = cmd(root);
        let mut s = Command::new("setpriv");
        s.arg(format!("--reuid={UID}"))
            .arg(format!("--regid={UID}"))
            .args(["--clear-groups", "--"])
            .arg(c.get_program())
            .args(c.get_args())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", "/nonexistent");
        for v in [
            "SSL_CERT_FILE",
            "CURL_CA_BUNDLE",
            "REQUESTS_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
        ] {
            s.env(v, &preset);
        }
        run(&mut s)
    };
    // Before: the variables name the system bundle, which lacks the CA.
    let before = run(Command::new("setpriv")
        .arg(format!("--reuid={UID}"))
        .arg(format!("--regid={UID}"))
        .args(["--clear-groups", "sh", "-c", &line])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("SSL_CERT_FILE", &preset)
        .env("CURL_CA_BUNDLE", &preset)
        .env("REQUESTS_CA_BUNDLE", &preset)
        .env("NODE_EXTRA_CA_CERTS", &preset));
    let before = String::from_utf8_lossy(&before.stdout).into_owned();
    let after = as_user(&[
        "exec",
        src.path().to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &line,
    ]);
    let kept = as_user(&[
        "exec",
        "--keep-env",
        src.path().to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &line,
    ]);
    // The bundle directories this uid left in /tmp.
    for e in std::fs::read_dir("/tmp").unwrap().flatten() {
        use std::os::unix::fs::MetadataExt;
        if e.file_name().to_string_lossy().starts_with("anchorage-")
            && std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir() && m.uid() == UID)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    for rt in ["curl", "python", "node"] {
        assert!(
            before.contains(&format!("{rt}=FAIL")),
            "{rt} before: {before}"
        );
        let out = String::from_utf8_lossy(&after.stdout);
        assert!(
            out.contains(&format!("{rt}=OK")),
            "{rt} under exec: {out}\n{}",
            stderr(&after)
        );
        let out = String::from_utf8_lossy(&kept.stdout);
        assert!(
            out.contains(&format!("{rt}=FAIL")),
            "{rt} --keep-env: {out}"
        );
    }
    assert_eq!(code(&after), 0, "{}", stderr(&after));
}

#[test]
fn exec_after_the_system_store_took_the_anchors_sets_the_node_variables_unless_set() {
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let show = "echo \"$NODE_EXTRA_CA_CERTS|$NODE_USE_SYSTEM_CA\"";
    let o = run(cmd(root)
        .arg("exec")
        .arg(src.path())
        .args(["--", "sh", "-c", show]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{}|1", root.join(BUNDLE).display())
    );
    let o = run(cmd(root)
        .env("NODE_EXTRA_CA_CERTS", "/mine.pem")
        .env("NODE_USE_SYSTEM_CA", "0")
        .arg("exec")
        .arg(src.path())
        .args(["--", "sh", "-c", show]));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "/mine.pem|0");
    // Real Node.js trusts the server with what exec set.
    if have("node") {
        let server = s_server("tls.pem", "tls.key.pem", &[]);
        let o = run(cmd(root).arg("exec").arg(src.path()).args([
            "--",
            "sh",
            "-c",
            &clients(server.port),
        ]));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("node=OK"), "{out}\n{}", stderr(&o));
    }
}

/// A virtualenv with certifi as pip installs it: certifi's own `cacert.pem` (the Mozilla set)
/// and upstream's `where()` (Debian's own python3-certifi is patched to return the system
/// bundle, so it cannot stand in for a pip-installed one).
fn venv_with_certifi(root: &Path) -> PathBuf {
    let venv = root.join("opt/agent/venv");
    let o = run(Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--without-pip", "--system-site-packages"])
        .arg(&venv));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let sp = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .join("site-packages/certifi");
    std::fs::create_dir_all(&sp).unwrap();
    std::fs::copy(
        "/usr/lib/python3/dist-packages/certifi/cacert.pem",
        sp.join("cacert.pem"),
    )
    .unwrap();
    std::fs::write(
        sp.join("core.py"),
        "import os\n\ndef where():\n    return os.path.join(os.path.dirname(__file__), \"cacert.pem\")\n\ndef contents():\n    with open(where(), encoding=\"ascii\") as f:\n        return f.read()\n",
    )
    .unwrap();
    std::fs::write(
        sp.join("__init__.py"),
        "from .core import contents, where\n__version__ = \"2022.09.24\"\n",
    )
    .unwrap();
    sp.join("cacert.pem")
}

fn doctor(c: &mut Command, extra: &[&str]) -> (i32, Doctor) {
    let o = run(c.args(["--format", "json", "doctor"]).args(extra));
    (code(&o), parse("doctor", &o.stdout))
}

fn row<'a>(d: &'a Doctor, runtime: &str) -> &'a RuntimeRow {
    d.runtimes
        .as_ref()
        .expect("runtimes")
        .iter()
        .find(|r| r.runtime == runtime)
        .unwrap_or_else(|| panic!("no {runtime} row: {:?}", d.runtimes))
}

#[test]
fn doctor_runtimes_reports_a_venv_certifi_and_its_fix_and_sees_it_fixed_under_envs_variables() {
    if !Path::new("/usr/lib/python3/dist-packages/certifi/cacert.pem").is_file() {
        eprintln!("SKIP: python3-certifi missing");
        return;
    }
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let o = run(cmd(root).arg("install").arg(src.path().join("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pem = venv_with_certifi(root);
    let rel = format!("/{}", pem.strip_prefix(root).unwrap().display());
    let sha = openssl_sha256(&fx("myNewCa.pem"));

    let (rc, d) = doctor(&mut cmd(root), &["--runtimes"]);
    assert_eq!(rc, 0, "runtime gaps are warnings: {:?}", d.problems);
    let py = row(&d, "python-certifi");
    assert_eq!(py.path, rel);
    assert!(!py.trusts);
    assert_eq!(py.missing, [sha]);
    assert!(py.fix.contains("REQUESTS_CA_BUNDLE"), "{}", py.fix);
    assert!(row(&d, "openssl").trusts, "the system bundle has it");
    assert!(d.warnings.iter().any(|w| w.contains("python-certifi")));
    // Without the flag: no runtimes key at all.
    let (_, plain) = doctor(&mut cmd(root), &[]);
    assert!(plain.runtimes.is_none());
    // Strict: the gap is a problem, exit 1.
    let (rc, d) = doctor(&mut cmd(root), &["--runtimes=strict"]);
    assert_eq!(rc, 1);
    assert!(d.problems.iter().any(|p| p.contains("python-certifi")));
    // Text: one line per runtime.
    let o = run(cmd(root).args(["doctor", "--runtimes"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("runtime:") && l.contains("python-certifi"))
            .count(),
        1,
        "{text}"
    );

    // Under the environment `anchorage env` prints, the same copy is fixed.
    let dir = private_bundle_dir();
    let o = run(cmd(root)
        .env("ANCHORAGE_BUNDLE_DIR", dir.path())
        .arg("env")
        .arg(src.path()));
    let vars = exports(&String::from_utf8_lossy(&o.stdout));
    let mut c = cmd(root);
    c.envs(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let (rc, d) = doctor(&mut c, &["--runtimes=strict"]);
    assert_eq!(rc, 0, "{:?}", d.problems);
    let py = row(&d, "python-certifi");
    assert!(
        py.trusts && py.missing.is_empty() && py.fix.is_empty(),
        "{py:?}"
    );

    // And real Python requests agrees with both verdicts.
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let url = format!("https://127.0.0.1:{}/", server.port);
    let py = root.join("opt/agent/venv/bin/python");
    let script = "import requests,sys; requests.get(sys.argv[1])";
    let mut before = Command::new(&py);
    for v in VARS {
        before.env_remove(v);
    }
    assert_ne!(code(&run(before.args(["-c", script, &url]))), 0);
    let mut after = Command::new(&py);
    for v in VARS {
        after.env_remove(v);
    }
    after.envs(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let o = run(after.args(["-c", script, &url]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn doctor_runtimes_reads_the_node_version_without_running_it() {
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let o = run(cmd(root).arg("install").arg(src.path().join("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A `node` that is not a program at all: it is never run, only found.
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::write(root.join("usr/local/bin/node"), "not a program\n").unwrap();
    std::fs::create_dir_all(root.join("usr/local/include/node")).unwrap();
    let header = |minor: u32| {
        std::fs::write(
            root.join("usr/local/include/node/node_version.h"),
            format!("#define NODE_MAJOR_VERSION 22\n#define NODE_MINOR_VERSION {minor}\n#define NODE_PATCH_VERSION 0\n"),
        )
        .unwrap()
    };
    header(15);
    let (_, d) = doctor(&mut cmd(root), &["--runtimes"]);
    let n = row(&d, "node");
    assert_eq!(n.path, "/usr/local/bin/node");
    assert!(!n.trusts, "no variable: compiled-in roots only");
    let (_, d) = doctor(cmd(root).env("NODE_USE_SYSTEM_CA", "1"), &["--runtimes"]);
    assert!(row(&d, "node").trusts, "22.15 reads the system store");
    header(14);
    let (_, d) = doctor(cmd(root).env("NODE_USE_SYSTEM_CA", "1"), &["--runtimes"]);
    let n = row(&d, "node");
    assert!(!n.trusts && n.fix.contains("NODE_EXTRA_CA_CERTS"), "{n:?}");
    // The tree's /etc/environment counts too (paths inside the tree).
    std::fs::write(
        root.join("etc/environment"),
        format!("NODE_EXTRA_CA_CERTS=\"/{BUNDLE}\"\n"),
    )
    .unwrap();
    let (_, d) = doctor(&mut cmd(root), &["--runtimes"]);
    assert!(row(&d, "node").trusts);
}

#[test]
fn doctor_runtimes_reads_the_trees_files_through_the_tree_not_the_hosts() {
    // Security (ARCHITECTURE rule 11): every path the tree names is resolved under --root. The
    // host's files of the same names (absent here) must not decide a verdict.
    use std::os::unix::fs::symlink;
    let t = tree_with_bundle();
    let root = t.path();
    let src = sources(&["myNewCa.pem"]);
    let o = run(cmd(root).arg("install").arg(src.path().join("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let sha = openssl_sha256(&fx("myNewCa.pem"));
    // The hook's hash link ends in an absolute link to /usr/local/share/ca-certificates/…,
    // which exists only in the tree.
    let hashed: Vec<PathBuf> = std::fs::read_dir(root.join("etc/ssl/certs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::canonicalize(p).is_err()
                && std::fs::read_link(p).is_ok_and(|l| l.is_relative())
                && p.extension().is_some_and(|x| x == "0")
        })
        .collect();
    assert!(
        !hashed.is_empty(),
        "a hash link that resolves only in the tree"
    );
    std::fs::write(
        root.join("etc/environment"),
        "SSL_CERT_FILE=/nonexistent.pem\nSSL_CERT_DIR=/etc/ssl/certs\n",
    )
    .unwrap();
    // A node whose link is absolute (into the tree's /opt), found once.
    std::fs::create_dir_all(root.join("opt/node-v22/bin")).unwrap();
    std::fs::write(root.join("opt/node-v22/bin/node"), "not a program\n").unwrap();
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    symlink("/opt/node-v22/bin/node", root.join("usr/local/bin/node")).unwrap();
    // A certifi that is an absolute link to the tree's own copy (holding the anchor).
    let sp = root.join("srv/app/lib/python3.11/site-packages");
    std::fs::create_dir_all(&sp).unwrap();
    std::fs::create_dir_all(root.join("opt/certifi-real")).unwrap();
    std::fs::copy(fx("myNewCa.pem"), root.join("opt/certifi-real/cacert.pem")).unwrap();
    symlink("/opt/certifi-real", sp.join("certifi")).unwrap();
    assert!(!Path::new("/opt/node-v22").exists() && !Path::new("/opt/certifi-real").exists());

    let (_, d) = doctor(&mut cmd(root), &["--runtimes"]);
    let ssl = row(&d, "openssl");
    assert!(
        ssl.trusts,
        "the tree's OpenSSL finds it through SSL_CERT_DIR: {ssl:?}"
    );
    let nodes: Vec<&RuntimeRow> = d
        .runtimes
        .iter()
        .flatten()
        .filter(|r| r.runtime == "node")
        .collect();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0].path, "/usr/local/bin/node");
    let py = row(&d, "python-certifi");
    assert_eq!(
        py.path,
        "/srv/app/lib/python3.11/site-packages/certifi/cacert.pem"
    );
    assert!(py.trusts && !py.missing.contains(&sha), "{py:?}");
}
