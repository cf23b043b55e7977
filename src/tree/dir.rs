//! A directory opened without following links, and every operation in it relative to its
//! descriptor: atomic writes (temporary, fsync, `renameat`), removal (`unlinkat`), ownership
//! (`fchown` on the opened file, `fchownat(AT_SYMLINK_NOFOLLOW)`), listing.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Stat, Uid};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// Prefix and suffix of our temporaries: never `*.crt`/`*.pem`, hidden, and recognisable so
/// stale ones (after a kill -9) can be cleaned.
pub const TMP_PREFIX: &str = ".anchorage-";
pub const TMP_SUFFIX: &str = ".tmp";

/// Ownership and mode to give a written file.
#[derive(Debug, Clone, Copy)]
pub struct Attrs {
    pub mode: u32,
    /// `None`: leave as created (the caller's uid/gid).
    pub owner: Option<(u32, u32)>,
}

impl Attrs {
    pub const PUBLIC: Attrs = Attrs {
        mode: 0o644,
        owner: None,
    };

    /// The mode and owner of an existing file, to preserve them when it is replaced.
    pub fn of(st: &Stat) -> Attrs {
        Attrs {
            mode: st.st_mode & 0o7777,
            owner: Some((st.st_uid, st.st_gid)),
        }
    }
}

/// What a directory entry is (not following links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
    /// FIFO, socket, device.
    Special,
}

impl Kind {
    pub fn of(st: &Stat) -> Kind {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Link,
            _ => Kind::Special,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Link => "a symbolic link",
            Kind::Special => "a FIFO, socket or device",
        }
    }
}

