//! The distribution's trust store under `--root`: the managed files (our subdirectory or
//! name prefix), Debian's `ca-certificates.conf` entries in conf mode, the update hook and the
//! effective bundle.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::fsx::{self, Attrs};
use crate::platform::{self, Layout, PlatformId, ANCHORAGE};
use crate::run;
use crate::store::bundle;

/// One file anchorage manages (or a stale conf entry without its file).
#[derive(Debug, Clone)]
pub struct Managed {
    pub name: String,
    pub path: PathBuf,
    /// `None` when the file is missing (stale conf entry) or is not one readable certificate.
    pub cert: Option<Certificate>,
    pub problem: Option<String>,
    /// Conf mode: the entry is in ca-certificates.conf. Always true in the other modes.
    pub registered: bool,
}

pub struct SystemStore {
    pub root: PathBuf,
    pub layout: &'static Layout,
    pub conf_mode: bool,
    /// Managed directory, relative to the root.
    pub dir_rel: String,
    pub staging_rel: String,
}

impl SystemStore {
    pub fn new(root: &Path, layout: &'static Layout, conf_mode: bool) -> Result<Self> {
        if conf_mode && layout.id != PlatformId::Debian {
            return Err(Error::usage(
                "--debian-conf applies to the Debian family only",
            ));
        }
        let dir_rel = if conf_mode {
            format!("{}/{ANCHORAGE}", platform::DEBIAN_CONF_CERTSDIR)
        } else {
            match layout.subdir {
                Some(sub) => format!("{}/{sub}", layout.anchors_dir),
                None => layout.anchors_dir.to_string(),
            }
        };
        // Debian's hook only reads *.crt, so our own directory doubles as the staging area.
        let staging_rel = if layout.id == PlatformId::Debian {
            dir_rel.clone()
        } else {
            layout.staging_dir.to_string()
        };
        Ok(SystemStore {
            root: root.to_path_buf(),
            layout,
            conf_mode,
            dir_rel,
            staging_rel,
        })
    }

    pub fn dir(&self) -> PathBuf {
        platform::in_root(&self.root, &self.dir_rel)
    }

    pub fn bundle_path(&self) -> PathBuf {
        platform::in_root(&self.root, self.layout.bundle)
    }

    pub fn conf_path(&self) -> PathBuf {
        platform::in_root(&self.root, platform::DEBIAN_CONF_FILE)
    }

    pub fn file_name(&self, name: &str) -> String {
        format!(
            "{}{name}{}",
            if self.layout.subdir.is_some() || self.conf_mode {
                ""
            } else {
                self.layout.prefix
            },
            self.layout.extension
        )
    }

    fn name_of(&self, file_name: &str) -> Option<String> {
        let flat = self.layout.subdir.is_none() && !self.conf_mode;
        let rest = if flat {
            file_name.strip_prefix(self.layout.prefix)?
        } else {
            file_name
        };
        let stem = rest.strip_suffix(self.layout.extension)?;
        (!stem.is_empty() && !file_name.starts_with('.')).then(|| stem.to_string())
    }

    fn conf_entry(&self, file_name: &str) -> String {
        format!("{ANCHORAGE}/{file_name}")
    }

