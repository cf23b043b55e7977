//! The distribution's trust store under `--root`: anchorage's files in the anchors directory
//! (its own subdirectory, or flat files with a name prefix), or — Debian's conf placement —
//! files under /usr/share/ca-certificates/anchorage/ registered in ca-certificates.conf.
//! The placement is data (`Placement`), decided once; the update hook is `store::hook`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::platform::{self, Layout, PlatformId, ANCHORAGE};
use crate::policy::Candidate;
use crate::store::debian_conf::{self, ConfFile};
use crate::store::{bundle, Done, Entry, State, Store, StoreId, StorePlan};
use crate::tree::{Attrs, Dir, Kind, Tree};

/// Where and how the managed files live. Decided once from the layout row.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Managed directory, relative to the root.
    pub dir_rel: String,
    /// Where temporaries are written (same file system, never read by the hook).
    pub staging_rel: String,
    /// File-name prefix (flat layouts); empty in a directory of our own.
    pub prefix: &'static str,
    pub extension: &'static str,
    /// Debian conf placement: the conf file that registers each file.
    pub conf: Option<ConfFile>,
}

impl Placement {
    /// The local anchors directory of the layout.
    pub fn local(layout: &'static Layout) -> Placement {
        let (dir_rel, prefix) = match layout.subdir {
            Some(sub) => (format!("{}/{sub}", layout.anchors_dir), ""),
            None => (layout.anchors_dir.to_string(), layout.prefix),
        };
        Placement {
            // Debian's hook only reads *.crt, so our own directory doubles as the staging area.
            staging_rel: if layout.id == PlatformId::Debian {
                dir_rel.clone()
            } else {
                layout.staging_dir.to_string()
            },
            dir_rel,
            prefix,
            extension: layout.extension,
            conf: None,
        }
    }

    /// Debian's conf placement (guide 003).
    pub fn debian_conf(root: &Path, layout: &'static Layout) -> Result<Placement> {
        if layout.id != PlatformId::Debian {
            return Err(Error::usage(
                "--debian-conf applies to the Debian family only",
            ));
        }
        let dir_rel = format!("{}/{ANCHORAGE}", platform::DEBIAN_CONF_CERTSDIR);
        Ok(Placement {
            staging_rel: dir_rel.clone(),
            dir_rel,
            prefix: "",
            extension: layout.extension,
            conf: Some(ConfFile {
                tree: Tree::pin(root)?,
            }),
        })
    }
}

pub struct SystemStore {
    pub root: PathBuf,
    tree: Arc<Tree>,
    pub layout: &'static Layout,
    pub placement: Placement,
}

impl SystemStore {
    pub fn new(root: &Path, layout: &'static Layout, debian_conf: bool) -> Result<Self> {
        let placement = if debian_conf {
            Placement::debian_conf(root, layout)?
        } else {
            Placement::local(layout)
        };
        Ok(SystemStore {
            root: root.to_path_buf(),
            tree: Tree::pin(root)?,
            layout,
            placement,
        })
    }

    /// Every system store of the tree that may hold managed anchors: the local directory and,
    /// on Debian, the conf placement.
    pub fn all(root: &Path, layout: &'static Layout) -> Result<Vec<SystemStore>> {
        let mut stores = vec![SystemStore::new(root, layout, false)?];
        if layout.id == PlatformId::Debian {
            stores.push(SystemStore::new(root, layout, true)?);
        }
        Ok(stores)
    }

    pub fn is_conf(&self) -> bool {
        self.placement.conf.is_some()
    }

    pub fn dir(&self) -> PathBuf {
        platform::in_root(&self.root, &self.placement.dir_rel)
    }

    pub fn bundle_path(&self) -> PathBuf {
        platform::in_root(&self.root, self.layout.bundle)
    }

    pub fn conf_path(&self) -> PathBuf {
        platform::in_root(&self.root, platform::DEBIAN_CONF_FILE)
    }

    pub fn file_name(&self, name: &str) -> String {
        let p = &self.placement;
        format!("{}{name}{}", p.prefix, p.extension)
    }

    fn name_of(&self, file_name: &str) -> Option<String> {
        let p = &self.placement;
        let stem = file_name
            .strip_prefix(p.prefix)?
            .strip_suffix(p.extension)?;
        (!stem.is_empty() && !file_name.starts_with('.')).then(|| stem.to_string())
    }

