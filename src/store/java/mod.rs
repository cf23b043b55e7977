//! Java truststores (`cacerts`, an agent's bundled JRE's store) as stores, written natively: no
//! keytool, no JVM. Which stores (`--java-truststore`, `--java-discover`) and the password are
//! resolved up front; each store is then one `Store`, read and verified (JKS keyed digest,
//! PKCS#12 MAC) before any change, idempotent by fingerprint, anchorage's entries carrying the
//! alias prefix `anchorage-`. A store the platform's own hook maintains (Debian's
//! `ca-certificates-java`, RHEL's extracted `java/cacerts`) is never written: after the hook,
//! its content is checked by effect.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::platform::Target;
use crate::policy::Candidate;
use crate::request::JavaRequest;
use crate::store::{Done, Entry, State, Store, StoreId, StorePlan};
use crate::tree::{Attrs, Tree};

pub mod annotate;
pub mod discover;
mod entries;
pub mod format;
pub mod jks;
pub mod pkcs12;

pub use entries::{entries, missing_fingerprints, missing_in};
pub use format::{Format, Keystore, KsError};

/// Aliases of entries anchorage added start with this (keytool folds aliases to lowercase, so
/// the whole alias is lowercase).
pub const ALIAS_PREFIX: &str = "anchorage-";
/// The `trust` of a Java store's entries (what `keytool -list` calls them).
pub const TRUST: &str = "trustedCertEntry";
/// The JDK's default store password.
pub const DEFAULT_PASSWORD: &str = "changeit";
const PASSWORD_HINT: &str = "pass the store's password with --java-password-file FILE or ANCHORAGE_JAVA_PASSWORD (the default is the JDK's 'changeit')";

pub fn alias(name: &str) -> String {
    format!("{ALIAS_PREFIX}{name}").to_lowercase()
}

/// The store password. Never logged, never passed to a child process.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `--java-password-file` (its first line), else `ANCHORAGE_JAVA_PASSWORD`, else `changeit`.
    pub fn resolve(file: Option<&std::path::Path>) -> Result<Password> {
        if let Some(file) = file {
            let text = std::fs::read_to_string(file).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NoInput {
                    path: file.to_path_buf(),
                },
                _ => Error::io_source("cannot read the Java password file", file, e),
            })?;
            return Ok(Password(text.lines().next().unwrap_or("").to_string()));
        }
        Ok(Password(
            std::env::var("ANCHORAGE_JAVA_PASSWORD").unwrap_or_else(|_| DEFAULT_PASSWORD.into()),
        ))
    }
}

/// One truststore of a run.
pub struct JavaStore {
    tree: Arc<Tree>,
    /// The path as named (option or discovery), inside the tree.
    pub named: String,
    /// The file written: `named` with the tree's links resolved inside the tree.
    pub real: String,
    pub discovered: bool,
    /// The platform hook that maintains this store (never written by anchorage then).
    pub hook: Option<&'static str>,
    /// False under `--no-update`: the hook does not run, so a hook-maintained store is
    /// neither written nor checked (the run's warning says to run the update command).
    pub hook_runs: bool,
    password: Password,
}

/// The stores of a run and the notes found while choosing them.
pub struct JavaStores {
    pub stores: Vec<JavaStore>,
    pub notes: Vec<String>,
}

/// Stores maintained by a platform hook: (real path, the hook's file, the tree's own update
/// command that runs it, who maintains it). The hook maintains the store only when the tree
/// has both: the host's update command pointed into a tree does not run the tree's update.d
/// scripts (`store::hook`), so there anchorage writes the store itself (and says so).
const HOOKED: &[(&str, &str, &str, &str)] = &[
    // Debian/Ubuntu: ca-certificates-java's hook, run by update-ca-certificates.
    (
        "/etc/ssl/certs/java/cacerts",
        "/etc/ca-certificates/update.d/jks-keystore",
        "/usr/sbin/update-ca-certificates",
        "ca-certificates-java (/etc/ca-certificates/update.d/jks-keystore, run by update-ca-certificates)",
    ),
    // RHEL/Fedora: update-ca-trust extract writes it (p11-kit's java-cacerts format).
    (
        "/etc/pki/ca-trust/extracted/java/cacerts",
        "/usr/bin/update-ca-trust",
        "/usr/bin/update-ca-trust",
        "update-ca-trust (p11-kit `trust extract --format=java-cacerts`)",
    ),
];

