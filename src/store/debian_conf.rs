//! Debian's `/etc/ca-certificates.conf` (guide 003's conf placement): one line per file,
//! relative to /usr/share/ca-certificates; anchorage adds and removes only its own lines
//! (`anchorage/NAME.crt`) and leaves every other byte as it was.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::platform::{ANCHORAGE, DEBIAN_CONF_FILE};
use crate::tree::{Attrs, Dir, Kind, Tree};

/// The conf file of one tree.
#[derive(Debug, Clone)]
pub struct ConfFile {
    pub tree: Arc<Tree>,
}

/// The line that registers `file_name` (a file in our directory under the certs dir).
pub fn entry(file_name: &str) -> String {
    format!("{ANCHORAGE}/{file_name}")
}

/// The file name a line of ours registers.
pub fn file_of(line: &str) -> &str {
    line.trim_start_matches(&format!("{ANCHORAGE}/"))
}

/// The directory and the name of the conf file, relative to the root.
fn split() -> (&'static str, &'static str) {
    DEBIAN_CONF_FILE
        .rsplit_once('/')
        .unwrap_or(("", DEBIAN_CONF_FILE))
}

impl ConfFile {
    /// Our lines in the file (none when it does not exist). Read as the tree's programs see
    /// it (links resolved inside the tree).
    pub fn entries(&self) -> Result<HashSet<String>> {
        let Some(bytes) = self.tree.read(DEBIAN_CONF_FILE)? else {
            return Ok(HashSet::new());
        };
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim_end)
            .filter(|l| l.starts_with(&format!("{ANCHORAGE}/")))
            .map(str::to_string)
            .collect())
    }

    /// Before the first write: the conf file's directory is real and the file is not a link.
    pub fn preflight(&self) -> Result<()> {
        let (dir, name) = split();
        self.tree.check_dir(dir)?;
        if let Some(d) = self.tree.dir(dir)? {
            refuse_non_file(&d, name)?;
        }
        Ok(())
    }

    /// Remove temporaries of an edit a killed run left beside the file.
    pub fn clean_stale(&self) -> Result<()> {
        if let Some(d) = self.tree.dir(split().0)? {
            d.clean_stale();
        }
        Ok(())
    }

    /// Add and remove our lines; every other line stays byte-identical, mode and owner are
    /// preserved, the file is replaced atomically (relative to its directory's handle).
    pub fn edit(&self, add: &[String], remove: &[String]) -> Result<()> {
        let (dir, name) = split();
        let dir = self.tree.ensure_dir(dir)?;
        let (bytes, attrs) = match refuse_non_file(&dir, name)? {
            Some(st) => (dir.read(name)?.unwrap_or_default(), Attrs::of(&st)),
            None => (Vec::new(), Attrs::PUBLIC),
        };
        let Some(out) = edited(&bytes, add, remove) else {
            return Ok(());
        };
        dir.write(name, &out, attrs, None)
    }
}

fn refuse_non_file(dir: &Dir, name: &str) -> Result<Option<rustix::fs::Stat>> {
    match dir.stat(name)? {
        Some(st) if Kind::of(&st) != Kind::File => Err(Error::Unsafe {
            path: dir.join(name),
            msg: format!("refusing to edit {}", Kind::of(&st).describe()),
        }),
        other => Ok(other),
    }
}

/// The new content, or `None` when nothing changes (pure, so it is unit-tested).
fn edited(bytes: &[u8], add: &[String], remove: &[String]) -> Option<Vec<u8>> {
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
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_touches_only_our_lines() {
        let old = b"# comment\nmozilla/A.crt\n!mozilla/B.crt\nanchorage/old.crt";
        let out = edited(old, &[entry("new.crt")], &[entry("old.crt")]).unwrap();
        assert_eq!(
            out,
            b"# comment\nmozilla/A.crt\n!mozilla/B.crt\nanchorage/new.crt\n".to_vec()
        );
        assert_eq!(edited(b"anchorage/x.crt\n", &[entry("x.crt")], &[]), None);
        assert_eq!(file_of("anchorage/x.crt"), "x.crt");
    }
}
