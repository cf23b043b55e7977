//! The Java side of `env`/`exec`'s fallback: a PKCS#12 truststore (password `changeit`) holding
//! the same certificates as the PEM bundle, written beside it, and the `JAVA_TOOL_OPTIONS` that
//! point a JVM at it — appended to what the variable already holds; when it already names a
//! trustStore, that one is kept and the report says so.

use std::path::Path;

use crate::error::{Error, Result};
use crate::store::{bundle, java};

pub const TRUSTSTORE_NAME: &str = "anchorage-truststore.p12";
pub const VAR: &str = "JAVA_TOOL_OPTIONS";

/// The truststore for `pem` (the fallback bundle's bytes): every certificate, de-duplicated by
/// fingerprint, aliased `anchorage-<sha256 prefix>`.
pub fn truststore(pem: &[u8]) -> Result<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    let ders: Vec<(String, Vec<u8>)> = bundle::certificates(pem)
        .flatten()
        .filter(|d| seen.insert(crate::cert::sha256(d)))
        .map(|d| {
            let fp = hex::encode(crate::cert::sha256(&d));
            (format!("{}{}", java::ALIAS_PREFIX, &fp[..16]), d)
        })
        .collect();
    let certs: Vec<(&str, &[u8])> = ders
        .iter()
        .map(|(a, d)| (a.as_str(), d.as_slice()))
        .collect();
    java::pkcs12::build(java::DEFAULT_PASSWORD, &certs).map_err(|e| Error::Failed {
        msg: format!("cannot build the Java truststore for the environment bundle: {e}"),
        path: None,
        hint: None,
    })
}

/// Whether `JAVA_TOOL_OPTIONS` (`current`) already names a trustStore.
pub fn names_truststore(current: Option<&str>) -> bool {
    current.is_some_and(|c| c.contains("-Djavax.net.ssl.trustStore="))
}

/// The new `JAVA_TOOL_OPTIONS` value and a note, from the current one. `None` value: keep the
/// variable as it is (it already names a trustStore).
pub fn options(current: Option<&str>, store: &Path) -> (Option<String>, Option<String>) {
    let current = current.unwrap_or("").trim();
    if names_truststore(Some(current)) {
        return (
            None,
            Some(format!(
                "{VAR} already names a trustStore; kept (the Java truststore {} is not used by the JVM)",
                store.display()
            )),
        );
    }
    let mut path = store.display().to_string();
    if path.contains(char::is_whitespace) {
        // The JVM splits JAVA_TOOL_OPTIONS on white space unless quoted.
        path = format!("\"{path}\"");
    }
    let ours = format!(
        "-Djavax.net.ssl.trustStore={path} -Djavax.net.ssl.trustStorePassword={} -Djavax.net.ssl.trustStoreType=PKCS12",
        java::DEFAULT_PASSWORD
    );
    let value = if current.is_empty() {
        ours
    } else {
        format!("{current} {ours}")
    };
    (Some(value), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_to_existing_options() {
        let (v, n) = options(Some("-Xmx1g"), Path::new("/run/a/t.p12"));
        assert_eq!(
            v.as_deref(),
            Some("-Xmx1g -Djavax.net.ssl.trustStore=/run/a/t.p12 -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12")
        );
        assert!(n.is_none());
    }

    #[test]
    fn keeps_an_existing_truststore() {
        let (v, n) = options(
            Some("-Djavax.net.ssl.trustStore=/x"),
            Path::new("/run/t.p12"),
        );
        assert!(v.is_none());
        assert!(n.is_some_and(|n| n.contains("already names a trustStore")));
    }
}
