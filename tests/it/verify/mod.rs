//! `anchorage verify` (issue 8) against real TLS servers on the loopback: `openssl s_server`
//! with the fixtures of make-fixtures.sh, a tiny CONNECT proxy written here, temporary Debian
//! trees with the real `update-ca-certificates`. No other network access.
//!
//! * `server`: the `openssl s_server` and the CONNECT proxy;
//! * `diagnosis`: each reason (unknown issuer, self-signed, expired, name mismatch, incomplete
//!   chain) and its advice;
//! * `options`: `--proxy`, connection failures, `--save-chain`, `--ca-file`.

mod diagnosis;
mod options;
pub(crate) mod server;

use crate::common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

const CA: &str = "myNewCa_Test_Root";
const CA_CN: &str = "myNewCa Test Root";
const AIA_URL: &str = "http://127.0.0.1:9/anchorage-test-intermediate.crt";

/// Variables this machine sets globally that could change what a TLS client trusts or where it
/// connects; anchorage must not depend on them, and the tests must not either.
const ENV_CLEAR: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NIX_SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
    "PIP_CERT",
    "HTTPLIB2_CA_CERTS",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "ANCHORAGE_ROOT",
    "ANCHORAGE_LOG",
];

fn clean_env(c: &mut Command) -> &mut Command {
    for v in ENV_CLEAR {
        c.env_remove(v);
    }
    c
}

/// `anchorage --root ROOT verify …`
fn verify(root: &Path) -> Command {
    let mut c = anchorage(root);
    clean_env(&mut c).arg("verify");
    c
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The JSON report; its top-level keys must be exactly the documented ones, and it must parse
/// strictly as `Verify`.
fn json(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)));
    let keys: BTreeSet<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["trusted", "reason", "chain", "anchor", "host", "port"]),
        "{v}"
    );
    let _: Verify = parse("verify report", &o.stdout);
    v
}

/// A Debian tree with myNewCa installed through anchorage (real update-ca-certificates).
fn installed_tree() -> tempfile::TempDir {
    let t = debian_tree();
    let o = run(clean_env(&mut anchorage(t.path()))
        .arg("install")
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "install: {}", stderr(&o));
    t
}
