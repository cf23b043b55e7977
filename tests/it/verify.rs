//! `anchorage verify` (issue 8) against real TLS servers on the loopback: `openssl s_server`
//! with the fixtures of make-fixtures.sh, a tiny CONNECT proxy written here, temporary Debian
//! trees with the real `update-ca-certificates`. No other network access.

use crate::common::*;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

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

/// The JSON report; its top-level keys must be exactly the documented ones.
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `openssl s_server`, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `openssl s_server -www` with a fixture certificate and key (plus extra arguments) and
/// wait until it accepts connections. A port lost to a race is retried with another one.
fn s_server(cert: &str, key: &str, extra: &[PathBuf]) -> Server {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(fx(cert))
            .arg("-key")
            .arg(fx(key))
            .args(extra)
            .args(["-www", "-quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server = Server {
            child: clean_env(&mut cmd).spawn().expect("spawn openssl s_server"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(server.child.try_wait(), Ok(Some(_))) {
                break; // exited: most likely the port was taken meanwhile
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("openssl s_server did not start");
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1: records each request head, connects to the
/// target, answers 200 (or 502 when the target refuses) and copies bytes both ways.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

fn start_proxy() -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = Arc::clone(&log);
            thread::spawn(move || proxy_one(client, &log));
        }
    });
    Proxy { port, seen }
}

fn proxy_one(mut client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    log.lock().unwrap().push(head.clone());
    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let Ok(upstream) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// DER bytes of a PEM certificate file, converted by openssl (independent of anchorage).
fn der_of(pem: &Path) -> Vec<u8> {
    let o = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(pem)
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "openssl x509 {}: {}",
        pem.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

#[test]
fn unknown_issuer_before_install_trusted_after() {
    let t = debian_tree();
    let root = t.path();
    let server = s_server("tls.pem", "tls.key.pem", &[]);

    let o = run(verify(root).arg(server.target()));
    assert_eq!(
        code(&o),
        1,
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    let text = stdout(&o);
    assert!(text.contains(CA_CN), "must name the missing issuer: {text}");
    assert!(
        text.contains("unknown_issuer") && text.contains("anchorage install"),
        "{text}"
    );

    let o = run(verify(root).args(["--format", "json"]).arg(server.target()));
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["trusted"], false);
    assert_eq!(v["reason"], "unknown_issuer");
    assert!(v["anchor"].is_null());
    assert_eq!(v["host"], "127.0.0.1");
    assert_eq!(v["port"], server.port);
    let chain = v["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0]["sha256"], openssl_sha256(&fx("tls.pem")));
    assert!(chain[0]["issuer"].as_str().unwrap().contains(CA_CN));
    assert_eq!(chain[0]["is_ca"], false);
    for k in ["subject", "not_before", "not_after"] {
        assert!(
            chain[0][k].as_str().is_some_and(|s| !s.is_empty()),
            "{k}: {v}"
        );
    }

    let o = run(clean_env(&mut anchorage(root))
        .arg("install")
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "install: {}", stderr(&o));

    let o = run(verify(root).args(["--format", "json"]).arg(server.target()));
    assert_eq!(
        code(&o),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["trusted"], true);
    assert_eq!(v["reason"], "trusted");
    assert_eq!(v["anchor"]["name"], CA);
    assert_eq!(v["anchor"]["managed"], true);
    assert_eq!(v["anchor"]["sha256"], openssl_sha256(&fx("myNewCa.pem")));
    assert!(v["anchor"]["subject"].as_str().unwrap().contains(CA_CN));

    // Text: exactly one line with subject, issuer, anchor (name, sha256, managed) and expiry.
    let o = run(verify(root).arg(server.target()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("CN=127.0.0.1"), "{text}");
    assert!(
        text.contains(CA) && text.contains(&openssl_sha256(&fx("myNewCa.pem"))),
        "{text}"
    );
    assert!(
        text.contains("managed by anchorage") && text.contains("expires in"),
        "{text}"
    );

    // The URL form.
    let o = run(verify(root).arg(format!("https://127.0.0.1:{}/some/path?q=1", server.port)));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn self_signed_server_then_installed_as_its_own_anchor() {
    let t = debian_tree();
    let root = t.path();
    let server = s_server("selfsigned-leaf.pem", "selfsigned-leaf.key.pem", &[]);
    let o = run(verify(root).args(["--format", "json"]).arg(server.target()));
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["reason"], "self_signed");
    assert_eq!(v["chain"][0]["self_signed"], true);
    let o = run(verify(root).arg(server.target()));
    let text = stdout(&o);
    assert!(
        text.contains("self-signed") && text.contains("anchorage install"),
        "{text}"
    );

    // The advice works: the certificate itself is the anchor.
    let o = run(clean_env(&mut anchorage(root))
        .arg("install")
        .arg(fx("selfsigned-leaf.pem")));
    assert_eq!(code(&o), 0, "install: {}", stderr(&o));
    let o = run(verify(root).args(["--format", "json"]).arg(server.target()));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(
        json(&o)["anchor"]["sha256"],
        openssl_sha256(&fx("selfsigned-leaf.pem"))
    );
}

#[test]
fn expired_server_certificate() {
    let t = installed_tree();
    let server = s_server("expired-server.pem", "expired-server.key.pem", &[]);
    let o = run(verify(t.path())
        .args(["--format", "json"])
        .arg(server.target()));
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["reason"], "expired");
    assert!(v["anchor"].is_null());
    let o = run(verify(t.path()).arg(server.target()));
    let text = stdout(&o);
    assert!(text.contains("expired on 2020-01-01"), "{text}");
}

#[test]
fn name_mismatch_with_servername() {
    let t = installed_tree();
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let o = run(verify(t.path())
        .args(["--format", "json", "--servername", "wrong.example"])
        .arg(server.target()));
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_eq!(json(&o)["reason"], "name_mismatch");
    let o = run(verify(t.path())
        .args(["--servername", "wrong.example"])
        .arg(server.target()));
    let text = stdout(&o);
    assert!(
        text.contains("wrong.example") && text.contains("IP:127.0.0.1"),
        "{text}"
    );
    // A name the certificate carries is fine.
    let o = run(verify(t.path())
        .args(["--servername", "localhost"])
        .arg(server.target()));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn omitted_intermediate_is_an_incomplete_chain() {
    let t = installed_tree();
    let root = t.path();
    let leaf_only = s_server("leaf-by-int.pem", "leaf-by-int.key.pem", &[]);
    let o = run(verify(root)
        .args(["--format", "json"])
        .arg(leaf_only.target()));
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["reason"], "incomplete_chain");
    assert_eq!(v["chain"].as_array().unwrap().len(), 1);
    assert_eq!(v["chain"][0]["ca_issuers"], serde_json::json!([AIA_URL]));
    let o = run(verify(root).arg(leaf_only.target()));
    let text = stdout(&o);
    assert!(
        text.contains("Anchorage Issuing CA 1") && text.contains("--allow-intermediate"),
        "{text}"
    );
    assert!(text.contains(AIA_URL), "{text}");

    // The same leaf with its intermediate sent: trusted through the installed root.
    let full = s_server(
        "leaf-by-int.pem",
        "leaf-by-int.key.pem",
        &["-cert_chain".into(), fx("intermediate.pem")],
    );
    let o = run(verify(root).args(["--format", "json"]).arg(full.target()));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["chain"].as_array().unwrap().len(), 2);
    assert_eq!(v["anchor"]["name"], CA);
    assert_eq!(v["anchor"]["managed"], true);
}

#[test]
fn through_a_connect_proxy() {
    let t = debian_tree();
    let root = t.path();
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let proxy = start_proxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);

    let o = run(verify(root)
        .args(["--proxy", &proxy_url])
        .arg(server.target()));
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("unknown_issuer") && text.contains("proxy's signing CA"),
        "{text}"
    );

    let o = run(clean_env(&mut anchorage(root))
        .arg("install")
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "install: {}", stderr(&o));
    let o = run(verify(root)
        .args(["--format", "json", "--proxy", &proxy_url])
        .arg(server.target()));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["trusted"], true);
    assert_eq!(v["anchor"]["name"], CA);
    assert_eq!(v["port"], server.port);

    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let want = format!(
        "CONNECT 127.0.0.1:{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
        server.port, server.port
    );
    for head in &seen {
        assert!(head.starts_with(&want), "{head:?}");
    }

    // The proxy cannot reach the target: a connection failure (74), not "untrusted".
    let closed = free_port();
    let o = run(verify(root)
        .args(["--proxy", &proxy_url])
        .arg(format!("127.0.0.1:{closed}")));
    assert_eq!(code(&o), 74, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("502"), "{}", stderr(&o));
}

