//! One exclusive lock per target tree, on a file only the caller (root) can open:
//! `--root/var/lib/anchorage/lock` (directories 0755, the file 0600). Before, the lock was a
//! `flock` on the `--root` directory itself, which any user can open and hold, silently
//! blocking root's runs (issue 13 §6).
//!
//! The path is walked from an fd of `--root`, one component at a time with
//! `O_NOFOLLOW|O_DIRECTORY` (created with `mkdirat` where missing), so a planted symbolic link
//! is refused (exit 77), never followed. The lock is `flock(2)`: released by the kernel when the
//! holder dies (kill -9 leaves no stale lock), and shared with `flock(1)`, so an administrator
//! can hold anchorage off with `flock /var/lib/anchorage/lock CMD`. The descriptor is
//! close-on-exec: no hook, daemon or `exec` PROGRAM inherits it.
//!
//! Waiting: after 1 s a line names the holder's pid (from `/proc/locks`: the holder of a
//! `flock` is known to the kernel, whoever took it); after `--lock-timeout` the run gives up
//! with exit 75. The file stays empty, so a run changes nothing in the tree once it exists.
//!
//! Fallback: a caller that cannot create or open the lock because the tree is read-only
//! (EROFS) or because it is not root (EACCES/EPERM) locks the existing file read-only if it can,
//! else runs unlocked: it cannot write the trust store either, so a no-op run (the common
//! `exec` start) still succeeds and a real write fails with its own error (74, 77).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{self as rfs, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// The lock file, relative to `--root`.
pub const LOCK_PATH: &str = "var/lib/anchorage/lock";

/// How long to wait before saying that we wait.
const ANNOUNCE_AFTER: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(50);

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct TreeLock {
    _fd: OwnedFd,
}

/// Take the tree's lock, waiting at most `timeout` for another holder. `Ok(None)`: the
/// caller can neither create nor open the lock (read-only tree, not root): see the module doc.
pub fn lock_tree(root: &Path, timeout: Duration) -> Result<Option<TreeLock>> {
    let path = root.join(LOCK_PATH);
    let fd = match open(root, true) {
        Ok(fd) => fd,
        Err(Open::Refused(e)) => return Err(e),
        Err(Open::Os(e)) if unprivileged(e) => match open(root, false) {
            Ok(fd) => fd,
            Err(Open::Refused(e)) => return Err(e),
            Err(Open::Os(why)) => {
                tracing::debug!(
                    "running without the tree lock: {}: {why} (this caller cannot write the tree)",
                    path.display()
                );
                return Ok(None);
            }
        },
        Err(Open::Os(e)) => return Err(Error::io("cannot open the lock", &path, e.into())),
    };
    wait(&fd, &path, timeout)?;
    Ok(Some(TreeLock { _fd: fd }))
}

fn unprivileged(e: Errno) -> bool {
    matches!(e, Errno::ROFS | Errno::ACCESS | Errno::PERM)
}

fn wait(fd: &OwnedFd, path: &Path, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let mut announced = false;
    loop {
        match rfs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(Errno::WOULDBLOCK) | Err(Errno::INTR) => {}
            Err(e) => return Err(Error::io("cannot lock", path, e.into())),
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(Error::Busy {
                path: path.to_path_buf(),
                holder: holder(fd),
                waited: timeout.as_secs(),
            });
        }
        if !announced && waited >= ANNOUNCE_AFTER {
            announced = true;
            let who = holder(fd).map_or_else(|| "pid unknown".to_string(), |p| format!("pid {p}"));
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "anchorage: waiting for another anchorage run ({who})…");
        }
        std::thread::sleep(POLL.min(timeout.saturating_sub(waited)));
    }
}

/// The pid holding the lock: the `FLOCK` line of `/proc/locks` for this inode (the file itself
/// stays empty: writing our pid into it would change the tree on every run).
fn holder(fd: &OwnedFd) -> Option<u32> {
    let st = rfs::fstat(fd).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let dev = format!(
        "{:02x}:{:02x}:{}",
        rfs::major(st.st_dev),
        rfs::minor(st.st_dev),
        st.st_ino
    );
    let ino = format!(":{}", st.st_ino);
    let lines: Vec<Vec<&str>> = locks
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| f.get(1) == Some(&"FLOCK"))
        .collect();
    let pid_of = |exact: bool| {
        lines.iter().find_map(|f| {
            let id = f.get(5)?;
            let hit = if exact {
                *id == dev
            } else {
                id.ends_with(&ino)
            };
            hit.then(|| f.get(4)?.parse::<u32>().ok()).flatten()
        })
    };
    pid_of(true).or_else(|| pid_of(false))
}

enum Open {
    /// Refused for safety (a link, a foreign owner): exit 77, never a fallback.
    Refused(Error),
    Os(Errno),
}

impl From<Errno> for Open {
    fn from(e: Errno) -> Self {
        Open::Os(e)
    }
}

