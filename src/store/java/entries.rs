//! A truststore's entries as the stores' `Entry`s (anchorage's by the alias prefix, parsed;
//! everyone else's by fingerprint only), and what a truststore lacks — `missing_in` (pure) and
//! `missing_fingerprints` (a file on the host), for `doctor --runtimes`.

use super::{format, Keystore, ALIAS_PREFIX, PASSWORD_HINT, TRUST};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::store::Entry;

fn is_ours(alias: &str) -> bool {
    alias
        .get(..ALIAS_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(ALIAS_PREFIX))
}

/// Another party's entry, judged by fingerprint only: planning needs nothing else of it, and
/// parsing the 150 certificates of a `cacerts` would cost the no-op run milliseconds.
fn digest_only(der: &[u8]) -> Certificate {
    Certificate {
        der: Vec::new(),
        sha256: crate::cert::sha256(der),
        subject: String::new(),
        issuer: String::new(),
        common_name: String::new(),
        not_before: 0,
        not_after: 0,
        is_ca: true,
        role: crate::cert::Role::SelfSigned,
    }
}

/// The trusted entries of a store as `Entry`s (ours: alias prefix `anchorage-`, any case;
/// only ours are parsed in full).
pub fn entries(ks: &Keystore, path: &std::path::Path) -> Vec<Entry> {
    ks.trusted()
        .map(|(alias, der)| {
            let ours = is_ours(alias);
            let cert = if ours {
                Certificate::from_der(der, false)
            } else {
                Ok(digest_only(der))
            };
            Entry {
                name: if ours {
                    alias[ALIAS_PREFIX.len()..].to_string()
                } else {
                    alias.to_string()
                },
                path: path.to_path_buf(),
                nickname: alias.to_string(),
                problem: cert
                    .as_ref()
                    .err()
                    .map(|e| format!("unreadable certificate: {e}")),
                cert: cert.ok(),
                registered: true,
                ours,
                trust: TRUST.into(),
            }
        })
        .collect()
}

/// Which of `wanted` (SHA-256 fingerprints) the truststore at `path` (a host path) lacks as
/// trusted entries, for `doctor --runtimes`. Errors name the file (65 wrong password or
/// malformed, 66 missing).
pub fn missing_fingerprints(
    path: &std::path::Path,
    password: &str,
    wanted: &[[u8; 32]],
) -> Result<Vec<[u8; 32]>> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoInput {
            path: path.to_path_buf(),
        },
        _ => Error::io_source("cannot read the Java truststore", path, e),
    })?;
    let ks = format::read(&bytes, password).map_err(|e| Error::BadInput {
        path: path.to_path_buf(),
        msg: format!("Java truststore: {e}"),
        hint: Some(PASSWORD_HINT.into()),
    })?;
    Ok(missing_in(&ks, wanted))
}

/// Pure: which of `wanted` `ks` does not trust.
pub fn missing_in(ks: &Keystore, wanted: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let have: std::collections::HashSet<[u8; 32]> =
        ks.trusted().map(|(_, d)| crate::cert::sha256(d)).collect();
    wanted
        .iter()
        .filter(|w| !have.contains(*w))
        .copied()
        .collect()
}
