//! Through a CONNECT proxy, connection failures (74) and usage errors (2), `--save-chain`,
//! `--ca-file` instead of the bundle.

use super::server::{der_of, free_port, s_server, start_proxy};
use super::{clean_env, json, stdout, verify, CA, CA_CN};
use crate::common::*;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::{Duration, Instant};

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
