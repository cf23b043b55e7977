//! Watching sources for `watch` and `exec --watch`: inotify on every source directory (and
//! its real subdirectories) and on each source's parent (events for that name only), plus a
//! signalfd for the signals the caller blocks, in one `poll`. A source that is a link is
//! followed hop by hop: every link on the way (the source's own, and a link in a middle
//! component of a target) is watched through its parent for its name, and so is the final
//! file. A Kubernetes ConfigMap/Secret volume swaps its `..data` link with a rename
//! (IN_MOVED_TO `..data` in the volume's directory), and its files are `KEY -> ..data/KEY`: so
//! a source that is one key of the volume sees the swap too. A plain directory sees files
//! created, written, removed or renamed. Events are debounced:
//! a sync starts once the sources have been quiet for the debounce time (or at the latest
//! after ten debounce periods of continuous changes). The watch set is rebuilt before every
//! sync, so new subdirectories are watched and a change during the sync triggers the next one.
//! Reading the sources generates no event (IN_ACCESS is not watched): a sync never wakes
//! itself, so a broken source cannot make the loop spin.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{PollFd, PollFlags};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use crate::error::{Error, Result};

const DIR_EVENTS: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF);

/// At most this many directories are watched per source (a source that is a huge tree).
const MAX_DIRS: usize = 4096;

/// The inotify watches for a set of sources.
struct Watches {
    fd: OwnedFd,
    /// wd → `None`: any event counts; `Some(names)`: only events for these entries (a parent).
    filters: HashMap<i32, Option<HashSet<OsString>>>,
}

impl Watches {
    fn new(sources: &[PathBuf]) -> Result<Watches> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .map_err(|e| Error::io("cannot start inotify", Path::new("inotify"), e.into()))?;
        let mut w = Watches {
            fd,
            filters: HashMap::new(),
        };
        for src in sources {
            w.add_source(src);
        }
        Ok(w)
    }

    fn add(&mut self, path: &Path, flags: WatchFlags, filter: Option<OsString>) {
        match inotify::add_watch(&self.fd, path, flags) {
            Ok(wd) => {
                // One directory seen for several names (two sources, a link chain): any of
                // them counts; seen whole once, it stays whole.
                match (self.filters.get_mut(&wd), filter) {
                    (Some(None), _) => {}
                    (Some(Some(names)), Some(name)) => {
                        names.insert(name);
                    }
                    (_, filter) => {
                        self.filters.insert(wd, filter.map(|n| HashSet::from([n])));
                    }
                }
            }
            Err(e) => tracing::debug!("watch: cannot watch {}: {e}", path.display()),
        }
    }

    fn add_source(&mut self, src: &Path) {
        if src.as_os_str() == "-" {
            return;
        }
        let abs = std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf());
        let mut points = Vec::new();
        link_chain(&abs, &mut points, 0);
        for (parent, name) in points {
            self.add(
                &parent,
                DIR_EVENTS - WatchFlags::DELETE_SELF - WatchFlags::MOVE_SELF,
                Some(name),
            );
        }
        if !abs.is_dir() {
            if !abs.exists() {
                tracing::warn!(
                    "watch: {} does not exist (yet): watching its parent for it",
                    abs.display()
                );
            }
            return;
        }
        // The source itself (a link to a directory is followed: it is what the user named),
        // then its real subdirectories (links inside are not followed).
        self.add(&abs, DIR_EVENTS, None);
        let mut count = 0;
        for entry in walkdir::WalkDir::new(&abs)
            .min_depth(1)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir())
        {
            count += 1;
            if count > MAX_DIRS {
                tracing::warn!(
                    "watch: {}: more than {MAX_DIRS} directories; the rest are not watched",
                    abs.display()
                );
                break;
            }
            self.add(entry.path(), DIR_EVENTS | WatchFlags::DONT_FOLLOW, None);
        }
    }

    /// Read every pending event; true when one of them concerns a source.
    fn drain(&mut self) -> bool {
        let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        let mut relevant = false;
        loop {
            match reader.next() {
                Ok(ev) => {
                    if ev.events().contains(ReadFlags::QUEUE_OVERFLOW) {
                        relevant = true;
                        continue;
                    }
                    let name = ev
                        .file_name()
                        .map(|n| std::ffi::OsStr::from_bytes(n.to_bytes()).to_os_string());
                    match self.filters.get(&ev.wd()) {
                        Some(None) => relevant = true,
                        Some(Some(want)) if name.as_ref().is_some_and(|n| want.contains(n)) => {
                            relevant = true
                        }
                        _ => {}
                    }
                    tracing::trace!("inotify: wd {} {:?} {:?}", ev.wd(), ev.events(), name);
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break, // EAGAIN: nothing more
            }
        }
        relevant
    }
}

/// Links followed per source before giving up (the kernel's own limit is 40), and the most
/// (directory, name) pairs one source may add (a crafted farm of links cannot blow up).
const MAX_HOPS: usize = 40;
const MAX_POINTS: usize = 256;

