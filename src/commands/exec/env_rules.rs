//! The environment fallback's rules (issue 16, part 1): which TLS variables `exec`/`env` point
//! at which bundle. Images often set `SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt` & co.;
//! keeping such a variable left the agent failing as before, so a set variable is judged by
//! what it names:
//! * unset or empty, or `--override-env` → the combined bundle (system bundle + sources);
//! * the platform's effective bundle, our own bundle, a missing file, or any file whose
//!   certificates are all in the combined bundle → **replaced** by the combined bundle (a
//!   superset: nothing the user trusted is lost);
//! * another file (a deliberate custom bundle) → a combined bundle of *that file* + the sources,
//!   written next to ours (one line says so); `NODE_EXTRA_CA_CERTS` follows the same rule;
//! * a file that cannot be read → kept, and said so;
//! * `SSL_CERT_DIR` set → an OpenSSL hashed directory (`<subject-hash>.N`) of the sources is
//!   written and prepended to it;
//! * `--keep-env` → every set variable is kept (the behaviour before issue 16);
//! * `JAVA_TOOL_OPTIONS` by the same policy, on its own (see `java_env::decide`): unset → the
//!   truststore's options; set → appended to, unless it names a trustStore (kept, said so) or
//!   `--keep-env` (kept); anchorage's own earlier truststore is replaced by the fresh one.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::bundle_dir::BundleDir;
use super::java_env;
use super::{BUNDLE_NAME, ENV_VARS};
use crate::error::Result;
use crate::policy::Candidate;
use crate::runtimes::host::{self, HostFile};
use crate::store::bundle;
use crate::store::native::hash::subject_hash;
use crate::text_safe::escape;

/// OpenSSL's search path of hashed directories (colon-separated).
pub const DIR_VAR: &str = "SSL_CERT_DIR";
/// The hashed directory's name inside the bundle directory.
pub const HASHED_DIR: &str = "anchorage-certs";

/// How set variables are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The rules above.
    Rules,
    /// `--keep-env`: never touch a set variable.
    Keep,
    /// `--override-env`: every variable points at the combined bundle.
    Override,
}

impl Policy {
    pub fn new(keep_env: bool, override_env: bool) -> Policy {
        match (keep_env, override_env) {
            (true, _) => Policy::Keep,
            (false, true) => Policy::Override,
            (false, false) => Policy::Rules,
        }
    }
}

/// What happens to one variable.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Point it at the combined bundle.
    Combined,
    /// Point it at a combined bundle of the file it names + the sources.
    Custom(PathBuf),
    /// Keep it; why (shown).
    Keep(String),
}

/// The decision for `var` whose value is `value` (pure but for reading the named file).
pub fn decide(
    policy: Policy,
    value: Option<&OsString>,
    system_bundle: &Path,
    combined: &HashSet<[u8; 32]>,
) -> Action {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Action::Combined;
    };
    match policy {
        Policy::Override => return Action::Combined,
        Policy::Keep => return Action::Keep("already set; --keep-env".into()),
        Policy::Rules => {}
    }
    let path = PathBuf::from(value);
    let same = |a: &Path, b: &Path| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    if same(&path, system_bundle) || path.file_name().is_some_and(|n| n == BUNDLE_NAME) {
        return Action::Combined;
    }
    match host::read(&path) {
        HostFile::Missing => Action::Combined,
        HostFile::Unreadable(why) => Action::Keep(format!("cannot read {}: {why}", path.display())),
        HostFile::Bytes(b) if bundle::digests(&b).is_subset(combined) => Action::Combined,
        HostFile::Bytes(_) => Action::Custom(path),
    }
}

