//! The private directory of `env`/`exec`'s fallback bundle, and the bundle written into it.
//! The TLS clients started with SSL_CERT_FILE & co. trust whatever that file holds, so nobody
//! but the caller may be able to change it: the directory is opened without following a link
//! (`O_NOFOLLOW | O_DIRECTORY`) and must be owned by the caller and not writable by group or
//! others; every directory above it must be owned by root or the caller and not writable by
//! others unless sticky (as /tmp is), so the directory cannot be renamed away and replaced.
//! The bundle is written through the opened descriptor: an `O_EXCL | O_NOFOLLOW` temporary and
//! a rename, both relative to it.
//!
//! `$ANCHORAGE_BUNDLE_DIR` is the caller's explicit choice: when it is not private anchorage
//! refuses (77). `$XDG_RUNTIME_DIR` is only a default (and `su` passes another user's on):
//! when it is not private the bundle goes to a fresh 0700 directory under /tmp instead, with a
//! note saying why.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat, renameat, OFlag};
use nix::sys::stat::{fstat, Mode};

use crate::error::{Error, Result};
use crate::tree::{TMP_PREFIX, TMP_SUFFIX};

/// An opened, checked bundle directory.
pub(super) struct BundleDir {
    path: PathBuf,
    fd: OwnedFd,
    /// A directory we created: removed again when dropped, unless the bundle was written.
    fresh: Option<tempfile::TempDir>,
    /// Why `$XDG_RUNTIME_DIR` was not used, if it was set.
    pub(super) note: Option<String>,
}