/// The (directory, name) pairs whose change can change what `path` resolves to: `path` itself
/// and, when it is a link, each link on the way to its end (`ca.pem -> ..data/ca.pem`:
/// `ca.pem`, `..data`, `..2026_…` in the volume, then `ca.pem` in `..2026_…`). Read from the
/// file system as it is now; the watches are rebuilt before every sync, so a swapped link is
/// followed to its new target.
fn link_chain(path: &Path, out: &mut Vec<(PathBuf, OsString)>, hops: usize) {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    if out.len() >= MAX_POINTS {
        return;
    }
    out.push((parent.to_path_buf(), name.to_os_string()));
    if hops >= MAX_HOPS {
        return;
    }
    let Ok(target) = std::fs::read_link(path) else {
        return; // not a link (or gone): its parent's watch covers it
    };
    // Walk the target component by component: a link in a middle component (`..data` in
    // `..data/ca.pem`) is a point of its own, and the walk goes on from where it leads.
    let mut cur = if target.is_absolute() {
        PathBuf::from("/")
    } else {
        parent.to_path_buf()
    };
    let parts: Vec<_> = target.components().collect();
    for (i, part) in parts.iter().enumerate() {
        match part {
            std::path::Component::Normal(n) => cur.push(n),
            std::path::Component::ParentDir => {
                cur.pop();
                continue;
            }
            _ => continue,
        }
        if i + 1 < parts.len() && cur.is_symlink() {
            link_chain(&cur, out, hops + 1);
            cur = std::fs::canonicalize(&cur).unwrap_or(cur);
        }
    }
    link_chain(&cur, out, hops + 1);
}

/// What woke the loop.
#[derive(Debug)]
pub enum Wake {
    /// The sources changed and have been quiet for the debounce time: sync now.
    Sync,
    /// A blocked signal arrived.
    Signal(Signal),
}

/// The sources' watches and the caller's signals, debounced.
pub struct Loop {
    sources: Vec<PathBuf>,
    watches: Watches,
    signals: SignalFd,
    debounce: Duration,
    /// When the first and the last relevant event of a pending batch arrived.
    pending: Option<(Instant, Instant)>,
}

impl Loop {
    /// Start watching `sources`; `signals` are blocked for the process and read here instead
    /// (children started with std's Command get an empty signal mask again).
    pub fn new(sources: &[PathBuf], signals: &[Signal], debounce: Duration) -> Result<Loop> {
        let mut mask = SigSet::empty();
        for s in signals {
            mask.add(*s);
        }
        mask.thread_block()
            .map_err(|e| Error::io("cannot block signals", Path::new("sigprocmask"), e.into()))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| {
            Error::io("cannot start a signalfd", Path::new("signalfd"), e.into())
        })?;
        Ok(Loop {
            sources: sources.to_vec(),
            watches: Watches::new(sources)?,
            signals,
            debounce,
            pending: None,
        })
    }

    /// Rebuild the watches (before a sync: new subdirectories, a replaced directory).
    pub fn rewatch(&mut self) -> Result<()> {
        self.watches = Watches::new(&self.sources)?;
        Ok(())
    }

    /// A change was taken (`Wake::Sync`) but not synced (it came during a restart): sync again
    /// once the debounce time has passed.
    pub fn requeue(&mut self) {
        let now = Instant::now();
        self.pending.get_or_insert((now, now));
    }

    /// Wait for the next signal or debounced change. `limit`: return `None` after this long
    /// without either (the supervisor's restart grace).
    pub fn next(&mut self, limit: Option<Duration>) -> Result<Option<Wake>> {
        let started = Instant::now();
        loop {
            // A signal first, if one is already pending.
            if let Some(sig) = self.read_signal() {
                return Ok(Some(Wake::Signal(sig)));
            }
            let now = Instant::now();
            let mut timeout: Option<Duration> = None;
            if let Some((first, last)) = self.pending {
                let due = (last + self.debounce).min(first + self.debounce * 10);
                if now >= due {
                    self.pending = None;
                    self.rewatch()?;
                    return Ok(Some(Wake::Sync));
                }
                timeout = Some(due - now);
            }
            if let Some(limit) = limit {
                let left = (started + limit).saturating_duration_since(now);
                if left.is_zero() {
                    return Ok(None);
                }
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            let ts = timeout.map(|t| rustix::event::Timespec {
                tv_sec: t.as_secs() as i64,
                tv_nsec: i64::from(t.subsec_nanos()),
            });
            let mut fds = [
                PollFd::from_borrowed_fd(self.signals.as_fd(), PollFlags::IN),
                PollFd::from_borrowed_fd(self.watches.fd.as_fd(), PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, ts.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    return Err(Error::io("poll failed", Path::new("poll"), e.into()));
                }
            }
            if !fds[1].revents().is_empty() && self.watches.drain() {
                let now = Instant::now();
                self.pending = Some(match self.pending {
                    Some((first, _)) => (first, now),
                    None => (now, now),
                });
            }
        }
    }

    fn read_signal(&mut self) -> Option<Signal> {
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) => {
                    if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
                        return Some(sig);
                    }
                }
                Ok(None) => return None,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("signalfd: {e}");
                    return None;
                }
            }
        }
    }
}