/// Open (with `create`: creating what is missing) the lock file under `root`, walking each
/// directory with `O_NOFOLLOW`.
fn open(root: &Path, create: bool) -> std::result::Result<OwnedFd, Open> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // From the run's pinned handle of --root (the caller's choice; it may be a link).
    let tree = crate::tree::Tree::pin(root).map_err(Open::Refused)?;
    let mut dir = rustix::io::fcntl_dupfd_cloexec(tree.fd(), 0)?;
    let euid = rustix::process::geteuid().as_raw();
    let (dirs, file) = LOCK_PATH.rsplit_once('/').unwrap_or(("", LOCK_PATH));
    let mut rel = root.to_path_buf();
    for name in dirs.split('/') {
        rel.push(name);
        let next = match rfs::openat(&dir, name, dir_flags, Mode::empty()) {
            Err(Errno::NOENT) if create => {
                match rfs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                let d = rfs::openat(&dir, name, dir_flags, Mode::empty())
                    .map_err(|e| refused_or(&dir, name, &rel, e))?;
                // 0755 whatever the umask (only a directory we may have just made is ours).
                if rfs::fstat(&d).map(|s| s.st_uid == euid).unwrap_or(false) {
                    rfs::fchmod(&d, Mode::from_raw_mode(0o755))?;
                }
                d
            }
            Err(e) => return Err(refused_or(&dir, name, &rel, e)),
            Ok(d) => d,
        };
        check_dir(&next, &rel, euid)?;
        dir = next;
    }
    rel.push(file);
    let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    flags |= if create {
        OFlags::RDWR | OFlags::CREATE
    } else {
        OFlags::RDONLY
    };
    let fd = rfs::openat(&dir, file, flags, Mode::from_raw_mode(0o600))
        .map_err(|e| refused_or(&dir, file, &rel, e))?;
    let st = rfs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(unsafe_path(&rel, "the lock is not a regular file"));
    }
    if st.st_uid != euid {
        return Err(unsafe_path(
            &rel,
            &format!(
                "the lock belongs to uid {}, not to this user (uid {euid})",
                st.st_uid
            ),
        ));
    }
    if st.st_mode & 0o077 != 0 {
        // Another user who can open it could hold it: 0600, as created.
        rfs::fchmod(&fd, Mode::from_raw_mode(0o600))?;
    }
    Ok(fd)
}

/// A directory on the way: ours or root's, and writable by no one else (else another user
/// could swap the lock file for a second one).
fn check_dir(fd: &OwnedFd, rel: &Path, euid: u32) -> std::result::Result<(), Open> {
    let st = rfs::fstat(fd)?;
    if st.st_uid != euid && st.st_uid != 0 {
        return Err(unsafe_path(
            rel,
            &format!("a directory of the lock belongs to uid {}", st.st_uid),
        ));
    }
    if st.st_mode & 0o022 != 0 {
        return Err(unsafe_path(
            rel,
            "a directory of the lock is writable by other users",
        ));
    }
    Ok(())
}

/// A failed open of `name` in `dir`: a link (or a non-directory) there is refused for safety.
fn refused_or(dir: &impl AsFd, name: &str, rel: &Path, e: Errno) -> Open {
    if !matches!(e, Errno::LOOP | Errno::NOTDIR | Errno::NXIO) {
        return Open::Os(e);
    }
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
            unsafe_path(rel, "refusing to follow a symbolic link to the lock")
        }
        Ok(_) => unsafe_path(rel, "not a directory or regular file where the lock goes"),
        Err(e) => Open::Os(e),
    }
}

fn unsafe_path(path: &Path, msg: &str) -> Open {
    Open::Refused(Error::Unsafe {
        path: PathBuf::from(path),
        msg: msg.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_0600_lock_under_0755_directories_and_excludes_a_second_holder() {
        let t = tempfile::tempdir().unwrap();
        let held = lock_tree(t.path(), Duration::from_secs(1)).unwrap();
        assert!(held.is_some());
        let meta = std::fs::metadata(t.path().join(LOCK_PATH)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dir = std::fs::metadata(t.path().join("var/lib/anchorage")).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o755);
        let start = Instant::now();
        let e = lock_tree(t.path(), Duration::from_millis(200)).unwrap_err();
        assert!(
            matches!(e, Error::Busy { holder: Some(p), .. } if p == std::process::id()),
            "{e:?}"
        );
        assert_eq!(e.exit_code(), 75);
        assert!(start.elapsed() >= Duration::from_millis(200));
        drop(held);
        assert!(lock_tree(t.path(), Duration::ZERO).unwrap().is_some());
    }

    #[test]
    fn a_link_on_the_way_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("var")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), t.path().join("var/lib")).unwrap();
        let e = lock_tree(t.path(), Duration::ZERO).unwrap_err();
        assert_eq!(e.exit_code(), 77, "{e}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}