/// The variables set, and what to say.
#[derive(Debug, Default)]
pub struct Outcome {
    pub env: Vec<(String, String)>,
    /// Variables kept as they were, each with why.
    pub kept: Vec<(&'static str, String)>,
    /// One line each: custom bundles written, the hashed directory.
    pub lines: Vec<String>,
    /// The combined bundle, when written.
    pub bundle: Option<PathBuf>,
    /// The directory written into, if any.
    pub dir: Option<PathBuf>,
    /// What PROGRAM would trust: every file's name and content (the truststore's input, as
    /// its PKCS#12 bytes differ on every run), then the variables.
    pub digest: [u8; 32],
}

/// One (name, bytes) pair into the digest, length-prefixed so pairs cannot run together.
fn hash_part(h: &mut Sha256, name: &str, bytes: &[u8]) {
    for part in [name.as_bytes(), bytes] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
}

fn finish(mut out: Outcome, mut h: Sha256) -> Outcome {
    for (k, v) in &out.env {
        hash_part(&mut h, k, v.as_bytes());
    }
    out.digest = h.finalize().into();
    out
}

/// `bytes` + the sources not already in it, each after a one-line comment.
pub fn append_sources(mut bytes: Vec<u8>, wanted: &[Candidate]) -> Vec<u8> {
    let present = bundle::digests(&bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    for c in wanted.iter().filter(|c| !present.contains(&c.cert.sha256)) {
        // The comment is one line whatever the subject or file name holds: a newline there
        // would let the certificate's own text add a PEM block (a hidden anchor) to the bundle.
        let comment = format!(
            "# anchorage: {} (from {})\n",
            escape(&c.cert.subject),
            escape(&c.source)
        );
        bytes.extend_from_slice(comment.as_bytes());
        bytes.extend_from_slice(c.cert.to_pem().as_bytes());
    }
    bytes
}

/// The `openssl rehash` entries of the sources: `(<hash>.N, PEM)`.
pub fn hashed_entries(wanted: &[Candidate]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen = HashSet::new();
    for c in wanted.iter().filter(|c| seen.insert(c.cert.sha256)) {
        let Some(h) = subject_hash(&c.cert.der) else {
            continue;
        };
        let n = out
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("{h:08x}.")))
            .count();
        out.push((format!("{h:08x}.{n}"), c.cert.to_pem().into_bytes()));
    }
    out
}

