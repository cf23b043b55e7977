//! The Java side of `env`/`exec`'s fallback: a PKCS#12 truststore (password `changeit`) holding
//! the same certificates as the PEM bundle, written beside it, and the `JAVA_TOOL_OPTIONS` that
//! point a JVM at it — appended to what the variable already holds; when it already names a
//! trustStore, that one is kept and the report says so (`decide` has the rules).

use std::path::Path;

use super::env_rules::Policy;
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

const STORE_OPT: &str = "-Djavax.net.ssl.trustStore=";
const OURS_OPTS: [&str; 3] = [
    STORE_OPT,
    "-Djavax.net.ssl.trustStorePassword=",
    "-Djavax.net.ssl.trustStoreType=",
];

/// What happens to `JAVA_TOOL_OPTIONS`.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write the truststore and set the variable to `base` (what it held, minus anchorage's
    /// own earlier options) followed by ours; `replaced`: the earlier truststore it named.
    Set {
        base: Option<String>,
        replaced: Option<String>,
    },
    /// Keep it as it is (listed with the kept variables), why.
    Keep(String),
    /// Keep it as it is, and say so in this line (it names a trustStore of its own).
    Note(String),
}

/// The decision for `JAVA_TOOL_OPTIONS` (`value`) under `policy`, the PEM variables' rules:
/// unset or empty → ours; set and `--keep-env` → kept untouched; naming a trustStore of its
/// own → kept, with a note (also with `--override-env`: the options are the user's, a
/// trustStore among them is not ours to drop); naming anchorage's own earlier truststore
/// (`env` run again in the same shell) → replaced; otherwise → ours appended.
pub fn decide(policy: Policy, value: Option<&std::ffi::OsString>) -> Decision {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Decision::Set {
            base: None,
            replaced: None,
        };
    };
    if policy == Policy::Keep {
        return Decision::Keep("already set; --keep-env".into());
    }
    let Some(current) = value.to_str() else {
        return Decision::Keep("not UTF-8; kept as it is".into());
    };
    let tokens = split(current);
    let stores: Vec<String> = tokens
        .iter()
        .filter_map(|t| unquote(t).strip_prefix(STORE_OPT).map(str::to_string))
        .collect();
    if stores.is_empty() {
        return Decision::Set {
            base: Some(current.trim().to_string()),
            replaced: None,
        };
    }
    let ours = |p: &String| {
        Path::new(p)
            .file_name()
            .is_some_and(|n| n == TRUSTSTORE_NAME)
    };
    if !stores.iter().all(ours) {
        return Decision::Note(format!(
            "{VAR} already names a trustStore; kept (the JVM keeps using it, without the sources)"
        ));
    }
    let base: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !OURS_OPTS.iter().any(|o| unquote(t).starts_with(o)))
        .collect();
    Decision::Set {
        base: Some(base.join(" ")).filter(|b| !b.is_empty()),
        replaced: stores.last().cloned(),
    }
}

/// The options as the JVM splits them: on white space outside single or double quotes (the
/// tokens keep their quotes).
fn split(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c.is_whitespace() => {
                if let Some(st) = start.take() {
                    out.push(&s[st..i]);
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (None, _) => {}
        }
        start.get_or_insert(i);
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// A token without its quote characters (what the JVM sees).
fn unquote(t: &str) -> String {
    t.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// The new `JAVA_TOOL_OPTIONS` value: `base` (what stays of the current one) followed by the
/// options that point the JVM at `store`.
pub fn options(base: Option<&str>, store: &Path) -> String {
    let base = base.unwrap_or("").trim();
    let mut path = store.display().to_string();
    if path.contains(char::is_whitespace) {
        // The JVM splits JAVA_TOOL_OPTIONS on white space unless quoted.
        path = format!("\"{path}\"");
    }
    let ours = format!(
        "{STORE_OPT}{path} -Djavax.net.ssl.trustStorePassword={} -Djavax.net.ssl.trustStoreType=PKCS12",
        java::DEFAULT_PASSWORD
    );
    if base.is_empty() {
        ours
    } else {
        format!("{base} {ours}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn d(policy: Policy, v: Option<&str>) -> Decision {
        decide(policy, v.map(OsString::from).as_ref())
    }

    #[test]
    fn appends_to_existing_options() {
        let v = options(Some("-Xmx1g"), Path::new("/run/a/t.p12"));
        assert_eq!(
            v,
            "-Xmx1g -Djavax.net.ssl.trustStore=/run/a/t.p12 -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12"
        );
        assert_eq!(
            d(Policy::Rules, Some(" -Xmx1g ")),
            Decision::Set {
                base: Some("-Xmx1g".into()),
                replaced: None
            }
        );
    }

    #[test]
    fn keeps_an_existing_truststore() {
        for p in [Policy::Rules, Policy::Override] {
            assert!(matches!(
                d(p, Some("-Djavax.net.ssl.trustStore=/x")),
                Decision::Note(n) if n.contains("already names a trustStore")
            ));
        }
    }

    #[test]
    fn keep_env_keeps_a_set_value_and_fills_an_unset_one() {
        let set = Decision::Set {
            base: None,
            replaced: None,
        };
        assert_eq!(d(Policy::Keep, None), set);
        assert_eq!(d(Policy::Keep, Some("")), set);
        assert!(matches!(d(Policy::Keep, Some("-Xss2m")), Decision::Keep(_)));
        // Even anchorage's own earlier options: --keep-env touches no set variable.
        assert!(matches!(
            d(
                Policy::Keep,
                Some("-Djavax.net.ssl.trustStore=/tmp/anchorage-x/anchorage-truststore.p12")
            ),
            Decision::Keep(_)
        ));
    }

    #[test]
    fn our_earlier_truststore_is_replaced() {
        let old = "-Xss2m -Djavax.net.ssl.trustStore=\"/tmp/a b/anchorage-truststore.p12\" -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12 -Dx=1";
        assert_eq!(
            d(Policy::Rules, Some(old)),
            Decision::Set {
                base: Some("-Xss2m -Dx=1".into()),
                replaced: Some("/tmp/a b/anchorage-truststore.p12".into())
            }
        );
        // A file name that only starts like ours is a store of the user's.
        assert!(matches!(
            d(
                Policy::Rules,
                Some("-Djavax.net.ssl.trustStore=/tmp/anchorage-truststore.p12.bak")
            ),
            Decision::Note(_)
        ));
    }

    #[test]
    fn splits_like_the_jvm() {
        assert_eq!(
            split("  a 'b c'  d\"e f\"g "),
            vec!["a", "'b c'", "d\"e f\"g"]
        );
        assert_eq!(unquote("d\"e f\"g"), "de fg");
    }
}
