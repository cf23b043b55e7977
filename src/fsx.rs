//! Output files the caller names, outside `--root` (`man --dir`, `verify --save-chain`).
//! Everything under `--root` goes through `tree` (pinned directory handles); the env bundle
//! through `commands::exec::bundle_dir`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

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

/// Replace `path` atomically (the node_exporter textfile contract): a temporary file in the
/// same directory (`.NAME.PID.tmp`, created exclusively, never through a link), mode 0644,
/// fsync, `rename` over `path` (which replaces a link there, never follows it). A reader sees
/// the old content or the new one, never a part. On failure the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    let name = path.file_name().ok_or_else(|| Error::Usage {
        msg: format!("{what}: {}: not a file name", path.display()),
        hint: Some(
            "give a file path, such as /var/lib/prometheus/node-exporter/anchorage.prom".into(),
        ),
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(what, path, e)
    })
}
