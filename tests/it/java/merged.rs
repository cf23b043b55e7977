//! Where issue 15 meets issue 16: a `java` row per truststore in `doctor --runtimes` (the named
//! store and the JVMs' stores found as `--java-discover` finds them), and `--no-system` on a
//! normal user's own truststore (made by that user's keytool run).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use super::{listing, store_with_key, ALIAS, PASS};
use crate::common::*;

/// A uid of its own (no other test uses it).
const UID: u32 = 64_927;

#[test]
fn doctor_runtimes_has_a_java_row_per_truststore() {
    let t = debian_tree();
    let root = t.path();
    let named = root.join("srv/app/truststore.p12");
    let jvm = root.join("opt/agent/jre/lib/security/cacerts");
    store_with_key(&named, "PKCS12");
    store_with_key(&jvm, "JKS");
    let o = run(anchorage(root)
        .env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE")
        .args(["--java-truststore", "/srv/app/truststore.p12"])
        .args(["install", "--no-update", "--format", "json"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = run(anchorage(root)
        .env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE")
        .args(["--java-truststore", "/srv/app/truststore.p12"])
        .args(["--format", "json", "doctor", "--runtimes"]));
    let d: Doctor = parse("doctor", &o.stdout);
    let rows: Vec<&RuntimeRow> = d
        .runtimes
        .as_ref()
        .expect("runtimes")
        .iter()
        .filter(|r| r.runtime == "java")
        .collect();
    let fp = openssl_sha256(&fx("myNewCa.pem"));
    let named_row = rows
        .iter()
        .find(|r| r.path == "/srv/app/truststore.p12")
        .unwrap_or_else(|| panic!("no row for the named store: {rows:?}"));
    assert!(named_row.trusts, "{named_row:?}");
    assert!(named_row.missing.is_empty());
    let jvm_row = rows
        .iter()
        .find(|r| r.path == "/opt/agent/jre/lib/security/cacerts")
        .unwrap_or_else(|| panic!("the JVM's store was not found: {rows:?}"));
    assert!(!jvm_row.trusts, "{jvm_row:?}");
    assert_eq!(jvm_row.missing, vec![fp]);
    assert!(jvm_row.fix.contains("--java-truststore"), "{}", jvm_row.fix);
    // A runtime gap is a warning, not a problem, without =strict.
    assert!(
        d.warnings.iter().any(|w| w.contains("java (/opt/agent")),
        "{:?}",
        d.warnings
    );
    let strict = run(anchorage(root)
        .env_remove("ANCHORAGE_JAVA_PASSWORD")
        .env_remove("ANCHORAGE_JAVA_TRUSTSTORE")
        .args(["--format", "json", "doctor", "--runtimes=strict"]));
    assert_eq!(code(&strict), 1, "{}", stderr(&strict));
}

fn as_user(home: &Path, program: &str, args: &[&str]) -> std::process::Output {
    run(Command::new("setpriv")
        .arg(format!("--reuid={UID}"))
        .arg(format!("--regid={UID}"))
        .args(["--clear-groups", "--", program])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home))
}

#[test]
fn no_system_manages_a_normal_users_own_java_truststore() {
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = t.path().join("home");
    let store = home.join("agent/truststore.jks");
    store_with_key(&store, "JKS");
    std::fs::copy(fx("myNewCa.pem"), t.path().join("ca.pem")).unwrap();
    std::fs::set_permissions(
        t.path().join("ca.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let st = Command::new("chown")
        .arg("-R")
        .arg(format!("{UID}:{UID}"))
        .arg(&home)
        .status()
        .unwrap();
    assert!(st.success());
    let before = listing(&store, PASS);
    let (store_s, ca) = (
        store.display().to_string(),
        t.path().join("ca.pem").display().to_string(),
    );
    let bin = bin();
    // Without the flag the system store stops a normal user (77), and the store is untouched.
    let o = as_user(&home, bin, &["install", "--java-truststore", &store_s, &ca]);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(listing(&store, PASS), before);

    let o = as_user(
        &home,
        bin,
        &[
            "--format",
            "json",
            "install",
            "--no-system",
            "--java-truststore",
            &store_s,
            &ca,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = report(&o);
    assert!(r.changed);
    assert_eq!(r.certificates[0].stores, vec![format!("java:{store_s}")]);
    let now = listing(&store, PASS);
    assert!(
        now.iter()
            .any(|l| l.starts_with(ALIAS) && l.contains("trustedCertEntry")),
        "{now:?}"
    );
    assert_eq!(std::fs::metadata(&store).unwrap().uid(), UID);
    // Idempotent, then removed again: the store as it was.
    let o = as_user(
        &home,
        bin,
        &[
            "--format",
            "json",
            "install",
            "--no-system",
            "--java-truststore",
            &store_s,
            &ca,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!report(&o).changed);
    let o = as_user(
        &home,
        bin,
        &["remove", "--no-system", "--java-truststore", &store_s, &ca],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(listing(&store, PASS), before);
}
