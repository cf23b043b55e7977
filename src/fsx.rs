//! File-system primitives for paths *outside* `--root` (the caller's output files, the env
//! bundle in the caller's runtime directory) and the tree lock. Everything under `--root` goes
//! through `tree` (pinned directory handles).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix and suffix of our temporary files: never `*.crt`/`*.pem`, hidden, and recognisable
/// so stale ones (after a kill -9) can be cleaned.
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
    pub fn of(meta: &fs::Metadata) -> Attrs {
        Attrs {
            mode: meta.mode() & 0o7777,
            owner: Some((meta.uid(), meta.gid())),
        }
    }
}

/// Write `bytes` to `dir/name` atomically: a temporary in `staging` (same file system, a name
/// no hook reads), fsync, rename over the target (a rename replaces a link, never follows it),
/// fsync both directories.
pub fn atomic_write(
    staging: &Path,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    attrs: Attrs,
) -> Result<()> {
    let target = dir.join(name);
    refuse_link(&target)?;
    let tmp = temp_path(staging);
    let result = write_and_rename(&tmp, &target, bytes, attrs);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(dir)?;
    if staging != dir {
        sync_dir(staging)?;
    }
    Ok(())
}

fn write_and_rename(tmp: &Path, target: &Path, bytes: &[u8], attrs: Attrs) -> Result<()> {
    write_temp(tmp, bytes, attrs, true)?;
    fs::rename(tmp, target).map_err(|e| Error::io("cannot rename into place", target, e))
}

/// A rename would replace a link (never follow it), but a link where we write means someone
/// planted it: refuse loudly instead.
fn refuse_link(target: &Path) -> Result<()> {
    if fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Unsafe {
            path: target.to_path_buf(),
            msg: "refusing to replace a symbolic link".into(),
        });
    }
    Ok(())
}

fn temp_path(staging: &Path) -> PathBuf {
    staging.join(format!(
        "{TMP_PREFIX}{}-{}{TMP_SUFFIX}",
        std::process::id(),
        unique()
    ))
}

fn write_temp(tmp: &Path, bytes: &[u8], attrs: Attrs, fsync: bool) -> Result<()> {
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(tmp)
        .map_err(|e| Error::io("cannot create temporary file", tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("cannot write", tmp, e))?;
    if let Some((uid, gid)) = attrs.owner {
        nix::unistd::fchown(&file, Some(uid.into()), Some(gid.into()))
            .map_err(|e| Error::io("cannot change owner of", tmp, e.into()))?;
    }
    file.set_permissions(fs::Permissions::from_mode(attrs.mode))
        .map_err(|e| Error::io("cannot set mode of", tmp, e))?;
    if fsync {
        file.sync_all()
            .map_err(|e| Error::io("cannot sync", tmp, e))?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).map_err(|e| Error::io("cannot open directory", dir, e))?;
    f.sync_all()
        .map_err(|e| Error::io("cannot sync directory", dir, e))
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{t:08x}{:x}", N.fetch_add(1, Ordering::Relaxed))
}

/// Write an output file the caller named (`man --dir`, `verify --save-chain`): created or
/// truncated, mode 0644 whatever the umask, never through a symbolic link (`O_NOFOLLOW`).
pub fn write_output(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(what, path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o644)))
        .map_err(|e| Error::io(what, path, e))
}
