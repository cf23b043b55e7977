//! Debian's `/etc/ca-certificates.conf` (guide 003's conf placement): one line per file,
//! relative to /usr/share/ca-certificates; anchorage adds and removes only its own lines
//! (`anchorage/NAME.crt`) and leaves every other byte as it was.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsx::{self, Attrs};
use crate::platform::ANCHORAGE;

/// The conf file of one tree.
#[derive(Debug, Clone)]
pub struct ConfFile {
    pub root: PathBuf,
    pub path: PathBuf,
}

/// The line that registers `file_name` (a file in our directory under the certs dir).
pub fn entry(file_name: &str) -> String {
    format!("{ANCHORAGE}/{file_name}")
}

/// The file name a line of ours registers.
pub fn file_of(line: &str) -> &str {
    line.trim_start_matches(&format!("{ANCHORAGE}/"))
}

impl ConfFile {
    /// Our lines in the file (none when it does not exist).
    pub fn entries(&self) -> Result<HashSet<String>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .map(str::trim_end)
                .filter(|l| l.starts_with(&format!("{ANCHORAGE}/")))
                .map(str::to_string)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
            Err(e) => Err(Error::io("cannot read", &self.path, e)),
        }
    }

    /// The directory holding the file (where stale temporaries of an edit are cleaned).
    pub fn dir(&self) -> Option<&Path> {
        self.path.parent()
    }

    /// Add and remove our lines; every other line stays byte-identical, mode and owner are
    /// preserved, the file is replaced atomically.
    pub fn edit(&self, add: &[String], remove: &[String]) -> Result<()> {
        let path = &self.path;
        let (bytes, attrs) = match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Unsafe {
                    path: path.clone(),
                    msg: "refusing to edit through a symbolic link".into(),
                })
            }
            Ok(meta) => (
                fs::read(path).map_err(|e| Error::io("cannot read", path, e))?,
                Attrs::of(&meta),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Attrs::PUBLIC),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        let Some(out) = edited(&bytes, add, remove) else {
            return Ok(());
        };
        let etc = self
            .dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        fsx::check_dir(&self.root, &etc)?;
        fsx::atomic_write(&etc, &etc, &name, &out, attrs)
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