    /// SHA-256 digests of the certificates in the effective bundle; `None` if it does not exist.
    pub fn effective(&self) -> Result<Option<HashSet<[u8; 32]>>> {
        bundle::read_digests(&self.tree, self.layout.bundle)
    }

    /// The managed anchors as they are on disk now.
    pub fn managed(&self) -> Result<Vec<Entry>> {
        let dir = self.dir();
        let mut out = Vec::new();
        let conf_lines = match &self.placement.conf {
            Some(conf) => conf.entries()?,
            None => HashSet::new(),
        };
        if let Some(handle) = self.tree.dir(&self.placement.dir_rel)? {
            for (file, kind) in handle.entries()? {
                let Some(name) = self.name_of(&file) else {
                    continue;
                };
                let (cert, problem) = read_managed(&handle, &file, kind);
                let registered = !self.is_conf()
                    || conf_lines.contains(&debian_conf::entry(&self.file_name(&name)));
                out.push(entry(name, &handle.join(&file), cert, problem, registered));
            }
        }
        // Conf entries of ours whose file is gone.
        for line in conf_lines {
            let file = debian_conf::file_of(&line);
            if let Some(name) = self.name_of(file) {
                if !out.iter().any(|m| m.name == name) {
                    let problem = "listed in ca-certificates.conf but the file is missing";
                    out.push(entry(
                        name,
                        &dir.join(file),
                        None,
                        Some(problem.into()),
                        true,
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Before the first write of the run: every directory this store will write in is a
    /// real directory of the tree as far as it exists (nothing is created or changed here).
    pub fn preflight(&self) -> Result<()> {
        let p = &self.placement;
        self.tree.check_dir(&p.dir_rel)?;
        self.tree.check_dir(&p.staging_rel)?;
        if let Some(conf) = &p.conf {
            conf.preflight()?;
        }
        Ok(())
    }

    /// Prepare for writing: directories exist, are real and inside the root (opened without
    /// following links; every later operation is relative to these handles); stale
    /// temporaries of killed runs are removed. Call under the tree lock. Returns the managed
    /// directory and, when it is a different directory on the same file system, the staging
    /// one (on another file system — a bind mount or tmpfs over the anchors directory — the
    /// temporaries go beside the files, under a hidden `.tmp` name no hook reads).
    fn prepare(&self) -> Result<(Dir, Option<Dir>)> {
        let p = &self.placement;
        let dir = self.tree.ensure_dir(&p.dir_rel)?;
        // A link or FIFO planted among our files could redirect a later write or removal.
        for (name, kind) in dir.entries()? {
            if self.name_of(&name).is_some() && !matches!(kind, Kind::File) {
                return Err(Error::Unsafe {
                    path: dir.join(&name),
                    msg: format!("refusing to manage {}", kind.describe()),
                });
            }
        }
        dir.clean_stale();
        let staging = if p.staging_rel == p.dir_rel {
            None
        } else {
            let staging = self.tree.ensure_dir(&p.staging_rel)?;
            staging.set_mode(0o700)?;
            staging.clean_stale();
            if staging.dev() == dir.dev() {
                Some(staging)
            } else {
                tracing::debug!(
                    "write: {} is on another file system than {}: staging beside the files",
                    staging.path().display(),
                    dir.path().display()
                );
                None
            }
        };
        if let Some(conf) = &p.conf {
            conf.clean_stale()?;
        }
        Ok((dir, staging))
    }

    /// Write the anchors (one PEM certificate per file) and, in the conf placement, register
    /// them all in one edit of ca-certificates.conf. On failure: how many files are in place.
    fn write_all(
        &self,
        dir: &Dir,
        staging: Option<&Dir>,
        anchors: &[(String, &Certificate)],
    ) -> Result<(), (usize, Error)> {
        if anchors.is_empty() {
            return Ok(());
        }
        let files: Vec<(String, Vec<u8>)> = anchors
            .iter()
            .map(|(name, cert)| (self.file_name(name), cert.to_pem().into_bytes()))
            .collect();
        for (f, _) in &files {
            tracing::debug!("write: {}", dir.join(f).display());
        }
        dir.write_many(&files, Attrs::PUBLIC, staging)?;
        if let Some(conf) = &self.placement.conf {
            let lines: Vec<String> = files.iter().map(|(f, _)| debian_conf::entry(f)).collect();
            conf.edit(&lines, &[]).map_err(|e| (files.len(), e))?;
        }
        Ok(())
    }

    /// Remove managed anchors. Conf lines go first (one edit): a kill between the two steps
    /// leaves an unlisted file (harmless, removed by the next run) rather than a listed missing
    /// file. On failure: how many files are gone.
    fn delete_all(&self, dir: &Dir, managed: &[&Entry]) -> Result<(), (usize, Error)> {
        if managed.is_empty() {
            return Ok(());
        }
        if let Some(conf) = &self.placement.conf {
            let lines: Vec<String> = managed
                .iter()
                .map(|m| debian_conf::entry(&self.file_name(&m.name)))
                .collect();
            conf.edit(&[], &lines).map_err(|e| (0, e))?;
        }
        for (i, m) in managed.iter().enumerate() {
            let file = self.file_name(&m.name);
            tracing::debug!("remove: {}", dir.join(&file).display());
            dir.remove(&file).map_err(|e| (i, e))?;
        }
        dir.sync().map_err(|e| (managed.len(), e))
    }
}

impl Store for SystemStore {
    fn id(&self) -> StoreId {
        StoreId::System
    }

    fn read(&self, effective: bool) -> Result<State> {
        let entries = self.managed()?;
        let effective = if effective {
            Some(self.effective()?.unwrap_or_default())
        } else {
            None
        };
        tracing::debug!(
            "read: system {}: {} managed file(s){}",
            self.dir().display(),
            entries.len(),
            effective
                .as_ref()
                .map(|e| format!(
                    ", {} certificate(s) in {}",
                    e.len(),
                    self.bundle_path().display()
                ))
                .unwrap_or_default()
        );
        for e in &entries {
            tracing::trace!(
                "read: {} {}",
                e.path.display(),
                e.cert.as_ref().map(|c| c.fingerprint()).unwrap_or_default()
            );
        }
        Ok(State { entries, effective })
    }

    fn apply(
        &self,
        plan: &StorePlan,
        state: &State,
        desired: &[Candidate],
        done: &mut Done,
    ) -> Result<()> {
        let (dir, staging) = self.prepare()?;
        let removals: Vec<&Entry> = plan.remove.iter().map(|&i| &state.entries[i]).collect();
        let outcome = self.delete_all(&dir, &removals);
        done.removed = outcome.as_ref().err().map_or(removals.len(), |(n, _)| *n);
        outcome.map_err(|(_, e)| e)?;
        let anchors: Vec<(String, &Certificate)> = plan
            .add
            .iter()
            .map(|a| (a.name.clone(), &*desired[a.desired].cert))
            .collect();
        let outcome = self.write_all(&dir, staging.as_ref(), &anchors);
        done.added = outcome.as_ref().err().map_or(anchors.len(), |(n, _)| *n);
        outcome.map_err(|(_, e)| e)
    }

    fn needs_hook(&self) -> bool {
        true
    }

    fn preflight(&self) -> Result<()> {
        SystemStore::preflight(self)
    }
}

fn entry(
    name: String,
    path: &Path,
    cert: Option<Certificate>,
    problem: Option<String>,
    registered: bool,
) -> Entry {
    Entry {
        name,
        path: path.to_path_buf(),
        nickname: String::new(),
        cert,
        problem,
        registered,
        ours: true,
        trust: String::new(),
    }
}

fn read_managed(dir: &Dir, file: &str, kind: Kind) -> (Option<Certificate>, Option<String>) {
    if kind != Kind::File {
        return (None, Some(format!("{} (not read)", kind.describe())));
    }
    let bytes = match dir.read(file) {
        Ok(Some(b)) => b,
        Ok(None) => return (None, Some("vanished while reading".into())),
        Err(e) => return (None, Some(format!("unreadable: {e}"))),
    };
    match crate::input::decode(&bytes, None) {
        Ok(d) if d.certs.len() == 1 => (d.certs.into_iter().next(), None),
        Ok(d) => (
            None,
            Some(format!(
                "holds {} certificates, expected one",
                d.certs.len()
            )),
        ),
        Err(e) => (None, Some(e.message())),
    }
}