/// Resolve everything that can fail before a write. `None` when no Java store is in play.
pub fn open(target: &Target, req: &JavaRequest) -> Result<Option<JavaStores>> {
    let explicit: Vec<&String> = req.paths.iter().filter(|p| !p.is_empty()).collect();
    if explicit.is_empty() && !req.discover {
        return Ok(None);
    }
    let password = Password::resolve(req.password_file.as_deref())?;
    let tree = Tree::pin(&target.root)?;
    let mut stores: Vec<JavaStore> = Vec::new();
    let mut notes = Vec::new();
    let mut add = |named: String, discovered: bool, notes: &mut Vec<String>| -> Result<()> {
        let real = discover::real_path(&tree, &named)?;
        if stores.iter().any(|s| s.real == real) {
            return Ok(());
        }
        if real != named {
            notes.push(format!(
                "java:{named} is a link to {real} (inside the tree): the store is {real}"
            ));
        }
        let mut hook = None;
        for (_, marker, runner, who) in HOOKED.iter().filter(|h| h.0 == real) {
            if !tree.exists(marker) {
                continue;
            }
            if tree.exists(runner) {
                hook = Some(*who);
            } else {
                notes.push(format!(
                    "java:{real}: {marker} is there but the tree has no {runner} of its own to run it: anchorage writes the store"
                ));
            }
        }
        stores.push(JavaStore {
            tree: tree.clone(),
            named,
            real,
            discovered,
            hook,
            hook_runs: true,
            password: password.clone(),
        });
        Ok(())
    };
    for p in explicit {
        let named = format!(
            "/{}",
            crate::tree::normalise_user_path("--java-truststore", p)?
        );
        add(named, false, &mut notes)?;
    }
    if req.discover {
        for named in discover::find(&tree) {
            add(named, true, &mut notes)?;
        }
    }
    for s in &stores {
        if s.discovered {
            notes.push(format!("found Java truststore {}", s.real));
        }
        if let Some(who) = s.hook {
            notes.push(format!(
                "java:{} is maintained by {who}: not written by anchorage, checked after the hook",
                s.real
            ));
        }
    }
    if stores.is_empty() {
        return Ok(None);
    }
    Ok(Some(JavaStores { stores, notes }))
}

impl JavaStore {
    pub fn host(&self) -> PathBuf {
        self.tree.host(&self.real)
    }

    fn split(&self) -> (&str, &str) {
        let (dir, name) = self.real.rsplit_once('/').unwrap_or(("", &self.real));
        (if dir.is_empty() { "/" } else { dir }, name)
    }

    /// The store's bytes (the real path has no link left; a link planted since is refused).
    pub fn bytes(&self) -> Result<Vec<u8>> {
        let (dir, name) = self.split();
        let missing = || Error::NoInput { path: self.host() };
        let dir = self.tree.dir(dir)?.ok_or_else(missing)?;
        dir.read(name)?.ok_or_else(missing)
    }

    /// Read and verify: a store that does not verify is bad input (65), named, with the hint.
    pub fn keystore(&self) -> Result<Keystore> {
        let bytes = self.bytes()?;
        format::read(&bytes, self.password.as_str()).map_err(|e| self.error(e))
    }

    fn error(&self, e: KsError) -> Error {
        let hint = match e {
            KsError::WrongPassword => PASSWORD_HINT.to_string(),
            KsError::Malformed(_) => "check that the file is a Java truststore (`keytool -list -keystore FILE`)".into(),
            KsError::Unsupported(_) => "convert it with `keytool -importkeystore -deststoretype pkcs12`, or leave it out of --java-truststore".into(),
        };
        Error::BadInput {
            path: self.host(),
            msg: format!("Java truststore (java:{}): {e}", self.real),
            hint: Some(hint),
        }
    }