fn var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$ANCHORAGE_BUNDLE_DIR`, else `$XDG_RUNTIME_DIR` (each created 0700 when missing), else a
/// fresh 0700 directory under /tmp. Only called when a bundle is actually written.
pub(super) fn open_dir() -> Result<BundleDir> {
    if let Some(dir) = var("ANCHORAGE_BUNDLE_DIR") {
        let fd = create_missing(&dir).and_then(|()| private(&dir, "ANCHORAGE_BUNDLE_DIR"))?;
        return Ok(BundleDir {
            path: dir,
            fd,
            fresh: None,
            note: None,
        });
    }
    let mut note = None;
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        match create_missing(&dir).and_then(|()| private(&dir, "XDG_RUNTIME_DIR")) {
            Ok(fd) => {
                return Ok(BundleDir {
                    path: dir,
                    fd,
                    fresh: None,
                    note: None,
                })
            }
            Err(e) => {
                note = Some(format!(
                    "$XDG_RUNTIME_DIR not used for the environment bundle ({e}); a fresh private directory is used instead"
                ));
            }
        }
    }
    let fresh = tempfile::Builder::new()
        .prefix("anchorage-")
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir_in("/tmp")
        .map_err(|e| Error::io("cannot create a private directory", "/tmp", e))?;
    let fd = private(fresh.path(), "the new bundle directory")?;
    Ok(BundleDir {
        path: fresh.path().to_path_buf(),
        fd,
        fresh: Some(fresh),
        note,
    })
}

/// `exec --watch`'s re-syncs: the directory of the first start again (same paths, so
/// PROGRAM's variables stay valid), checked as private as it was then.
pub(super) fn reopen(dir: &Path) -> Result<BundleDir> {
    let fd = private(dir, "the bundle directory of the first start")?;
    Ok(BundleDir {
        path: dir.to_path_buf(),
        fd,
        fresh: None,
        note: None,
    })
}

fn create_missing(dir: &Path) -> Result<()> {
    if fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("cannot create", dir, e))
}

fn not_private(path: &Path, msg: String) -> Error {
    Error::NotPrivate {
        path: path.to_path_buf(),
        msg,
        hint: "use a directory only you can write: `mkdir -m 700 DIR` as the user who runs anchorage (under directories owned by root or you), or unset ANCHORAGE_BUNDLE_DIR for a fresh private directory".into(),
    }
}

/// Open `dir` (`what` names it in messages) and check that only the caller can change it.
fn private(dir: &Path, what: &str) -> Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let is_link = || fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    let fd = open(dir, flags, Mode::empty()).map_err(|e| match e {
        Errno::ELOOP => Error::Unsafe {
            path: dir.to_path_buf(),
            msg: format!("{what} is a symbolic link; refusing to write the bundle through it"),
        },
        Errno::ENOTDIR if is_link() => Error::Unsafe {
            path: dir.to_path_buf(),
            msg: format!("{what} is a symbolic link; refusing to write the bundle through it"),
        },
        Errno::ENOTDIR => not_private(dir, format!("{what} is not a directory")),
        other => Error::io("cannot open the bundle directory", dir, other.into()),
    })?;
    let st = fstat(&fd).map_err(|e| Error::io("cannot inspect", dir, e.into()))?;
    let euid = nix::unistd::geteuid().as_raw();
    if st.st_uid != euid || st.st_mode & 0o022 != 0 {
        return Err(not_private(
            dir,
            format!(
                "{what} is not private (owner uid {}, mode {:04o}; it must be owned by uid {euid} and not writable by group or others)",
                st.st_uid,
                st.st_mode & 0o7777
            ),
        ));
    }
    // The directories above: another user who can rename entries there could swap ours.
    let real = fs::canonicalize(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    let meta = fs::metadata(&real).map_err(|e| Error::io("cannot inspect", &real, e))?;
    if (meta.dev(), meta.ino()) != (st.st_dev, st.st_ino) {
        return Err(not_private(
            dir,
            format!("{what} was replaced while it was checked"),
        ));
    }
    for parent in real.ancestors().skip(1) {
        let m = fs::metadata(parent).map_err(|e| Error::io("cannot inspect", parent, e))?;
        let others_write = m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0;
        if (m.uid() != 0 && m.uid() != euid) || others_write {
            return Err(not_private(
                parent,
                format!(
                    "{what} {} lies in a directory another user can change (owner uid {}, mode {:04o})",
                    dir.display(),
                    m.uid(),
                    m.mode() & 0o7777
                ),
            ));
        }
    }
    Ok(fd)
}

impl BundleDir {
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Write `name` (mode 0644) through the directory's descriptor: an exclusive temporary
    /// that is never a link, then a rename over `name`. No fsync: the bundle is rebuilt at
    /// every start. Returns its path; a fresh directory is kept from then on.
    pub(super) fn write(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        write_at(&self.fd, &self.path, name, bytes)?;
        if let Some(fresh) = self.fresh.take() {
            let _ = fresh.keep();
        }
        Ok(self.path.join(name))
    }

    /// An OpenSSL hashed directory `name` (as `openssl rehash` names its entries: `files` are
    /// `(<subject-hash>.N, PEM)`), made inside the private directory (never through a link)
    /// and emptied of the entries an earlier run left.
    pub(super) fn write_hashed(
        &mut self,
        name: &str,
        files: &[(String, Vec<u8>)],
    ) -> Result<PathBuf> {
        let path = self.path.join(name);
        match nix::sys::stat::mkdirat(&self.fd, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::io("cannot create", &path, e.into())),
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::empty()).map_err(|e| match e {
            Errno::ELOOP | Errno::ENOTDIR => Error::Unsafe {
                path: path.clone(),
                msg: "not a directory (a link?); refusing to write the hashed directory through it"
                    .into(),
            },
            other => Error::io("cannot open", &path, other.into()),
        })?;
        let st = fstat(&fd).map_err(|e| Error::io("cannot inspect", &path, e.into()))?;
        if st.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(not_private(
                &path,
                format!("{name} is owned by uid {}", st.st_uid),
            ));
        }
        // Entries of an earlier run (the sources may have changed): only `HASH.N` names.
        let old: Vec<String> = std::fs::read_dir(&path)
            .map_err(|e| Error::io("cannot list", &path, e))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| is_hash_name(n) && !files.iter().any(|(f, _)| f == n))
            .collect();
        for n in old {
            let _ = nix::unistd::unlinkat(&fd, n.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        for (n, bytes) in files {
            write_at(&fd, &path, n, bytes)?;
        }
        if let Some(fresh) = self.fresh.take() {
            let _ = fresh.keep();
        }
        Ok(path)
    }
}

/// `8 hex digits . digits`: the names `openssl rehash` gives (and the only ones removed).
pub(super) fn is_hash_name(n: &str) -> bool {
    n.split_once('.').is_some_and(|(h, i)| {
        h.len() == 8
            && h.bytes().all(|b| b.is_ascii_hexdigit())
            && !i.is_empty()
            && i.bytes().all(|b| b.is_ascii_digit())
    })
}

fn write_at(dir: &OwnedFd, dir_path: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let (tmp, fd) = (0..16u32)
        .map(|n| {
            let tmp = format!("{TMP_PREFIX}{}-{n}{TMP_SUFFIX}", std::process::id());
            openat(dir, tmp.as_str(), flags, Mode::from_bits_truncate(0o600)).map(|fd| (tmp, fd))
        })
        .find(|r| !matches!(r, Err(Errno::EEXIST)))
        .unwrap_or(Err(Errno::EEXIST))
        .map_err(|e| Error::io("cannot create temporary file in", dir_path, e.into()))?;
    let mut file = File::from(fd);
    let written = file
        .write_all(bytes)
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o644)))
        .map_err(|e| Error::io("cannot write", dir_path.join(&tmp), e))
        .and_then(|()| {
            renameat(dir, tmp.as_str(), dir, name)
                .map_err(|e| Error::io("cannot rename into place", dir_path.join(name), e.into()))
        });
    if let Err(e) = written {
        let _ = nix::unistd::unlinkat(dir, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    Ok(())
}