/// Apply the rules: decide every variable, write the bundles needed into `dir` (opened only
/// when something is written), return the variables.
pub(super) fn apply(
    policy: Policy,
    combined_bytes: &[u8],
    system_bundle: &Path,
    wanted: &[Candidate],
    open: impl FnOnce() -> Result<BundleDir>,
) -> Result<Outcome> {
    let combined = bundle::digests(combined_bytes);
    let get = |k: &str| std::env::var_os(k);
    let decisions: Vec<(&'static str, Action)> = ENV_VARS
        .iter()
        .map(|&k| (k, decide(policy, get(k).as_ref(), system_bundle, &combined)))
        .collect();
    let dir_value = get(DIR_VAR).filter(|v| !v.is_empty());
    let wants_dir = dir_value.is_some() && policy != Policy::Keep && !wanted.is_empty();
    // The JVM's view (a JVM reads none of the variables above) is decided on its own, by the
    // same policy: an unset JAVA_TOOL_OPTIONS gets the truststore whatever the PEM variables
    // hold, and --keep-env keeps a set one untouched.
    let java = java_env::decide(policy, get(java_env::VAR).as_ref());
    let mut out = Outcome::default();
    let mut h = Sha256::new();
    let writes = wants_dir
        || matches!(java, java_env::Decision::Set { .. })
        || decisions
            .iter()
            .any(|(_, a)| matches!(a, Action::Combined | Action::Custom(_)));
    if !writes {
        out.kept = decisions
            .into_iter()
            .filter_map(|(k, a)| match a {
                Action::Keep(why) => Some((k, why)),
                _ => None,
            })
            .collect();
        if dir_value.is_some() && policy == Policy::Keep {
            out.kept.push((DIR_VAR, "already set; --keep-env".into()));
        }
        match java {
            java_env::Decision::Keep(why) => out.kept.push((java_env::VAR, why)),
            java_env::Decision::Note(line) => out.lines.push(line),
            java_env::Decision::Set { .. } => {}
        }
        return Ok(finish(out, h));
    }
    let mut dir = open()?;
    out.dir = Some(dir.path().to_path_buf());
    for (k, action) in decisions {
        match action {
            Action::Combined => {
                let path = match &out.bundle {
                    Some(p) => p.clone(),
                    None => {
                        hash_part(&mut h, BUNDLE_NAME, combined_bytes);
                        let p = dir.write(BUNDLE_NAME, combined_bytes)?;
                        out.bundle = Some(p.clone());
                        p
                    }
                };
                out.env.push((k.to_string(), path.display().to_string()));
            }
            Action::Custom(from) => {
                let bytes = match host::read(&from) {
                    HostFile::Bytes(b) => b,
                    _ => Vec::new(),
                };
                let name = format!("anchorage-{}.pem", k.to_ascii_lowercase().replace('_', "-"));
                let bytes = append_sources(bytes, wanted);
                hash_part(&mut h, &name, &bytes);
                let path = dir.write(&name, &bytes)?;
                out.lines.push(format!(
                    "{k} named a custom bundle ({}, with certificates the system bundle lacks): now {}, that file plus the {} source certificate(s)",
                    from.display(),
                    path.display(),
                    wanted.len()
                ));
                out.env.push((k.to_string(), path.display().to_string()));
            }
            Action::Keep(why) => out.kept.push((k, why)),
        }
    }
    if dir_value.is_some() && policy == Policy::Keep {
        out.kept.push((DIR_VAR, "already set; --keep-env".into()));
    }
    // A PKCS#12 truststore beside the bundle, holding the combined bundle's certificates.
    match java {
        java_env::Decision::Set { base, replaced } => {
            hash_part(&mut h, java_env::TRUSTSTORE_NAME, combined_bytes);
            let store = dir.write(
                java_env::TRUSTSTORE_NAME,
                &java_env::truststore(combined_bytes)?,
            )?;
            out.env.push((
                java_env::VAR.to_string(),
                java_env::options(base.as_deref(), &store),
            ));
            if let Some(old) = replaced {
                out.lines.push(format!(
                    "{} named anchorage's earlier truststore ({old}): now {} (the combined bundle's certificates)",
                    java_env::VAR,
                    store.display()
                ));
            } else if out.bundle.is_none() {
                out.lines.push(format!(
                    "{}: the Java truststore {} (the combined bundle's certificates)",
                    java_env::VAR,
                    store.display()
                ));
            }
        }
        java_env::Decision::Keep(why) => out.kept.push((java_env::VAR, why)),
        java_env::Decision::Note(line) => out.lines.push(line),
    }
    if let (true, Some(old)) = (wants_dir, dir_value) {
        let entries = hashed_entries(wanted);
        for (n, bytes) in &entries {
            hash_part(&mut h, &format!("{HASHED_DIR}/{n}"), bytes);
        }
        let path = dir.write_hashed(HASHED_DIR, &entries)?;
        // Earlier runs' own directory is not prepended twice.
        let rest: Vec<PathBuf> = std::env::split_paths(&old).filter(|p| *p != path).collect();
        let joined = std::env::join_paths(std::iter::once(path.clone()).chain(rest))
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("{}:{}", path.display(), old.to_string_lossy()));
        out.lines.push(format!(
            "{DIR_VAR} was set: {} (a hashed directory of the {} source certificate(s)) is put first in it",
            path.display(),
            entries.len()
        ));
        out.env.push((DIR_VAR.to_string(), joined));
    }
    Ok(finish(out, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_override_take_the_combined_bundle() {
        let none = HashSet::new();
        let sys = Path::new("/nonexistent/bundle.crt");
        assert_eq!(decide(Policy::Rules, None, sys, &none), Action::Combined);
        let v = OsString::from("/some/custom.pem");
        assert_eq!(
            decide(Policy::Override, Some(&v), sys, &none),
            Action::Combined
        );
        assert!(matches!(
            decide(Policy::Keep, Some(&v), sys, &none),
            Action::Keep(_)
        ));
        // A missing file holds nothing the combined bundle lacks.
        assert_eq!(
            decide(Policy::Rules, Some(&v), sys, &none),
            Action::Combined
        );
        let empty = OsString::new();
        assert_eq!(
            decide(Policy::Keep, Some(&empty), sys, &none),
            Action::Combined
        );
    }

    #[test]
    fn hash_names_are_what_openssl_rehash_uses() {
        assert!(super::super::bundle_dir::is_hash_name("5ad8a5d6.0"));
        assert!(!super::super::bundle_dir::is_hash_name(
            "anchorage-ca-bundle.pem"
        ));
        assert!(!super::super::bundle_dir::is_hash_name("5ad8a5d6.x"));
    }
}