    fn verify_by_effect(
        &self,
        plan: &StorePlan,
        state: &State,
        desired: &[Candidate],
    ) -> Result<()> {
        let ks = self.keystore()?;
        let now: std::collections::HashSet<[u8; 32]> =
            ks.trusted().map(|(_, d)| crate::cert::sha256(d)).collect();
        let missing: Vec<&Candidate> = plan
            .add
            .iter()
            .map(|a| &desired[a.desired])
            .filter(|c| !now.contains(&c.cert.sha256))
            .collect();
        let left: Vec<&Entry> = plan
            .remove
            .iter()
            .map(|&i| &state.entries[i])
            .filter(|e| e.cert.as_ref().is_some_and(|c| now.contains(&c.sha256)))
            .collect();
        if missing.is_empty() && left.is_empty() {
            return Ok(());
        }
        let what = missing
            .iter()
            .map(|c| {
                format!(
                    "'{}' (sha256 {}) is missing",
                    c.cert.subject,
                    c.cert.fingerprint()
                )
            })
            .chain(
                left.iter()
                    .map(|e| format!("'{}' is still there", e.nickname)),
            )
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Failed {
            msg: format!(
                "java:{}: after the hook, {what} (the store is maintained by {})",
                self.real,
                self.hook.unwrap_or("the platform's hook")
            ),
            path: Some(self.host()),
            hint: Some("the hook adds only what changed in the system store: run `update-ca-certificates --fresh` in the tree (or check that a JRE is installed for the hook)".into()),
        })
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Store for JavaStore {
    fn id(&self) -> StoreId {
        StoreId::Java(self.real.clone())
    }

    fn read(&self, _effective: bool) -> Result<State> {
        let ks = self.keystore()?;
        let entries = entries(&ks, &self.host());
        tracing::debug!(
            "read: java {} ({}): {} trusted entries, {} of them anchorage's",
            self.real,
            ks.format.name(),
            entries.len(),
            entries.iter().filter(|e| e.ours).count()
        );
        let effective = entries
            .iter()
            .filter_map(|e| e.cert.as_ref().map(|c| c.sha256))
            .collect();
        Ok(State {
            entries,
            effective: Some(effective),
        })
    }

    fn apply(
        &self,
        plan: &StorePlan,
        state: &State,
        desired: &[Candidate],
        done: &mut Done,
    ) -> Result<()> {
        if self.hook.is_some() {
            if !self.hook_runs {
                return Ok(());
            }
            self.verify_by_effect(plan, state, desired)?;
            done.removed += plan.remove.len();
            done.added += plan.add.len();
            return Ok(());
        }
        let (dir_rel, name) = self.split();
        let dir = self
            .tree
            .dir(dir_rel)?
            .ok_or_else(|| Error::NoInput { path: self.host() })?;
        let st = dir
            .stat(name)?
            .ok_or_else(|| Error::NoInput { path: self.host() })?;
        let bytes = dir
            .read(name)?
            .ok_or_else(|| Error::NoInput { path: self.host() })?;
        let remove: Vec<&str> = plan
            .remove
            .iter()
            .map(|&i| state.entries[i].nickname.as_str())
            .collect();
        let add: Vec<(&str, &[u8])> = plan
            .add
            .iter()
            .map(|a| (a.key.as_str(), desired[a.desired].cert.der.as_slice()))
            .collect();
        tracing::debug!(
            "write: java {}: {} to add, {} to remove",
            self.real,
            add.len(),
            remove.len()
        );
        let new = format::rewrite(&bytes, self.password.as_str(), &remove, &add, now_millis())
            .map_err(|e| self.error(e))?;
        dir.write(name, &new, Attrs::of(&st), None)?;
        done.removed += remove.len();
        done.added += add.len();
        Ok(())
    }

    fn needs_hook(&self) -> bool {
        false
    }

    fn preflight(&self) -> Result<()> {
        if self.hook.is_some() {
            return Ok(());
        }
        let (dir, name) = self.split();
        let dir = self
            .tree
            .dir(dir)?
            .ok_or_else(|| Error::NoInput { path: self.host() })?;
        match dir.stat(name)? {
            Some(st) if crate::tree::Kind::of(&st) == crate::tree::Kind::File => Ok(()),
            Some(st) => Err(Error::Unsafe {
                path: self.host(),
                msg: format!(
                    "refusing to write a Java truststore that is {}",
                    crate::tree::Kind::of(&st).describe()
                ),
            }),
            None => Err(Error::NoInput { path: self.host() }),
        }
    }
}

#[cfg(test)]
mod tests;
