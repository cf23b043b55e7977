//! A real handshake by a Java client (compiled here with `javac`) against `openssl s_server`
//! on 127.0.0.1: refused with the store as keytool made it, accepted after `anchorage install
//! --java-truststore`; and through `anchorage env`'s JAVA_TOOL_OPTIONS (PKCS#12 beside the
//! bundle). The JVM starts are batched: four in all.

use std::path::Path;
use std::process::Command;

use super::{install, store_with_key};
use crate::common::*;
use crate::verify::server::s_server;

const CLIENT: &str = r#"
import javax.net.ssl.*;
public class Client {
    public static void main(String[] a) throws Exception {
        SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket("127.0.0.1", Integer.parseInt(a[0]));
        try {
            s.startHandshake();
            System.out.println("trusted");
        } catch (Exception e) {
            System.out.println("refused: " + e);
            System.exit(3);
        } finally {
            s.close();
        }
    }
}
"#;

fn compile(dir: &Path) {
    std::fs::write(dir.join("Client.java"), CLIENT).unwrap();
    let o = Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(dir.join("Client.java"))
        .output()
        .expect("javac (openjdk-17-jdk-headless)");
    assert!(o.status.success(), "javac: {}", stderr(&o));
}

fn java(classes: &Path, port: u16, props: &[String], tool_options: Option<&str>) -> (i32, String) {
    let mut c = Command::new("java");
    c.env_remove("JAVA_TOOL_OPTIONS");
    if let Some(v) = tool_options {
        c.env("JAVA_TOOL_OPTIONS", v);
    }
    let o = c
        .args(props)
        .arg("-cp")
        .arg(classes)
        .arg("Client")
        .arg(port.to_string())
        .output()
        .expect("java");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o),
    )
}

#[test]
fn java_client_fails_before_and_succeeds_after() {
    let t = debian_tree();
    let root = t.path();
    let classes = tempfile::tempdir().unwrap();
    compile(classes.path());
    let server = s_server("tls.pem", "tls.key.pem", &[]);
    let p12 = root.join("srv/ts.p12");
    store_with_key(&p12, "PKCS12");
    let props = |p: &Path| {
        vec![
            format!("-Djavax.net.ssl.trustStore={}", p.display()),
            "-Djavax.net.ssl.trustStorePassword=changeit".to_string(),
        ]
    };
    let (c, out) = java(classes.path(), server.port, &props(&p12), None);
    assert_eq!(c, 3, "{out}");
    let o = install(root, &["/srv/ts.p12"], &[], "myNewCa.pem");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (c, out) = java(classes.path(), server.port, &props(&p12), None);
    assert_eq!(c, 0, "{out}");

    // env: a PKCS#12 beside the bundle, JAVA_TOOL_OPTIONS appended to what was there.
    let bundle_dir = tempfile::tempdir().unwrap();
    let o = run(anchorage(root)
        .env("ANCHORAGE_BUNDLE_DIR", bundle_dir.path())
        .env("JAVA_TOOL_OPTIONS", "-Xss2m")
        .args(["env", "--override-env"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = out
        .lines()
        .find(|l| l.starts_with("export JAVA_TOOL_OPTIONS="))
        .unwrap_or_else(|| panic!("{out}"));
    let value = line
        .trim_start_matches("export JAVA_TOOL_OPTIONS=")
        .trim_matches('\'')
        .to_string();
    assert!(
        value.starts_with("-Xss2m -Djavax.net.ssl.trustStore="),
        "{value}"
    );
    assert!(
        value.ends_with(
            "-Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12"
        ),
        "{value}"
    );
    assert!(bundle_dir.path().join("anchorage-truststore.p12").is_file());
    let (c, out) = java(classes.path(), server.port, &[], Some(&value));
    assert_eq!(c, 0, "{out}");

    // An existing trustStore in JAVA_TOOL_OPTIONS is kept, and the output says so.
    let o = run(anchorage(root)
        .env("ANCHORAGE_BUNDLE_DIR", bundle_dir.path())
        .env(
            "JAVA_TOOL_OPTIONS",
            "-Djavax.net.ssl.trustStore=/etc/mine.jks",
        )
        .args(["env", "--override-env"])
        .arg(fx("myNewCa.pem")));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("export JAVA_TOOL_OPTIONS"), "{out}");
    assert!(out.contains("already names a trustStore; kept"), "{out}");
}
