//! The resolution `openat2(RESOLVE_IN_ROOT)` does, for kernels without it: one component at a
//! time from the root's descriptor, each directory opened `O_NOFOLLOW | O_DIRECTORY`. A link is
//! refused (`ELOOP`) when links may not be followed; otherwise its target is resolved as the
//! kernel would inside the root: an absolute target restarts at the root, `..` stops there.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Linux's own limit on links followed in one lookup.
const MAX_LINKS: usize = 40;

pub fn open(root: &OwnedFd, rel: &str, flags: OFlags, follow: bool) -> rustix::io::Result<OwnedFd> {
    let mut queue: VecDeque<String> = components(rel).collect();
    // The directories from the root down to the current one (the root itself is `root`).
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    loop {
        let Some(comp) = queue.pop_front() else {
            // The path named a directory we already walked into (or the root).
            let cur = stack.last().map(|f| f.as_fd()).unwrap_or(root.as_fd());
            return rustix::fs::openat(cur, ".", flags, Mode::empty());
        };
        if comp == ".." {
            stack.pop();
            continue;
        }
        let cur = stack.last().map(|f| f.as_fd()).unwrap_or(root.as_fd());
        let st = rustix::fs::statat(cur, comp.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            if !follow {
                return Err(Errno::LOOP);
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Errno::LOOP);
            }
            let target = rustix::fs::readlinkat(cur, comp.as_str(), Vec::new())?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                stack.clear();
            }
            for c in components(&target).collect::<Vec<_>>().into_iter().rev() {
                queue.push_front(c);
            }
            continue;
        }
        if queue.is_empty() {
            // The last component: opened without following (it was not a link a moment ago;
            // if it was swapped for one since, O_NOFOLLOW makes this fail instead).
            return rustix::fs::openat(cur, comp.as_str(), flags | OFlags::NOFOLLOW, Mode::empty());
        }
        let next = rustix::fs::openat(
            cur,
            comp.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        stack.push(next);
    }
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
}