    /// The managed anchors as they are on disk now.
    pub fn managed(&self) -> Result<Vec<Managed>> {
        let dir = self.dir();
        let mut out = Vec::new();
        let conf_lines = if self.conf_mode {
            self.conf_entries()?
        } else {
            HashSet::new()
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
                    let file = self.file_name(&name);
                    let registered =
                        !self.conf_mode || conf_lines.contains(&self.conf_entry(&file));
                    out.push(Managed {
                        name,
                        path,
                        cert,
                        problem,
                        registered,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot read managed directory", &dir, e)),
        }
        // Conf entries of ours whose file is gone.
        for line in conf_lines {
            let file = line
                .trim_start_matches(&format!("{ANCHORAGE}/"))
                .to_string();
            if let Some(name) = self.name_of(&file) {
                if !out.iter().any(|m| m.name == name) {
                    out.push(Managed {
                        path: dir.join(&file),
                        name,
                        cert: None,
                        problem: Some(
                            "listed in ca-certificates.conf but the file is missing".into(),
                        ),
                        registered: true,
                    });
                }
            }
        }
        Ok(out)
    }

    fn conf_entries(&self) -> Result<HashSet<String>> {
        let path = self.conf_path();
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text
                .lines()
                .map(str::trim_end)
                .filter(|l| l.starts_with(&format!("{ANCHORAGE}/")))
                .map(str::to_string)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
            Err(e) => Err(Error::io("cannot read", &path, e)),
        }
    }

    /// SHA-256 digests of the certificates in the effective bundle; `None` if it does not exist.
    pub fn effective(&self) -> Result<Option<HashSet<[u8; 32]>>> {
        let path = self.bundle_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bundle::digests(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read the effective bundle", &path, e)),
        }
    }

    /// Prepare for writing: directories exist, are real and inside the root; stale temporaries
    /// of killed runs are removed. Call under the tree lock.
    pub fn prepare(&self) -> Result<()> {
        let dir = fsx::ensure_dir(&self.root, &self.dir_rel)?;
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
        let staging = fsx::ensure_dir(&self.root, &self.staging_rel)?;
        if self.staging_rel != self.dir_rel {
            fs::set_permissions(
                &staging,
                std::os::unix::fs::PermissionsExt::from_mode(0o700),
            )
            .map_err(|e| Error::io("cannot set mode", &staging, e))?;
        }
        fsx::clean_stale(&staging);
        if self.conf_mode {
            if let Some(etc) = self.conf_path().parent() {
                fsx::clean_stale(etc);
            }
        }
        Ok(())
    }

    /// Write the anchors (one PEM certificate per file) and, in conf mode, register them all in
    /// one edit of ca-certificates.conf. On failure: how many files are in place, and why.
    pub fn write_all(
        &self,
        anchors: &[(String, &Certificate)],
    ) -> std::result::Result<(), (usize, Error)> {
        if anchors.is_empty() {
            return Ok(());
        }
        let dir = self.dir();
        let staging = platform::in_root(&self.root, &self.staging_rel);
        let files: Vec<(String, Vec<u8>)> = anchors
            .iter()
            .map(|(name, cert)| (self.file_name(name), cert.to_pem().into_bytes()))
            .collect();
        fsx::atomic_write_many(&staging, &dir, &files, Attrs::PUBLIC)?;
        if self.conf_mode {
            let entries: Vec<String> = files.iter().map(|(f, _)| self.conf_entry(f)).collect();
            self.conf_edit(&entries, &[])
                .map_err(|e| (files.len(), e))?;
        }
        Ok(())
    }

    /// Remove managed anchors. Conf entries go first (one edit): a kill between the two steps
    /// leaves an unlisted file (harmless, removed by the next run) rather than a listed missing
    /// file. On failure: how many files are gone, and why.
    pub fn delete_all(&self, managed: &[&Managed]) -> std::result::Result<(), (usize, Error)> {
        if managed.is_empty() {
            return Ok(());
        }
        if self.conf_mode {
            let entries: Vec<String> = managed
                .iter()
                .map(|m| self.conf_entry(&self.file_name(&m.name)))
                .collect();
            self.conf_edit(&[], &entries).map_err(|e| (0, e))?;
        }
        let dir = self.dir();
        fsx::check_dir(&self.root, &dir).map_err(|e| (0, e))?;
        for (i, m) in managed.iter().enumerate() {
            match std::fs::remove_file(&m.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err((i, Error::io("cannot remove", &m.path, e))),
            }
        }
        fsx::sync_dir(&dir).map_err(|e| (managed.len(), e))
    }

    /// Add and remove our lines in ca-certificates.conf; every other line stays byte-identical,
    /// mode and owner are preserved, the file is replaced atomically.
    fn conf_edit(&self, add: &[String], remove: &[String]) -> Result<()> {
        let path = self.conf_path();
        let (bytes, attrs) = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Unsafe {
                    path,
                    msg: "refusing to edit through a symbolic link".into(),
                })
            }
            Ok(meta) => (
                fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?,
                Attrs::of(&meta),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Attrs::PUBLIC),
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 64);
        let mut present = HashSet::new();
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let text = String::from_utf8_lossy(line);
            let key = text.trim_end_matches(['\n', '\r']);
            if remove.iter().any(|r| r == key) {
                continue;
            }
            present.insert(key.to_string());
            out.extend_from_slice(line);
        }
        let mut changed = out.len() != bytes.len();
        for entry in add {
            if !present.contains(entry) {
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(entry.as_bytes());
                out.push(b'\n');
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
        let etc = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        fsx::check_dir(&self.root, &etc)?;
        fsx::atomic_write(&etc, &etc, &name, &out, attrs)
    }

    /// The update command for this tree, or why there is none.
    pub fn hook_command(&self, removed: bool) -> Result<Vec<OsString>> {
        let l = self.layout;
        let hook_name = Path::new(l.hook_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut args: Vec<OsString> = l.hook_args.iter().map(OsString::from).collect();
        if removed {
            args.extend(l.hook_remove_args.iter().map(OsString::from));
        }
        let host_root = fs::canonicalize(&self.root)
            .map(|p| p == Path::new("/"))
            .unwrap_or(false);
        if host_root {
            let path = run::find_in(&hook_name, run::SAFE_PATH)
                .ok_or_else(|| self.missing_hook(&hook_name, None))?;
            let mut argv = vec![path.into_os_string()];
            argv.extend(args);
            return Ok(argv);
        }
        let tree_hook = platform::in_root(&self.root, l.hook_path);
        let tree_shell = platform::in_root(&self.root, "bin/sh");
        if tree_hook.is_file() && tree_shell.exists() {
            let chroot =
                run::find_in("chroot", run::SAFE_PATH).ok_or_else(|| Error::MissingProgram {
                    program: "chroot".into(),
                    in_tree: None,
                    hint: "install coreutils".into(),
                })?;
            let mut argv = vec![
                chroot.into_os_string(),
                self.root.clone().into_os_string(),
                format!("/{}", l.hook_path).into(),
            ];
            argv.extend(args);
            return Ok(argv);
        }
        if l.id == PlatformId::Debian {
            if let Some(host) = run::find_in("update-ca-certificates", run::SAFE_PATH) {
                let r = |rel: &str| platform::in_root(&self.root, rel).into_os_string();
                let mut argv = vec![host.into_os_string()];
                for (flag, rel) in [
                    ("--certsconf", "etc/ca-certificates.conf"),
                    ("--certsdir", "usr/share/ca-certificates"),
                    ("--localcertsdir", "usr/local/share/ca-certificates"),
                    ("--etccertsdir", "etc/ssl/certs"),
                    ("--hooksdir", "etc/ca-certificates/update.d"),
                ] {
                    argv.push(flag.into());
                    argv.push(r(rel));
                }
                argv.extend(args);
                return Ok(argv);
            }
        }
        Err(self.missing_hook(&hook_name, Some(self.root.clone())))
    }

    fn missing_hook(&self, hook: &str, in_tree: Option<PathBuf>) -> Error {
        Error::MissingProgram {
            program: hook.to_string(),
            in_tree,
            hint: format!(
                "install the `{}` package{}, or pass --no-update and run the hook yourself",
                self.layout.hook_package,
                if self.root == Path::new("/") {
                    ""
                } else {
                    " in the tree"
                }
            ),
        }
    }

    /// Run the hook. Debian's needs the target directory of its links to exist.
    pub fn run_hook(&self, argv: &[OsString], timeout: Duration) -> Result<run::Output> {
        if self.layout.id == PlatformId::Debian {
            fsx::ensure_dir(&self.root, "etc/ssl/certs")?;
        }
        run::run(argv, timeout)
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
