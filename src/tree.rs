//! Every file operation under `--root` goes through directory handles pinned to the tree.
//!
//! The root is opened once (`Tree::pin`); a path under it is resolved relative to that handle,
//! never as a host path string:
//!
//! * **writes** (create, replace, remove, chown) go through [`Dir`], a directory opened with no
//!   symbolic link in any component (`openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_MAGICLINKS)`, or a component-by-component `openat(O_NOFOLLOW | O_DIRECTORY)`
//!   walk), then `openat`/`renameat`/`unlinkat`/`fchownat(AT_SYMLINK_NOFOLLOW)` relative to its
//!   descriptor. Swapping a directory for a link after it was opened redirects nothing: the
//!   descriptor still names the directory we checked.
//! * **reads** (os-release, passwd, the effective bundle) resolve links *inside* the tree, as a
//!   program running in it would see them (`RESOLVE_IN_ROOT`: an absolute link or `..` stops at
//!   the tree's root), and open with `O_NONBLOCK | O_NOCTTY`: a FIFO or device is refused after
//!   `fstat`, never read.
//!
//! Syscalls are `rustix` (safe wrappers, `openat2` included, no libc). `cap-std` was the other
//! candidate: its `openat2` fast path refuses absolute links instead of resolving them in the
//! root, and reads in real images need them resolved (`etc/os-release -> /usr/lib/os-release`).
//! Kernels without `openat2` (before 5.6, or a seccomp profile that returns ENOSYS/EPERM) get
//! the same semantics from the walk in `tree/walk.rs`.

mod dir;
mod links;
mod walk;

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

pub use dir::{Attrs, Dir, Kind, TMP_PREFIX, TMP_SUFFIX};

use crate::error::{Error, Result};

/// A tree opened once: its canonical host path (for messages and child processes) and the
/// directory handle every operation starts from.
#[derive(Debug)]
pub struct Tree {
    path: PathBuf,
    fd: OwnedFd,
}

/// The environment variable that forces the `openat2`-less walk (for tests of the fallback
/// on kernels that have `openat2`).
pub const NO_OPENAT2_ENV: &str = "ANCHORAGE_NO_OPENAT2";

impl Tree {
    /// The tree at `root`, opened on first use and shared for the rest of the process, so
    /// every operation of a run starts from the same directory.
    pub fn pin(root: &Path) -> Result<Arc<Tree>> {
        static TREES: OnceLock<Mutex<HashMap<PathBuf, Arc<Tree>>>> = OnceLock::new();
        let trees = TREES.get_or_init(Default::default);
        let mut map = trees.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(root) {
            return Ok(t.clone());
        }
        let tree = Arc::new(Tree::open(root)?);
        map.insert(root.to_path_buf(), tree.clone());
        Ok(tree)
    }

