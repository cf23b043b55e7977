//! Install policy (pure): which certificates of the loaded sources may become trust anchors,
//! which are skipped with a warning, which refuse the whole batch; and their managed names.

use std::collections::HashSet;

use crate::cert::{Certificate, Role};
use crate::error::{Error, Result};
use crate::input::source::Loaded;

#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    pub intermediate: bool,
    pub leaf: bool,
    pub expired: bool,
}

/// Warn about anchors expiring within this many days.
pub const WARN_DAYS: i64 = 60;

#[derive(Debug, Clone)]
pub struct Candidate {
    pub cert: std::sync::Arc<Certificate>,
    pub source: String,
    pub name: String,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Skipped {
    pub cert: std::sync::Arc<Certificate>,
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Decision {
    pub accepted: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
}

pub fn decide(loaded: &Loaded, allow: Allow, name: Option<&str>, now: i64) -> Result<Decision> {
    let mut decision = Decision::default();
    let mut accepted = HashSet::new();
    let mut skipped = HashSet::new();
    for file in &loaded.files {
        let has_anchor = file
            .indexes
            .iter()
            .any(|&i| loaded.certs[i].cert.role == Role::SelfSigned);
        for &i in &file.indexes {
            let s = &loaded.certs[i];
            let cert = &s.cert;
            // The stores hold plain certificates: OpenSSL trust settings that keep it from
            // authenticating TLS servers would be lost, so it is refused, never promoted.
            if let Some((file, why)) = &s.refused {
                return Err(Error::bad_input(
                    file,
                    format!("'{}': {why}", cert.subject),
                    crate::input::trust::HINT,
                ));
            }
            let refusal = match cert.role {
                Role::SelfSigned => None,
                Role::Intermediate if allow.intermediate => None,
                Role::Leaf if allow.leaf => None,
                Role::Intermediate => Some((
                    format!(
                        "this is an intermediate CA issued by '{}', not a root",
                        cert.issuer
                    ),
                    format!(
                        "install the root '{}' instead, or pass --allow-intermediate",
                        cert.issuer
                    ),
                )),
                Role::Leaf => Some((
                    format!(
                        "this is an end-entity certificate issued by '{}'",
                        cert.issuer
                    ),
                    format!("install '{}' instead (or pass --allow-leaf)", cert.issuer),
                )),
            };
            if let Some((msg, hint)) = refusal {
                if has_anchor {
                    if skipped.insert(cert.sha256) && !accepted.contains(&cert.sha256) {
                        decision.skipped.push(Skipped {
                            cert: cert.clone(),
                            source: file.label.clone(),
                            reason: format!("'{}' in {} skipped: {msg}", cert.subject, file.label),
                        });
                    }
                    continue;
                }
                return Err(Error::bad_input(
                    &file.label,
                    format!("'{}': {msg}", cert.subject),
                    hint,
                ));
            }
            if cert.is_expired(now) && !allow.expired {
                return Err(Error::bad_input(
                    &file.label,
                    format!("'{}' expired on {}", cert.subject, cert.not_after_rfc3339()),
                    "get a current certificate from its issuer, or pass --allow-expired",
                ));
            }
            if accepted.insert(cert.sha256) {
                let mut warnings = Vec::new();
                let days = cert.days_left(now);
                if cert.is_expired(now) {
                    warnings.push(format!(
                        "expired on {} (installed because of --allow-expired)",
                        cert.not_after_rfc3339()
                    ));
                } else if days < WARN_DAYS {
                    warnings.push(format!(
                        "expires in {days} days ({})",
                        cert.not_after_rfc3339()
                    ));
                }
                decision.accepted.push(Candidate {
                    cert: cert.clone(),
                    source: s.source.clone(),
                    name: String::new(),
                    warnings,
                });
            }
        }
    }
    decision
        .skipped
        .retain(|s| !accepted.contains(&s.cert.sha256));
    name_candidates(&mut decision.accepted, name)?;
    Ok(decision)
}

/// Give each candidate a file-safe name: `--name` for a single certificate, else derived from
/// the common name; clashes between different certificates get a fingerprint suffix.
fn name_candidates(cands: &mut [Candidate], name: Option<&str>) -> Result<()> {
    if let Some(n) = name {
        if cands.len() > 1 {
            return Err(Error::usage(format!(
                "--name applies to a single certificate, but the sources hold {} installable ones",
                cands.len()
            )));
        }
        check_name(n).map_err(Error::usage)?;
        let safe = safe_name(n);
        if let Some(c) = cands.first_mut() {
            c.name = safe;
        }
        return Ok(());
    }
    let mut used = HashSet::new();
    for c in cands.iter_mut() {
        let mut base = safe_name(&c.cert.common_name);
        if base.is_empty() {
            base = format!("ca-{}", &c.cert.fingerprint()[..12]);
        }
        if !used.insert(base.clone()) {
            base = format!("{base}-{}", &c.cert.fingerprint()[..8]);
            used.insert(base.clone());
        }
        c.name = base;
    }
    Ok(())
}

/// `--name` as given: the NSS nickname (after `anchorage-`) of a single anchor, and the source of
/// its file name (`safe_name`). A nickname must come back unchanged from `certutil -L`, which
/// prints one per line padded before the trust column, so control characters (a newline splits
/// the entry in two), leading or trailing white space (trimmed away) and `:` (certutil reads
/// `token:nickname`) are refused; so are the invisible characters `text_safe` escapes. `Err`:
/// what is wrong and what is allowed.
pub fn check_name(raw: &str) -> std::result::Result<(), String> {
    let shown = crate::text_safe::escape(raw);
    let allowed = "a name may hold letters, digits, spaces and printable punctuation except ':', \
                   not starting or ending with a space";
    let bad: Vec<String> = raw
        .chars()
        .filter(|&c| crate::text_safe::is_unsafe(c) || c == ':')
        .map(|c| crate::text_safe::escape(&c.to_string()).into_owned())
        .collect();
    if !bad.is_empty() {
        let mut bad = bad;
        bad.dedup();
        return Err(format!(
            "--name '{shown}' contains {} (control or invisible characters, or ':'); {allowed}",
            bad.iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if raw.trim() != raw {
        return Err(format!(
            "--name '{shown}' starts or ends with white space; {allowed}"
        ));
    }
    if safe_name(raw).is_empty() {
        return Err(format!(
            "--name '{shown}' has no usable characters [A-Za-z0-9._-]"
        ));
    }
    Ok(())
}

/// `--name`: checked as it is parsed (`policy::check_name`), so a name that could not come
/// back from `certutil -L` or would print control characters is a usage error (exit 2) before
/// anything is read. The message shows the value escaped (clap's own would print it raw).
#[derive(Debug, Clone, Copy)]
pub struct NameParser;

impl clap::builder::TypedValueParser for NameParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let invalid = |msg: String| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{msg}\n"))
                .with_cmd(cmd)
        };
        let s = value.to_str().ok_or_else(|| {
            invalid(format!(
                "--name '{}' is not valid UTF-8",
                crate::text_safe::escape(&value.to_string_lossy())
            ))
        })?;
        crate::policy::check_name(s).map_err(invalid)?;
        Ok(s.to_string())
    }
}

/// Debian mangles spaces, parentheses and commas on add but not on remove, so managed names
/// use `[A-Za-z0-9._-]` only: anything else becomes `_`, runs collapse, at most 64 characters,
/// never starting with a dot.
pub fn safe_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        let c = if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_') {
            ch
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c| c == '_' || c == '.' || c == '-');
    trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches(['_', '.', '-'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("myNewCa Test Root"), "myNewCa_Test_Root");
        assert_eq!(safe_name("ACME (Corp), Root"), "ACME_Corp_Root");
        assert_eq!(safe_name("../../etc/passwd"), "etc_passwd");
        assert_eq!(safe_name("ÄÖÜ"), "");
        assert_eq!(safe_name(&"x".repeat(100)).len(), 64);
        // Certificate text never yields a hidden, relative or control-bearing file name.
        for (raw, want) in [
            ("..", ""),
            (".", ""),
            (".hidden", "hidden"),
            ("-rf", "rf"),
            ("a\nb\u{1b}[0m\0", "a_b_0m"),
            ("x\u{202e}y/z", "x_y_z"),
        ] {
            assert_eq!(safe_name(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn names_certutil_lists_back_are_accepted_others_refused() {
        for ok in ["Corp \"Proxy\" CA (2026)", "Société Générale", "a  b"] {
            assert_eq!(check_name(ok), Ok(()), "{ok:?}");
        }
        for bad in ["a\nb", "a\u{1b}b", "a\u{202e}b", "a:b", "a ", " a", "..."] {
            let err = check_name(bad).unwrap_err();
            assert!(err.starts_with("--name '"), "{bad:?}: {err}");
            assert!(
                !err.chars().any(crate::text_safe::is_unsafe),
                "{bad:?}: {err}"
            );
        }
    }

    fn loaded(file: &str, certs: Vec<Certificate>) -> Loaded {
        let certs: Vec<crate::input::source::Sourced> = certs
            .into_iter()
            .map(|c| crate::input::source::Sourced {
                cert: std::sync::Arc::new(c),
                source: file.into(),
                refused: None,
            })
            .collect();
        Loaded {
            files: vec![crate::input::source::FileCerts {
                label: file.into(),
                arg: 0,
                indexes: (0..certs.len()).collect(),
            }],
            certs,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn leaf() -> Certificate {
        let mut c = crate::cert::fake::cert(2, "client");
        c.issuer = "CN=Issuer".into();
        c.is_ca = false;
        c.role = Role::Leaf;
        c
    }

    #[test]
    fn skip_reasons_name_the_file_and_leaves_are_end_entity_certificates() {
        let l = loaded(
            "bundle.p12",
            vec![crate::cert::fake::cert(1, "Root"), leaf()],
        );
        let d = decide(&l, Allow::default(), None, 0).unwrap();
        assert_eq!(d.accepted.len(), 1);
        assert_eq!(
            d.skipped[0].reason,
            "'CN=client' in bundle.p12 skipped: this is an end-entity certificate issued by 'CN=Issuer'"
        );
        // Alone, a leaf refuses the batch with the same words (a client certificate is not a
        // "server certificate").
        let err = decide(&loaded("id.p12", vec![leaf()]), Allow::default(), None, 0).unwrap_err();
        assert!(
            err.to_string().contains("end-entity certificate")
                && !err.to_string().contains("server"),
            "{err}"
        );
    }
}
