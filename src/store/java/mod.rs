//! Java truststores (`cacerts`, an agent's bundled JRE's store) as stores, written natively: no
//! keytool, no JVM. Which stores (`--java-truststore`, `--java-discover`) and the password are
//! resolved up front; each store is then one `Store`, read and verified (JKS keyed digest,
//! PKCS#12 MAC) before any change, idempotent by fingerprint, anchorage's entries carrying the
//! alias prefix `anchorage-`. A store the platform's own hook maintains (Debian's
//! `ca-certificates-java`, RHEL's extracted `java/cacerts`) gets no additions from anchorage:
//! the hook adds the anchor (checked by effect after it). The hook never writes or removes
//! anchorage's own aliases, so those (written under `--no-system`, or before the tree had a
//! hook) are removed directly. Under `--no-system` no hook runs and the store is written
//! directly (`JavaStores::direct`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::platform::Target;
use crate::policy::Candidate;
use crate::request::JavaRequest;
use crate::store::{Done, State, Store, StoreId, StorePlan};
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

    /// `--java-password-file` (its first line, empty included), else `ANCHORAGE_JAVA_PASSWORD`
    /// when set and not empty, else `changeit`.
    pub fn resolve(file: Option<&std::path::Path>) -> Result<Password> {
        if let Some(file) = file {
            let text = std::fs::read_to_string(file).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NoInput {
                    path: file.to_path_buf(),
                },
                _ => Error::io_source("cannot read the Java password file", file, e),
            })?;
            // The file was named on purpose: its first line is the password even when empty
            // (an empty file means the empty password, as for a password-less PKCS#12 store).
            return Ok(Password(text.lines().next().unwrap_or("").to_string()));
        }
        // An empty variable is unset (templated environments leave `VAR=`), not the password "".
        Ok(Password(
            std::env::var("ANCHORAGE_JAVA_PASSWORD")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_PASSWORD.into()),
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
            // A discovered path that is not safe to follow is skipped, not fatal: discovery
            // does not follow such links (a named one is still refused).
            match add(named.clone(), true, &mut notes) {
                Err(e @ Error::Unsafe { .. }) => {
                    notes.push(format!("skipped the Java truststore found at {named}: {e}"));
                }
                other => other?,
            }
        }
    }
    for s in &stores {
        if s.discovered {
            notes.push(format!("found Java truststore {}", s.real));
        }
        if let Some(who) = s.hook {
            notes.push(hook_note(&s.real, who));
        }
    }
    if stores.is_empty() {
        return Ok(None);
    }
    Ok(Some(JavaStores { stores, notes }))
}

/// What anchorage does with a store its platform's hook maintains.
fn hook_note(real: &str, who: &str) -> String {
    format!(
        "java:{real} is maintained by {who}: anchorage adds nothing to it itself (an anchor gets there by the hook, checked after it); entries anchorage wrote there (anchorage-*) are removed directly"
    )
}

impl JavaStores {
    /// `--no-system`: no hook runs, so a store a hook maintains is written directly — one
    /// note says so (instead of the hook's).
    pub fn direct(&mut self) {
        for s in &mut self.stores {
            if let Some(who) = s.hook.take() {
                let old = hook_note(&s.real, who);
                let new = format!(
                    "java:{} is maintained by {who}; written directly (--no-system runs no hook)",
                    s.real
                );
                match self.notes.iter_mut().find(|n| **n == old) {
                    Some(n) => *n = new,
                    None => self.notes.push(new),
                }
            }
        }
    }
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

    /// After the hook: every anchor to add is in the store (by fingerprint, any alias).
    fn verify_adds(&self, plan: &StorePlan, desired: &[Candidate]) -> Result<()> {
        let ks = self.keystore()?;
        let now: std::collections::HashSet<[u8; 32]> =
            ks.trusted().map(|(_, d)| crate::cert::sha256(d)).collect();
        let missing: Vec<String> = plan
            .add
            .iter()
            .map(|a| &desired[a.desired])
            .filter(|c| !now.contains(&c.cert.sha256))
            .map(|c| {
                format!(
                    "'{}' (sha256 {}) is missing",
                    c.cert.subject,
                    c.cert.fingerprint()
                )
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::Failed {
            msg: format!(
                "java:{}: after the hook, {} (the store is maintained by {})",
                self.real,
                missing.join("; "),
                self.hook.unwrap_or("the platform's hook")
            ),
            path: Some(self.host()),
            hint: Some("the hook adds only what changed in the system store: run `update-ca-certificates --fresh` in the tree (or check that a JRE is installed for the hook)".into()),
        })
    }

    /// Rewrite the store: `remove` (aliases) dropped, `add` added; mode and owner kept.
    fn write(&self, remove: &[&str], add: &[(&str, &[u8])]) -> Result<()> {
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
        tracing::debug!(
            "write: java {}: {} to add, {} to remove",
            self.real,
            add.len(),
            remove.len()
        );
        let new = format::rewrite(&bytes, self.password.as_str(), remove, add, now_millis())
            .map_err(|e| self.error(e))?;
        dir.write(name, &new, Attrs::of(&st), None)?;
        Ok(())
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
        // What the store trusts is what it holds.
        Ok(State::holding(entries))
    }

    fn apply(
        &self,
        plan: &StorePlan,
        state: &State,
        desired: &[Candidate],
        done: &mut Done,
    ) -> Result<()> {
        // The plan removes only anchorage's own aliases (`plan::select`, `diff_java`), which
        // no platform hook writes or removes: always written here.
        let remove: Vec<&str> = plan
            .remove
            .iter()
            .map(|&i| state.entries[i].nickname.as_str())
            .collect();
        if self.hook.is_some() {
            if !remove.is_empty() {
                self.write(&remove, &[])?;
                done.removed += remove.len();
            }
            // The hook adds the anchor (by its own alias): checked when it ran.
            if self.hook_runs && !plan.add.is_empty() {
                self.verify_adds(plan, desired)?;
                done.added += plan.add.len();
            }
            return Ok(());
        }
        let add: Vec<(&str, &[u8])> = plan
            .add
            .iter()
            .map(|a| (a.key.as_str(), desired[a.desired].cert.der.as_slice()))
            .collect();
        self.write(&remove, &add)?;
        done.removed += remove.len();
        done.added += add.len();
        Ok(())
    }

    fn needs_hook(&self) -> bool {
        false
    }

    fn preflight(&self) -> Result<()> {
        let (dir, name) = self.split();
        let dir = self
            .tree
            .dir(dir)?
            .ok_or_else(|| Error::NoInput { path: self.host() })?;
        let euid = rustix::process::geteuid().as_raw();
        match dir.stat(name)? {
            // A normal user writes only their own stores (root keeps the owner it finds).
            Some(st) if euid != 0 && st.st_uid != euid => Err(Error::Unsafe {
                path: self.host(),
                msg: format!(
                    "the Java truststore is owned by uid {}, not by you (uid {euid}); as a normal user anchorage writes only your own truststores",
                    st.st_uid
                ),
            }),
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
