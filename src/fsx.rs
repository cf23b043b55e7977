//! File-system primitives with the safety rules in one place: atomic writes (temporary in a
//! staging directory the hooks never read, fsync, rename, fsync of the directory), modes that
//! do not depend on the caller's umask, no symbolic link followed when writing or changing
//! ownership, writes confined to `--root`, and one advisory lock per target tree.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix and suffix of our temporary files: never `*.crt`/`*.pem`, hidden, and recognisable
/// so stale ones (after a kill -9) can be cleaned.
pub const TMP_PREFIX: &str = ".anchorage-";
pub const TMP_SUFFIX: &str = ".tmp";

/// Ensure `root/rel` exists as a real directory inside the root, creating missing components
/// (mode 0755). Refuses when the final directory is a symbolic link or the path resolves
/// outside the root.
pub fn ensure_dir(root: &Path, rel: &str) -> Result<PathBuf> {
    let target = root.join(rel.trim_start_matches('/'));
    let real_root =
        fs::canonicalize(root).map_err(|e| Error::io("cannot resolve --root", root, e))?;
    let mut cur = root.to_path_buf();
    for comp in Path::new(rel.trim_start_matches('/')).components() {
        cur.push(comp);
        match fs::symlink_metadata(&cur) {
            Ok(_) => {
                // Never descend (and create anything) through a component that leads out.
                let real =
                    fs::canonicalize(&cur).map_err(|e| Error::io("cannot resolve", &cur, e))?;
                if !real.starts_with(&real_root) {
                    return Err(Error::Unsafe {
                        path: cur.clone(),
                        msg: format!("resolves outside --root (to {})", real.display()),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(0o755).create(&cur) {
                    Ok(()) => {
                        // The umask may have narrowed the mode; directories we create are 0755.
                        fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))
                            .map_err(|e| Error::io("cannot set mode", &cur, e))?;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io("cannot create directory", &cur, e)),
                }
            }
            Err(e) => return Err(Error::io("cannot inspect", &cur, e)),
        }
    }
    check_dir(root, &target)?;
    Ok(target)
}

/// The directory must not be a symbolic link and must resolve inside the root.
pub fn check_dir(root: &Path, dir: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::io("cannot inspect", dir, e))?;
    if meta.file_type().is_symlink() {
        return Err(Error::Unsafe {
            path: dir.to_path_buf(),
            msg: "refusing to write through a symbolic link".into(),
        });
    }
    if !meta.is_dir() {
        return Err(Error::Unsafe {
            path: dir.to_path_buf(),
            msg: "expected a directory".into(),
        });
    }
    let real_root =
        fs::canonicalize(root).map_err(|e| Error::io("cannot resolve --root", root, e))?;
    let real = fs::canonicalize(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    if !real.starts_with(&real_root) {
        return Err(Error::Unsafe {
            path: dir.to_path_buf(),
            msg: format!("resolves outside --root (to {})", real.display()),
        });
    }
    Ok(())
}

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

/// Write several files atomically (each one is either the old or the new content, never torn)
/// with two syncs instead of two per file: all temporaries are written, the file system is
/// synced once (`syncfs`), then each is renamed into place and the directory synced once.
/// On failure returns how many files were already renamed into place.
pub fn atomic_write_many(
    staging: &Path,
    dir: &Path,
    files: &[(String, Vec<u8>)],
    attrs: Attrs,
) -> std::result::Result<(), (usize, Error)> {
    if files.len() == 1 {
        let (name, bytes) = &files[0];
        return atomic_write(staging, dir, name, bytes, attrs).map_err(|e| (0, e));
    }
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in temps {
            let _ = fs::remove_file(tmp);
        }
    };
    for (name, bytes) in files {
        let target = dir.join(name);
        if let Err(e) = refuse_link(&target) {
            cleanup(&temps);
            return Err((0, e));
        }
        let tmp = temp_path(staging);
        if let Err(e) = write_temp(&tmp, bytes, attrs, false) {
            let _ = fs::remove_file(&tmp);
            cleanup(&temps);
            return Err((0, e));
        }
        temps.push((tmp, target));
    }
    let synced = File::open(staging)
        .map_err(|e| Error::io("cannot open directory", staging, e))
        .and_then(|d| {
            nix::unistd::syncfs(&d)
                .map_err(|e| Error::io("cannot sync the file system of", staging, e.into()))
        });
    if let Err(e) = synced {
        cleanup(&temps);
        return Err((0, e));
    }
    for (i, (tmp, target)) in temps.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            cleanup(&temps[i..]);
            return Err((i, Error::io("cannot rename into place", target, e)));
        }
    }
    let n = temps.len();
    sync_dir(dir).map_err(|e| (n, e))?;
    if staging != dir {
        sync_dir(staging).map_err(|e| (n, e))?;
    }
    Ok(())
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

/// Remove temporaries left by a killed run (called under the tree lock).
pub fn clean_stale(staging: &Path) {
    let Ok(entries) = fs::read_dir(staging) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
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

/// Change owner without following links (`lchown`): a link planted in a directory we chown
/// stays untouched and so does its target.
pub fn chown_nofollow(path: &Path, uid: u32, gid: u32) -> Result<()> {
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(uid.into()),
        Some(gid.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::io("cannot change owner of", path, e.into()))
}