#[test]
fn connection_failures_exit_74() {
    let t = debian_tree();
    let root = t.path();
    // Refused.
    let closed = free_port();
    let o = run(verify(root).arg(format!("127.0.0.1:{closed}")));
    assert_eq!(code(&o), 74, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!("127.0.0.1:{closed}")),
        "{}",
        stderr(&o)
    );
    let o = run(verify(root)
        .args(["--format", "json"])
        .arg(format!("127.0.0.1:{closed}")));
    assert_eq!(code(&o), 74);
    assert_eq!(failure(&o).error.kind, "io");

    // Accepts, then never answers the ClientHello.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let started = Instant::now();
    let o = run(verify(root)
        .args(["--timeout", "1"])
        .arg(format!("127.0.0.1:{port}")));
    let took = started.elapsed();
    assert_eq!(code(&o), 74, "{}{}", stdout(&o), stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(stderr(&o).contains("1 s"), "{}", stderr(&o));

    // Usage errors are not connection failures.
    for args in [
        vec!["http://127.0.0.1:1/".to_string()],
        vec![
            "--proxy".into(),
            "https://127.0.0.1:3128".into(),
            "127.0.0.1:1".into(),
        ],
        vec!["--timeout".into(), "0".into(), "127.0.0.1:1".into()],
        vec![
            "--servername".into(),
            "not a name".into(),
            "127.0.0.1:1".into(),
        ],
    ] {
        let o = run(verify(root).args(&args));
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn save_chain_writes_only_the_presented_certificates() {
    let t = debian_tree();
    let root = t.path();
    let server = s_server(
        "leaf-by-int.pem",
        "leaf-by-int.key.pem",
        &["-cert_chain".into(), fx("intermediate.pem")],
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("new/chain");
    let before = snapshot(root);
    let o = run(verify(root)
        .args(["--format", "json", "--save-chain"])
        .arg(&dir)
        .arg(server.target()));
    assert_eq!(
        code(&o),
        1,
        "untrusted: the root is not installed; {}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["reason"], "unknown_issuer");
    assert_eq!(snapshot(root), before, "verify must not change the tree");
    assert!(!root.join(DEBIAN_BUNDLE).exists());

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["00-127.0.0.1.pem", "01-Anchorage_Issuing_CA_1.pem"]);
    for (name, fixture) in names.iter().zip(["leaf-by-int.pem", "intermediate.pem"]) {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches("-----BEGIN CERTIFICATE-----").count(),
            1,
            "{name}"
        );
        assert!(!text.contains("PRIVATE KEY"), "{name}");
        assert_eq!(
            der_of(&path),
            der_of(&fx(fixture)),
            "{name} must equal what the server sent"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644,
            "{name}"
        );
    }
    let chain = v["chain"].as_array().unwrap();
    assert_eq!(chain[0]["file"], dir.join(&names[0]).display().to_string());
    assert_eq!(chain[1]["file"], dir.join(&names[1]).display().to_string());

    // The text names the missing root and where the presented certificates were saved.
    let o = run(verify(root)
        .args(["--save-chain"])
        .arg(&dir)
        .arg(server.target()));
    let text = stdout(&o);
    assert!(text.contains(CA_CN) && text.contains("saved as:"), "{text}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

#[test]
fn ca_file_instead_of_the_bundle() {
    let t = debian_tree();
    let root = t.path();
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let before = snapshot(root);
    let o = run(verify(root)
        .args(["--format", "json", "--ca-file"])
        .arg(fx("myNewCa.pem"))
        .arg(server.target()));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["trusted"], true);
    assert_eq!(v["anchor"]["managed"], false);
    assert_eq!(v["anchor"]["name"], CA_CN);
    assert_eq!(v["anchor"]["sha256"], openssl_sha256(&fx("myNewCa.pem")));
    assert_eq!(snapshot(root), before);

    // Another CA in the file: untrusted, naming myNewCa.
    let o = run(verify(root)
        .args(["--ca-file"])
        .arg(fx("ca2.pem"))
        .arg(server.target()));
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains(CA_CN), "{}", stdout(&o));

    let o = run(verify(root)
        .args(["--ca-file"])
        .arg(root.join("missing.pem"))
        .arg(server.target()));
    assert_eq!(code(&o), 66, "{}", stderr(&o));
}
