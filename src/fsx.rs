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
