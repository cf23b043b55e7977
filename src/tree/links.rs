//! Symbolic links in a pinned directory: read one, and create or replace one atomically
//! (native refresh writes the links Debian's `update-ca-certificates` and `openssl rehash`
//! would). A link replaces only a link or nothing: a file or directory in its place is refused.

use rustix::fs::{AtFlags, OFlags};
use rustix::io::Errno;

use super::{Dir, Kind, Tree};
use crate::error::{Error, Result};

impl Dir {
    /// The target of the link `name`; `None` when absent or not a link.
    pub fn read_link(&self, name: &str) -> Result<Option<String>> {
        match rustix::fs::readlinkat(self.fd(), name, Vec::new()) {
            Ok(t) => Ok(Some(t.to_string_lossy().into_owned())),
            Err(Errno::NOENT) | Err(Errno::INVAL) => Ok(None),
            Err(e) => Err(Error::io("cannot read link", self.join(name), e.into())),
        }
    }

    /// Make `name` a link to `target`: a temporary link renamed over `name`, so a reader sees
    /// the old link or the new one. Anything but a link or nothing at `name` is refused.
    pub fn symlink(&self, target: &str, name: &str) -> Result<()> {
        if let Some(st) = self.stat(name)? {
            let kind = Kind::of(&st);
            if kind != Kind::Link {
                return Err(Error::Unsafe {
                    path: self.join(name),
                    msg: format!("{} where a link is to be written", kind.describe()),
                });
            }
        }
        let tmp = super::dir::temp_name();
        rustix::fs::symlinkat(target, self.fd(), tmp.as_str())
            .map_err(|e| Error::io("cannot create link", self.join(&tmp), e.into()))?;
        if let Err(e) = rustix::fs::renameat(self.fd(), tmp.as_str(), self.fd(), name) {
            let _ = rustix::fs::unlinkat(self.fd(), tmp.as_str(), AtFlags::empty());
            return Err(Error::io("cannot create link", self.join(name), e.into()));
        }
        Ok(())
    }
}

impl Tree {
    /// What `rel` is once links are followed inside the tree (`test -e`, `test -f` as a
    /// program in the tree sees them); `None` when it does not resolve.
    pub fn kind_following(&self, rel: &str) -> Option<Kind> {
        self.stat_following(rel).map(|st| Kind::of(&st))
    }

    /// `stat` of `rel`, links followed inside the tree; `None` when it does not resolve.
    pub fn stat_following(&self, rel: &str) -> Option<rustix::fs::Stat> {
        let fd = self.resolve(rel, OFlags::PATH, true).ok()?;
        rustix::fs::fstat(&fd).ok()
    }
}