#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    pub(super) fn new(fd: OwnedFd, path: PathBuf) -> Dir {
        Dir { fd, path }
    }

    /// The host path (messages and child-process arguments only).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn stat_self(&self) -> Result<Stat> {
        rustix::fs::fstat(&self.fd).map_err(|e| Error::io("cannot inspect", &self.path, e.into()))
    }

    /// The device of the file system the directory is on.
    pub fn dev(&self) -> Option<u64> {
        rustix::fs::fstat(&self.fd).ok().map(|s| s.st_dev)
    }

    /// The entries (names that are not UTF-8 are skipped: none of them can be ours), sorted.
    pub fn entries(&self) -> Result<Vec<(String, Kind)>> {
        let iter = rustix::fs::Dir::read_from(&self.fd)
            .map_err(|e| Error::io("cannot read directory", &self.path, e.into()))?;
        let mut out = Vec::new();
        for entry in iter {
            let entry =
                entry.map_err(|e| Error::io("cannot read directory", &self.path, e.into()))?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Link,
                FileType::Unknown => match self.stat(name)? {
                    Some(st) => Kind::of(&st),
                    None => continue,
                },
                _ => Kind::Special,
            };
            out.push((name.to_string(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// `lstat` of an entry; `None` when it does not exist.
    pub fn stat(&self, name: &str) -> Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io("cannot inspect", self.join(name), e.into())),
        }
    }

    /// Read a regular file of this directory without following a link; `None` when absent.
    /// A link, FIFO, socket or device is refused (77) without being read.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.join(name);
        match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => read_regular(fd, &path).map(Some),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP) => Err(Error::Unsafe {
                path,
                msg: "a symbolic link where a file was expected (not followed)".into(),
            }),
            Err(e) => Err(Error::io("cannot read", &path, e.into())),
        }
    }

    /// Open (or create, with `mode` whatever the umask) the subdirectory `name`, never
    /// through a link.
    pub fn ensure_subdir(&self, name: &str, mode: u32) -> Result<Dir> {
        if let Some(d) = self.subdir(name)? {
            return Ok(d);
        }
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(Error::io(
                    "cannot create directory",
                    self.join(name),
                    e.into(),
                ))
            }
        }
        // Gone again right after it was made: something is changing the tree under us.
        let d = self.subdir(name)?.ok_or_else(|| Error::Unsafe {
            path: self.join(name),
            msg: "the directory vanished while it was being created (is something else changing the tree?)".into(),
        })?;
        // The umask may have narrowed the mode; the directories we create have `mode`.
        rustix::fs::fchmod(&d.fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::io("cannot set mode", d.path(), e.into()))?;
        Ok(d)
    }

    /// Open the subdirectory `name` without following a link; `None` when absent.
    pub fn subdir(&self, name: &str) -> Result<Option<Dir>> {
        let path = self.join(name);
        match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(Dir::new(fd, path))),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP) => Err(Error::Unsafe {
                path,
                msg: "refusing to write through a symbolic link".into(),
            }),
            Err(Errno::NOTDIR) => Err(Error::Unsafe {
                path,
                msg: "expected a directory".into(),
            }),
            Err(e) => Err(Error::io("cannot open directory", &path, e.into())),
        }
    }

    /// Write `bytes` to `name` atomically: a temporary in `staging` (same file system; `self`
    /// when `None`), fsync, `renameat` over the target (a rename replaces a link, never
    /// follows it — but a link where we write was planted: refuse), fsync of the directories.
    pub fn write(
        &self,
        name: &str,
        bytes: &[u8],
        attrs: Attrs,
        staging: Option<&Dir>,
    ) -> Result<()> {
        let files = [(name.to_string(), bytes.to_vec())];
        self.write_many(&files, attrs, staging).map_err(|(_, e)| e)
    }

    /// Write several files atomically (each one is the old or the new content, never torn)
    /// with one `syncfs` instead of one fsync per file. On failure: how many files are in
    /// place.
    pub fn write_many(
        &self,
        files: &[(String, Vec<u8>)],
        attrs: Attrs,
        staging: Option<&Dir>,
    ) -> std::result::Result<(), (usize, Error)> {
        let staging = staging.unwrap_or(self);
        let mut temps: Vec<(String, &str)> = Vec::with_capacity(files.len());
        let cleanup = |temps: &[(String, &str)]| {
            for (tmp, _) in temps {
                let _ = rustix::fs::unlinkat(&staging.fd, tmp.as_str(), AtFlags::empty());
            }
        };
        for (name, bytes) in files {
            if let Err(e) = self.refuse_link(name) {
                cleanup(&temps);
                return Err((0, e));
            }
            let tmp = temp_name();
            if let Err(e) = staging.write_temp(&tmp, bytes, attrs, files.len() == 1) {
                let _ = rustix::fs::unlinkat(&staging.fd, tmp.as_str(), AtFlags::empty());
                cleanup(&temps);
                return Err((0, e));
            }
            temps.push((tmp, name));
        }
        if files.len() > 1 {
            if let Err(e) = rustix::fs::syncfs(&staging.fd) {
                cleanup(&temps);
                return Err((
                    0,
                    Error::io("cannot sync the file system of", &staging.path, e.into()),
                ));
            }
        }
        for (i, (tmp, name)) in temps.iter().enumerate() {
            if let Err(e) = rustix::fs::renameat(&staging.fd, tmp.as_str(), &self.fd, *name) {
                cleanup(&temps[i..]);
                return Err((
                    i,
                    Error::io("cannot rename into place", self.join(name), e.into()),
                ));
            }
        }
        let n = temps.len();
        self.sync().map_err(|e| (n, e))?;
        if staging.dev() != self.dev() || !same_dir(staging, self) {
            staging.sync().map_err(|e| (n, e))?;
        }
        Ok(())
    }

    fn refuse_link(&self, name: &str) -> Result<()> {
        match self.stat(name)? {
            Some(st) if Kind::of(&st) == Kind::Link => Err(Error::Unsafe {
                path: self.join(name),
                msg: "refusing to replace a symbolic link".into(),
            }),
            Some(st) if Kind::of(&st) == Kind::Dir => Err(Error::Unsafe {
                path: self.join(name),
                msg: "a directory where a file is to be written".into(),
            }),
            _ => Ok(()),
        }
    }

    fn write_temp(&self, tmp: &str, bytes: &[u8], attrs: Attrs, fsync: bool) -> Result<()> {
        let path = self.join(tmp);
        let fd = rustix::fs::openat(
            &self.fd,
            tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io("cannot create temporary file", &path, e.into()))?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)
            .map_err(|e| Error::io("cannot write", &path, e))?;
        if let Some((uid, gid)) = attrs.owner {
            rustix::fs::fchown(&file, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                .map_err(|e| Error::io("cannot change owner of", &path, e.into()))?;
        }
        rustix::fs::fchmod(&file, Mode::from_raw_mode(attrs.mode))
            .map_err(|e| Error::io("cannot set mode of", &path, e.into()))?;
        if fsync {
            file.sync_all()
                .map_err(|e| Error::io("cannot sync", &path, e))?;
        }
        Ok(())
    }

    /// Remove the file `name` (never a directory; a link is removed, not followed). Returns
    /// whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(Error::io("cannot remove", self.join(name), e.into())),
        }
    }

    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd)
            .map_err(|e| Error::io("cannot sync directory", &self.path, e.into()))
    }

    /// Set the directory's own mode (through its descriptor).
    pub fn set_mode(&self, mode: u32) -> Result<()> {
        rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::io("cannot set mode", &self.path, e.into()))
    }

    /// Change the owner of the entry `name` without following a link.
    pub fn chown(&self, name: &str, uid: u32, gid: u32) -> Result<()> {
        rustix::fs::chownat(
            &self.fd,
            name,
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::io("cannot change owner of", self.join(name), e.into()))
    }

    /// Change the owner of the directory itself (through its descriptor).
    pub fn chown_self(&self, uid: u32, gid: u32) -> Result<()> {
        rustix::fs::fchown(&self.fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| Error::io("cannot change owner of", &self.path, e.into()))
    }

    /// Remove temporaries left by a killed run (call under the tree lock).
    pub fn clean_stale(&self) {
        let Ok(entries) = self.entries() else {
            return;
        };
        for (name, kind) in entries {
            // Files, and the temporary links of `Dir::symlink` (native refresh).
            let ours = matches!(kind, Kind::File | Kind::Link);
            if ours && name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
                let _ = self.remove(&name);
            }
        }
    }

    /// A path a child process can use to reach this very directory (`/proc/self/fd/N`, valid
    /// in a child that inherits the descriptor): certutil works on the directory we checked,
    /// whatever happens to the path afterwards.
    pub fn inherit(&self) -> Result<(OwnedFd, PathBuf)> {
        let fd = rustix::io::fcntl_dupfd_cloexec(&self.fd, 3)
            .map_err(|e| Error::io("cannot open directory", &self.path, e.into()))?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty())
            .map_err(|e| Error::io("cannot open directory", &self.path, e.into()))?;
        let n = std::os::fd::AsRawFd::as_raw_fd(&fd);
        Ok((fd, PathBuf::from(format!("/proc/self/fd/{n}"))))
    }
}

fn same_dir(a: &Dir, b: &Dir) -> bool {
    match (rustix::fs::fstat(&a.fd), rustix::fs::fstat(&b.fd)) {
        (Ok(x), Ok(y)) => x.st_dev == y.st_dev && x.st_ino == y.st_ino,
        _ => false,
    }
}

/// Read an opened file after checking it is a regular file (the open was non-blocking, so a
/// FIFO did not hang us; it is refused here, unread).
pub(super) fn read_regular(fd: OwnedFd, path: &Path) -> Result<Vec<u8>> {
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("cannot inspect", path, e.into()))?;
    let kind = Kind::of(&st);
    if kind != Kind::File {
        return Err(Error::Unsafe {
            path: path.to_path_buf(),
            msg: format!(
                "{} where a regular file was expected (not read)",
                kind.describe()
            ),
        });
    }
    // Back to blocking reads for a regular file (O_NONBLOCK has no effect on them anyway).
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::with_capacity(usize::try_from(st.st_size).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(bytes)
}

pub(super) fn temp_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{TMP_PREFIX}{}-{t:08x}{:x}{TMP_SUFFIX}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
