//! Trust stores anchorage manages, all behind one trait: `system` (the distribution's anchors
//! directory, in the local-directory or Debian conf placement), `nss` (one NSS database) and
//! `java` (one Java truststore, JKS or PKCS#12).
//! A store reads its *effective* state so planning can judge by effect, and applies a plan
//! computed from that state; nothing else writes to a store.

use std::collections::HashSet;
use std::fmt;

use crate::cert::Certificate;
use crate::error::Result;
use crate::policy::Candidate;

pub mod bundle;
pub mod debian_conf;
pub mod elsewhere;
pub mod hook;
pub mod java;
pub mod native;
pub mod nss;
pub mod shadow;
pub mod system;

/// Which store an entry or a report line belongs to. Shown as `system` or `nss:/path`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoreId {
    System,
    /// An NSS database, by its path inside the root ("/home/u/.pki/nssdb").
    Nss(String),
    /// A Java truststore, by the path written inside the root (links resolved in the tree).
    Java(String),
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreId::System => f.write_str("system"),
            StoreId::Nss(rel) => write!(f, "nss:{rel}"),
            StoreId::Java(rel) => write!(f, "java:{rel}"),
        }
    }
}

impl serde::Serialize for StoreId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One thing a store holds: a managed file, or an NSS database entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The managed name (file stem; nickname without `anchorage-`).
    pub name: String,
    /// The file (system) or the database directory (NSS).
    pub path: std::path::PathBuf,
    /// NSS: the nickname; empty for files.
    pub nickname: String,
    /// `None` when the file is missing (stale conf entry) or is not one readable certificate.
    pub cert: Option<Certificate>,
    pub problem: Option<String>,
    /// Debian conf placement: listed in ca-certificates.conf. True everywhere else.
    pub registered: bool,
    /// anchorage's own entry (system: always; NSS: the nickname prefix).
    pub ours: bool,
    /// NSS trust flags ("C,,"); empty for files.
    pub trust: String,
}

/// What a store holds now.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Every entry, in the store's order (NSS: ours and others').
    pub entries: Vec<Entry>,
    /// Digests of what is trusted now; `None` when not consulted or not there (no bundle).
    pub effective: Option<HashSet<[u8; 32]>>,
}

impl State {
    /// A store that trusts exactly what it holds (an NSS database, a Java truststore: an add
    /// takes effect at once), so `effective` is its entries' digests.
    pub fn holding(entries: Vec<Entry>) -> State {
        let effective = entries
            .iter()
            .filter_map(|e| e.cert.as_ref().map(|c| c.sha256))
            .collect();
        State {
            entries,
            effective: Some(effective),
        }
    }

    /// The entries anchorage manages, with their index into `entries`.
    pub fn managed(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries.iter().enumerate().filter(|(_, e)| e.ours)
    }
}

/// One addition of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// Index into the desired list.
    pub desired: usize,
    /// Managed name (reports, file names).
    pub name: String,
    /// How the store addresses it: the NSS nickname; the name for files.
    pub key: String,
    /// The file is already there but not effective (registered/in the bundle): only the
    /// registration or the hook is missing.
    pub repair: bool,
}

/// What one store is to do (computed by `plan`, carried out by `Store::apply`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StorePlan {
    pub add: Vec<Add>,
    /// Indexes into the store's entries.
    pub remove: Vec<usize>,
    /// (desired index, entry index) already in place.
    pub keep: Vec<(usize, usize)>,
    /// Things planning noticed that the report should say (NSS: present but not trusted).
    pub notes: Vec<String>,
    /// System store: (desired index, name, where from) of anchors already in the effective
    /// bundle through a file anchorage does not manage: nothing written, reported unchanged.
    pub elsewhere: Vec<(usize, String, String)>,
}

impl StorePlan {
    pub fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// How far `apply` got: the first `removed` removals and `added` additions of the plan are in
/// place (both are applied in plan order, removals first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Done {
    pub removed: usize,
    pub added: usize,
}

impl Done {
    pub fn any(&self) -> bool {
        self.removed + self.added > 0
    }
}

/// A trust store: same verbs for every kind.
pub trait Store {
    fn id(&self) -> StoreId;
    /// The store as it is now. `effective`: also read what is trusted (the bundle).
    fn read(&self, effective: bool) -> Result<State>;
    /// Carry out a non-empty `plan` (computed from `state`); `done` records progress even on
    /// failure.
    fn apply(
        &self,
        plan: &StorePlan,
        state: &State,
        desired: &[Candidate],
        done: &mut Done,
    ) -> Result<()>;
    /// True for stores whose changes take effect through the platform's update hook.
    fn needs_hook(&self) -> bool;
    /// Check, before the run's first write to any store, that every path this store will
    /// write is safe to write (no link, nothing outside the tree). Changes nothing.
    fn preflight(&self) -> Result<()> {
        Ok(())
    }
}
