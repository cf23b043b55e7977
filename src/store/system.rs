//! The distribution's trust store under `--root`: anchorage's files in the anchors directory
//! (its own subdirectory, or flat files with a name prefix), or — Debian's conf placement —
//! files under /usr/share/ca-certificates/anchorage/ registered in ca-certificates.conf.
//! The placement is data (`Placement`), decided once; the update hook is `store::hook`.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::fsx::{self, Attrs};
use crate::platform::{self, Layout, PlatformId, ANCHORAGE};
use crate::policy::Candidate;
use crate::store::debian_conf::{self, ConfFile};
use crate::store::{bundle, Done, Entry, State, Store, StoreId, StorePlan};

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
                root: root.to_path_buf(),
                path: platform::in_root(root, platform::DEBIAN_CONF_FILE),
            }),
        })
    }
}

pub struct SystemStore {
    pub root: PathBuf,
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
        bundle::read_digests(&self.bundle_path())
    }

    /// The managed anchors as they are on disk now.
    pub fn managed(&self) -> Result<Vec<Entry>> {
        let dir = self.dir();
        let mut out = Vec::new();
        let conf_lines = match &self.placement.conf {
            Some(conf) => conf.entries()?,
            None => HashSet::new(),
        };
        match fs::read_dir(&dir) {
            Ok(entries) => {
                let mut names: Vec<(String, PathBuf)> = entries
                    .flatten()
                    .filter_map(|e| {
                        let file = e.file_name().to_string_lossy().into_owned();
                        self.name_of(&file).map(|n| (n, e.path()))
                    })
                    .collect();
                names.sort();
                for (name, path) in names {
                    let (cert, problem) = read_managed(&path);
                    let registered = !self.is_conf()
                        || conf_lines.contains(&debian_conf::entry(&self.file_name(&name)));
                    out.push(entry(name, &path, cert, problem, registered));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot read managed directory", &dir, e)),
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

    /// Prepare for writing: directories exist, are real and inside the root; stale temporaries
    /// of killed runs are removed. Call under the tree lock.
    fn prepare(&self) -> Result<()> {
        let p = &self.placement;
        let dir = fsx::ensure_dir(&self.root, &p.dir_rel)?;
        // A link planted among our files could redirect a later write or removal: refuse.
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if self.name_of(&name).is_some() && e.file_type().is_ok_and(|t| t.is_symlink()) {
                    return Err(Error::Unsafe {
                        path: e.path(),
                        msg: "refusing to manage a symbolic link".into(),
                    });
                }
            }
        }
        let staging = fsx::ensure_dir(&self.root, &p.staging_rel)?;
        if p.staging_rel != p.dir_rel {
            fs::set_permissions(
                &staging,
                std::os::unix::fs::PermissionsExt::from_mode(0o700),
            )
            .map_err(|e| Error::io("cannot set mode", &staging, e))?;
        }
        fsx::clean_stale(&staging);
        if let Some(etc) = p.conf.as_ref().and_then(ConfFile::dir) {
            fsx::clean_stale(etc);
        }
        Ok(())
    }

    /// Write the anchors (one PEM certificate per file) and, in the conf placement, register
    /// them all in one edit of ca-certificates.conf. On failure: how many files are in place.
    fn write_all(&self, anchors: &[(String, &Certificate)]) -> Result<(), (usize, Error)> {
        if anchors.is_empty() {
            return Ok(());
        }
        let dir = self.dir();
        let staging = platform::in_root(&self.root, &self.placement.staging_rel);
        let files: Vec<(String, Vec<u8>)> = anchors
            .iter()
            .map(|(name, cert)| (self.file_name(name), cert.to_pem().into_bytes()))
            .collect();
        for (f, _) in &files {
            tracing::debug!("write: {}", dir.join(f).display());
        }
        fsx::atomic_write_many(&staging, &dir, &files, Attrs::PUBLIC)?;
        if let Some(conf) = &self.placement.conf {
            let lines: Vec<String> = files.iter().map(|(f, _)| debian_conf::entry(f)).collect();
            conf.edit(&lines, &[]).map_err(|e| (files.len(), e))?;
        }
        Ok(())
    }

    /// Remove managed anchors. Conf lines go first (one edit): a kill between the two steps
    /// leaves an unlisted file (harmless, removed by the next run) rather than a listed missing
    /// file. On failure: how many files are gone.
    fn delete_all(&self, managed: &[&Entry]) -> Result<(), (usize, Error)> {
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
        let dir = self.dir();
        fsx::check_dir(&self.root, &dir).map_err(|e| (0, e))?;
        for (i, m) in managed.iter().enumerate() {
            tracing::debug!("remove: {}", m.path.display());
            match std::fs::remove_file(&m.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err((i, Error::io("cannot remove", &m.path, e))),
            }
        }
        fsx::sync_dir(&dir).map_err(|e| (managed.len(), e))
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
        self.prepare()?;
        let removals: Vec<&Entry> = plan.remove.iter().map(|&i| &state.entries[i]).collect();
        let outcome = self.delete_all(&removals);
        done.removed = outcome.as_ref().err().map_or(removals.len(), |(n, _)| *n);
        outcome.map_err(|(_, e)| e)?;
        let anchors: Vec<(String, &Certificate)> = plan
            .add
            .iter()
            .map(|a| (a.name.clone(), &*desired[a.desired].cert))
            .collect();
        let outcome = self.write_all(&anchors);
        done.added = outcome.as_ref().err().map_or(anchors.len(), |(n, _)| *n);
        outcome.map_err(|(_, e)| e)
    }

    fn needs_hook(&self) -> bool {
        true
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

fn read_managed(path: &Path) -> (Option<Certificate>, Option<String>) {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return (None, Some("a symbolic link (not followed)".into()));
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
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
