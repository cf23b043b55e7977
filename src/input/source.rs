//! Reading SOURCE arguments from the file system: files (any encoding, detected by content),
//! directories (walked recursively, files without certificates reported and skipped) and `-`
//! (stdin). Enforces the 64 MiB cap, refuses FIFOs and devices without opening them for a
//! blocking read, and de-duplicates certificates by fingerprint.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{decode, DecodeError, MAX_INPUT};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// One certificate and the source it came from.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub cert: std::sync::Arc<Certificate>,
    pub source: String,
    /// Set when a copy of this certificate came with OpenSSL trust settings that refuse TLS
    /// server authentication: the file and why (install policy refuses it).
    pub refused: Option<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Loaded {
    /// Certificates, de-duplicated by fingerprint, in the order found.
    pub certs: Vec<Sourced>,
    /// The files that contributed certificates (for policy: "inside a file that also holds an
    /// anchor"), with the index of the SOURCE argument they came from.
    pub files: Vec<FileCerts>,
    pub warnings: Vec<String>,
    /// The informational lines among `warnings` (skipped files, ignored blocks): text output
    /// prints them as `note:`; JSON keeps them in `warnings`.
    pub notes: Vec<String>,
}

impl Loaded {
    fn note(&mut self, line: String) {
        self.notes.push(line.clone());
        self.warnings.push(line);
    }
}

#[derive(Debug, Clone)]
pub struct FileCerts {
    pub label: String,
    pub arg: usize,
    pub indexes: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A missing source is an error (66).
    Error,
    /// A missing source is "nothing mounted yet" (exec).
    Empty,
}

pub fn load(sources: &[PathBuf], password: Option<&str>, missing: Missing) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut seen = HashMap::new();
    for (arg, source) in sources.iter().enumerate() {
        if source.as_os_str() == "-" {
            let bytes = read_capped(std::io::stdin().lock(), Path::new("-"))?;
            add_file(&mut loaded, &mut seen, arg, "-", &bytes, password, true)?;
            continue;
        }
        let path = source.as_path();
        let label = source.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if missing == Missing::Empty {
                    loaded
                        .warnings
                        .push(format!("{label}: does not exist (nothing mounted yet?)"));
                    continue;
                }
                return Err(Error::NoInput {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(stat_error(path, e)),
        };
        if meta.is_dir() {
            load_dir(&mut loaded, &mut seen, arg, path, password)?;
        } else {
            check_regular(path, &meta)?;
            let bytes = read_file(path, meta.len())?;
            add_file(&mut loaded, &mut seen, arg, &label, &bytes, password, true)?;
        }
    }
    Ok(loaded)
}

fn load_dir(
    loaded: &mut Loaded,
    seen: &mut HashMap<[u8; 32], usize>,
    arg: usize,
    dir: &Path,
    password: Option<&str>,
) -> Result<()> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.to_path_buf());
            if e.loop_ancestor().is_some() {
                Error::bad_input(
                    &path,
                    "directory loop through a symbolic link",
                    "remove the looping link",
                )
            } else if let Some(io) = e.io_error() {
                if io.raw_os_error() == Some(nix::libc::ELOOP) {
                    symlink_loop(&path)
                } else if io.kind() == std::io::ErrorKind::NotFound {
                    // A dangling link inside a source directory: report, do not fail.
                    Error::bad_input(
                        &path,
                        "dangling symbolic link",
                        "remove the link or its target",
                    )
                } else {
                    Error::io_source(
                        "cannot read source directory",
                        &path,
                        std::io::Error::new(io.kind(), io.to_string()),
                    )
                }
            } else {
                Error::bad_input(&path, e.to_string(), "")
            }
        });
        let entry = match entry {
            Ok(entry) => entry,
            Err(Error::BadInput { path, msg, .. }) if msg == "dangling symbolic link" => {
                loaded.warnings.push(format!(
                    "{}: dangling symbolic link, skipped",
                    path.display()
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        let meta = entry
            .metadata()
            .map_err(|e| Error::io_source("cannot read source", path, e.into()))?;
        if !meta.is_file() {
            loaded
                .warnings
                .push(format!("{}: not a regular file, skipped", path.display()));
            continue;
        }
        let bytes = read_file(path, meta.len())?;
        let label = path.display().to_string();
        add_file(loaded, seen, arg, &label, &bytes, password, false)?;
    }
    Ok(())
}

/// `stat` of a SOURCE argument failed for a reason other than "not found". A symbolic link
/// loop, a path through a regular file or an over-long name is bad input (65) or no input
/// (66), not an I/O error (74) — and ELOOP must not become `Error::io`'s "refusing to follow a
/// symbolic link" (77), which is about writes.
fn stat_error(path: &Path, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(nix::libc::ELOOP) => symlink_loop(path),
        Some(nix::libc::ENOTDIR) => Error::NoInput {
            path: path.to_path_buf(),
        },
        Some(nix::libc::ENAMETOOLONG) => {
            Error::bad_input(path, "file name too long", "check the path")
        }
        _ => Error::io_source("cannot read source", path, e),
    }
}

fn symlink_loop(path: &Path) -> Error {
    Error::bad_input(
        path,
        "symbolic link loop (too many levels of symbolic links)",
        "remove the looping link",
    )
}

fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let ft = meta.file_type();
    let what = if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Error::bad_input(
        path,
        format!("is {what}, not a certificate file"),
        "give a regular file or a directory",
    ))
}

