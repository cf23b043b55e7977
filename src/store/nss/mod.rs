//! NSS databases as stores. Which databases (`--nssdb`, `--nss-discover`), `certutil` and the
//! owner are resolved up front (so a missing certutil or an unknown user changes nothing);
//! each database is then one `Store`: read by certutil, idempotent by fingerprint, anchorage's
//! entries carrying the nickname prefix `anchorage-`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::platform::Target;
use crate::policy::Candidate;
use crate::request::NssRequest;
use crate::store::{Done, Entry, State, Store, StoreId, StorePlan};

pub mod db;

pub use db::{nickname, DbKind, NssDb, NICK_PREFIX};

pub struct NssStore {
    pub db: NssDb,
    certutil: PathBuf,
    /// `--nss-owner`, for databases named on the command line.
    owner: Option<(u32, u32)>,
}

/// The databases of a run and the notes found while choosing them.
pub struct NssStores {
    pub stores: Vec<NssStore>,
    pub notes: Vec<String>,
    /// `--no-system`: these are the only stores of the run.
    pub no_system: bool,
}

/// Resolve everything that can fail before a write. `None` when no database is in play.
pub fn open(target: &Target, o: &NssRequest) -> Result<Option<NssStores>> {
    let root = &target.root;
    let mut dbs: Vec<NssDb> = o
        .dirs
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| NssDb::new(root, d, false))
        .collect::<Result<_>>()?;
    let mut notes = Vec::new();
    if o.discover {
        for db in db::discover(root) {
            if dbs.iter().any(|d| d.abs == db.abs) {
                continue;
            }
            if db.kind() == DbKind::Dbm {
                notes.push(format!(
                    "found NSS database {} (legacy dbm: cert8.db), left untouched",
                    db.rel
                ));
                continue;
            }
            notes.push(format!("found NSS database {}", db.rel));
            dbs.push(db);
        }
    }
    if dbs.is_empty() {
        if o.no_system && !o.java_too {
            return Err(Error::usage_hint(
                "--no-system leaves nothing to manage: no NSS database or Java truststore named or found",
                "name the stores with --nssdb DIR (e.g. --nssdb ~/.pki/nssdb) or --java-truststore PATH, or add --nss-discover / --java-discover",
            ));
        }
        if o.no_system {
            if o.owner.is_some() {
                return Err(Error::usage("--nss-owner needs --nssdb"));
            }
            // Only Java truststores: no certutil needed.
            return Ok(Some(NssStores {
                stores: Vec::new(),
                notes,
                no_system: true,
            }));
        }
        if o.owner.is_some() {
            return Err(Error::usage("--nss-owner needs --nssdb"));
        }
        return Ok(None);
    }
    for db in dbs
        .iter()
        .filter(|d| !d.discovered && d.kind() == DbKind::Dbm)
    {
        notes.push(format!(
            "{}: legacy dbm database (cert8.db); used as is, not converted",
            db.rel
        ));
    }
    let certutil = db::find_certutil(target.layout().nss_package)?;
    let owner = o
        .owner
        .as_deref()
        .map(|s| crate::users::resolve_owner(root, s))
        .transpose()?;
    for db in &dbs {
        let chown_to = if db.discovered { db.owner() } else { owner };
        db.check_safe(chown_to)?;
    }
    let stores = dbs
        .into_iter()
        .map(|db| NssStore {
            db,
            certutil: certutil.clone(),
            owner,
        })
        .collect();
    Ok(Some(NssStores {
        stores,
        notes,
        no_system: o.no_system,
    }))
}

impl NssStore {
    /// Explicit databases go to --nss-owner; discovered ones keep their owner.
    fn give_owner(&self, created: &[String]) -> Result<()> {
        let owner = if self.db.discovered {
            self.db.owner()
        } else {
            self.owner
        };
        match owner {
            Some(o) => self.db.chown(o, created),
            None => Ok(()),
        }
    }

    /// The owner whose access doctor checks: --nss-owner, else the directory's.
    pub fn expected_owner(&self) -> Option<(u32, u32)> {
        if self.db.discovered {
            self.db.owner()
        } else {
            self.owner.or_else(|| self.db.owner())
        }
    }

    pub fn path(&self) -> &Path {
        &self.db.abs
    }
}

impl Store for NssStore {
    fn id(&self) -> StoreId {
        StoreId::Nss(self.db.rel.clone())
    }

    fn read(&self, _effective: bool) -> Result<State> {
        let entries: Vec<Entry> = self
            .db
            .entries(&self.certutil)?
            .into_iter()
            .map(|e| Entry {
                name: e.nickname.trim_start_matches(NICK_PREFIX).to_string(),
                path: self.db.abs.clone(),
                ours: e.ours(),
                nickname: e.nickname,
                cert: Some(e.cert),
                problem: None,
                registered: true,
                trust: e.trust,
            })
            .collect();
        tracing::debug!(
            "read: nss {}: {} entries, {} of them anchorage's",
            self.db.rel,
            entries.len(),
            entries.iter().filter(|e| e.ours).count()
        );
        for e in &entries {
            tracing::trace!(
                "read: nss {}: '{}' trust '{}'",
                self.db.rel,
                e.nickname,
                e.trust
            );
        }
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
        let created = if self.db.kind() == DbKind::Missing {
            self.db.create(&self.certutil)?
        } else {
            Vec::new()
        };
        for &i in &plan.remove {
            tracing::debug!(
                "remove: nss {}: '{}'",
                self.db.rel,
                state.entries[i].nickname
            );
            self.db.delete(&self.certutil, &state.entries[i].nickname)?;
            done.removed += 1;
        }
        for a in &plan.add {
            tracing::debug!("write: nss {}: '{}'", self.db.rel, a.key);
            self.db
                .add(&self.certutil, &a.key, &desired[a.desired].cert)?;
            done.added += 1;
        }
        self.give_owner(&created)
    }

    fn needs_hook(&self) -> bool {
        false
    }
}