    fn open(root: &Path) -> Result<Tree> {
        let path = std::fs::canonicalize(root).map_err(|_| Error::NoInput {
            path: root.to_path_buf(),
        })?;
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("cannot open --root", &path, e.into()))?;
        Ok(Tree { path, fd })
    }

    /// The canonical host path of the root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The host path of `rel` (for messages and the arguments of child processes only).
    pub fn host(&self, rel: &str) -> PathBuf {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() {
            self.path.clone()
        } else {
            self.path.join(rel)
        }
    }

    /// Open `rel` with the given flags and link rule, by `openat2` when the kernel has it.
    fn resolve(&self, rel: &str, flags: OFlags, follow: bool) -> std::io::Result<OwnedFd> {
        let rel = relative(rel)?;
        let flags = flags | OFlags::CLOEXEC;
        if openat2_usable() {
            let mut how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            if !follow {
                how |= ResolveFlags::NO_SYMLINKS;
            }
            match rustix::fs::openat2(&self.fd, rel.as_str(), flags, Mode::empty(), how) {
                Err(Errno::NOSYS) | Err(Errno::PERM) => {
                    // No openat2 here (old kernel, or a seccomp profile that refuses it):
                    // remember, then take the walk.
                    OPENAT2.store(NO, Ordering::Relaxed);
                }
                Err(Errno::AGAIN) => {
                    // RESOLVE_IN_ROOT returns EAGAIN when a rename raced the lookup: the walk
                    // gives the same answer without retrying forever.
                }
                other => return other.map_err(Into::into),
            }
        }
        walk::open(&self.fd, &rel, flags, follow).map_err(Into::into)
    }

    /// Open the directory `rel` to read it as a program in the tree sees it: links resolved
    /// inside the tree (an absolute target means the tree's path, never the host's). Only for
    /// reading: writes go through `dir`, which follows no link. `None` when it does not exist.
    pub fn dir_following(&self, rel: &str) -> Result<Option<Dir>> {
        let host = self.host(rel);
        match self.resolve(rel, OFlags::RDONLY | OFlags::DIRECTORY, true) {
            Ok(fd) => Ok(Some(Dir::new(fd, host))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot open directory", &host, e)),
        }
    }

    /// Open the directory `rel` for writing in it: no component may be a symbolic link.
    /// `None` when it does not exist.
    pub fn dir(&self, rel: &str) -> Result<Option<Dir>> {
        let host = self.host(rel);
        match self.resolve(rel, OFlags::RDONLY | OFlags::DIRECTORY, false) {
            Ok(fd) => Ok(Some(Dir::new(fd, host))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.refusal(rel, e)),
        }
    }

    /// Open the directory `rel`, creating missing components (mode 0755 whatever the umask),
    /// one component at a time and never through a link.
    pub fn ensure_dir(&self, rel: &str) -> Result<Dir> {
        let rel = relative(rel).map_err(|e| self.refusal(rel, e))?;
        let mut cur = Dir::new(
            rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)
                .map_err(|e| Error::io("cannot open --root", &self.path, e.into()))?,
            self.path.clone(),
        );
        for comp in rel.split('/').filter(|c| !c.is_empty() && *c != ".") {
            cur = cur.ensure_subdir(comp, 0o755)?;
        }
        Ok(cur)
    }

    /// Before the first write of a run: every component of `rel` that exists is a real
    /// directory of the tree (missing components are fine: they are created later).
    pub fn check_dir(&self, rel: &str) -> Result<()> {
        let rel_ok = relative(rel).map_err(|e| self.refusal(rel, e))?;
        let mut prefix = String::new();
        for comp in rel_ok.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            if self.dir(&prefix)?.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Read a regular file, links resolved inside the tree; `None` when it does not exist.
    /// A FIFO, socket or device is refused without reading it.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let host = self.host(rel);
        match self.resolve(
            rel,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            true,
        ) {
            Ok(fd) => dir::read_regular(fd, &host).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read", &host, e)),
        }
    }

    /// Whether `rel` exists, links resolved inside the tree.
    pub fn exists(&self, rel: &str) -> bool {
        self.resolve(rel, OFlags::PATH, true).is_ok()
    }

    fn refusal(&self, rel: &str, e: std::io::Error) -> Error {
        let host = self.host(rel);
        match Errno::from_io_error(&e) {
            Some(Errno::LOOP) => Error::Unsafe {
                msg: format!(
                    "refusing to write through a symbolic link ({})",
                    self.first_link(rel)
                        .map(|p| format!("{} is a link", p.display()))
                        .unwrap_or_else(|| "a component is a link".into())
                ),
                path: host,
            },
            Some(Errno::NOTDIR) => Error::Unsafe {
                path: host,
                msg: "expected a directory (a component is not one)".into(),
            },
            Some(Errno::XDEV) | Some(Errno::INVAL) => Error::Unsafe {
                path: host,
                msg: "resolves outside --root".into(),
            },
            _ => Error::io("cannot open directory", &host, e),
        }
    }

    /// The first component of `rel` that is a symbolic link (for the message of a refusal).
    pub fn first_link(&self, rel: &str) -> Option<PathBuf> {
        let mut prefix = String::new();
        for comp in rel
            .trim_start_matches('/')
            .split('/')
            .filter(|c| !c.is_empty())
        {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            let parent_ok = match prefix.rsplit_once('/') {
                Some((parent, _)) => self.dir(parent).ok().flatten().is_some(),
                None => true,
            };
            if !parent_ok {
                return None;
            }
            let st = rustix::fs::statat(
                &self.fd,
                prefix.as_str(),
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            );
            if st.is_ok_and(|s| Kind::of(&s) == Kind::Link) {
                return Some(self.host(&prefix));
            }
        }
        None
    }
}

/// `rel` as a relative path; `..` is refused (every path we build is normalised; a `..` in one
/// is a caller's attempt to leave the tree).
fn relative(rel: &str) -> std::io::Result<String> {
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(std::io::Error::from_raw_os_error(
            Errno::XDEV.raw_os_error(),
        ));
    }
    Ok(if rel.is_empty() {
        ".".into()
    } else {
        rel.into()
    })
}

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;
static OPENAT2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether to try `openat2`: yes until the kernel said ENOSYS/EPERM, or when the test switch
/// forces the walk.
pub fn openat2_usable() -> bool {
    match OPENAT2.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let forced_off = std::env::var_os(NO_OPENAT2_ENV).is_some_and(|v| v == "1");
            OPENAT2.store(if forced_off { NO } else { YES }, Ordering::Relaxed);
            !forced_off
        }
    }
}

/// How paths are resolved in this process (for `doctor` and `-v`).
pub fn resolver_name() -> &'static str {
    if openat2_usable() {
        "openat2(RESOLVE_IN_ROOT)"
    } else {
        "openat(O_NOFOLLOW) walk"
    }
}

/// Normalise a user-given absolute path inside the tree (`--nssdb /home/u/.pki/nssdb`): `.`
/// and empty components dropped; `..` refused (77) before anything is written.
pub fn normalise_user_path(what: &str, given: &str) -> Result<String> {
    let mut out = Vec::new();
    for comp in given.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                return Err(Error::Unsafe {
                    path: PathBuf::from(given),
                    msg: format!("{what} may not contain `..` (it could leave --root)"),
                })
            }
            c => out.push(c),
        }
    }
    Ok(out.join("/"))
}

#[cfg(test)]
mod tests;
