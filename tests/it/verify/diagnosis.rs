//! What verify says, in JSON and in text: an unknown issuer before install and trusted after, a
//! self-signed server, an expired certificate, a name mismatch, an omitted intermediate.

use super::server::s_server;
use super::{clean_env, installed_tree, json, stdout, verify, AIA_URL, CA, CA_CN};
use crate::common::*;

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
    // Runnable as written (issue 16): the download names the file the install then takes.
    let fetch = format!("`curl -fsSLo issuer.crt '{AIA_URL}'`");
    assert!(text.contains(&fetch), "{text}");
    let cmd = text
        .split('`')
        .find(|c| c.starts_with("anchorage install --allow-intermediate "))
        .unwrap_or_else(|| panic!("no install command: {text}"));
    // What the curl line would have fetched, then the install exactly as printed.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::copy(fx("intermediate.pem"), cwd.path().join("issuer.crt")).unwrap();
    let mut words = cmd.split_whitespace().skip(1);
    let o = run(std::process::Command::new(bin())
        .current_dir(cwd.path())
        .arg("--root")
        .arg(root)
        .args(words.by_ref().take(1))
        .arg("--check")
        .args(words));
    assert_eq!(code(&o), 0, "{cmd}: {}", stderr(&o));

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