fn read_file(path: &Path, len: u64) -> Result<Vec<u8>> {
    if len > MAX_INPUT {
        return Err(too_large(path));
    }
    let file = File::options()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io_source("cannot read source", path, e))?;
    read_capped_sized(file, path, len as usize)
}

fn read_capped(reader: impl Read, path: &Path) -> Result<Vec<u8>> {
    read_capped_sized(reader, path, 0)
}

/// `hint`: the expected size, so an 18 MB bundle is read without regrowing the buffer.
fn read_capped_sized(reader: impl Read, path: &Path, hint: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io_source("cannot read source", path, e))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(too_large(path));
    }
    Ok(bytes)
}

fn too_large(path: &Path) -> Error {
    Error::bad_input(
        path,
        "larger than 64 MiB, refused",
        "a CA bundle is a few hundred KiB; check the file",
    )
}

fn add_file(
    loaded: &mut Loaded,
    seen: &mut HashMap<[u8; 32], usize>,
    arg: usize,
    label: &str,
    bytes: &[u8],
    password: Option<&str>,
    explicit: bool,
) -> Result<()> {
    let path = PathBuf::from(label);
    let decoded = match decode(bytes, password) {
        Ok(d) => d,
        Err(DecodeError::NoCertificate(why)) if !explicit => {
            loaded.note(format!("{label}: no certificate ({why}), skipped"));
            return Ok(());
        }
        Err(e @ (DecodeError::OnlyKeys | DecodeError::NotACertificate { .. })) if !explicit => {
            loaded.note(format!("{label}: {}, skipped", e.message()));
            return Ok(());
        }
        Err(e) => return Err(Error::bad_input(&path, e.message(), e.hint())),
    };
    if decoded.keys_ignored > 0 {
        loaded.note(format!(
            "{label}: ignored {} private key(s); keys are never installed or written",
            decoded.keys_ignored
        ));
    }
    for note in decoded.notes {
        loaded.note(format!("{label}: {note}"));
    }
    let mut indexes = Vec::new();
    for (n, cert) in decoded.certs.into_iter().enumerate() {
        let refused = decoded
            .refused
            .iter()
            .find(|(i, _)| *i == n)
            .map(|(_, why)| (label.to_string(), why.clone()));
        let at = match seen.entry(cert.sha256) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(loaded.certs.len());
                loaded.certs.push(Sourced {
                    cert: cert.into(),
                    source: label.to_string(),
                    refused: None,
                });
                loaded.certs.len() - 1
            }
        };
        indexes.push(at);
        // A refusing copy wins over a plain one, in either order.
        if let (Some(r), Some(s)) = (refused, loaded.certs.get_mut(at)) {
            s.refused.get_or_insert(r);
        }
    }
    loaded.files.push(FileCerts {
        label: label.to_string(),
        arg,
        indexes,
    });
    Ok(())
}
