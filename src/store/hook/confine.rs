//! The host's Debian hook pointed into a tree (`update-ca-certificates --etccertsdir T/etc/ssl/certs
//! …`) runs as host root and follows links by path: `cat >> ca-certificates.crt.new` writes
//! through a link, `ln -sf CERT NAME.pem` creates inside a directory a link points at, `find -L`
//! reads certificates wherever a link leads. So before it runs, nothing it will write or read
//! may be a link leading out of the tree.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::platform::DEBIAN_CONF_FILE;
use crate::tree::{Kind, Tree};

const ETC_CERTS: &str = "etc/ssl/certs";
const READ_DIRS: [&str; 2] = [
    "usr/share/ca-certificates",
    "usr/local/share/ca-certificates",
];
const HOOKS_DIR: &str = "etc/ca-certificates/update.d";

/// Refuse (77) when the hook would be led out of the tree.
pub fn check(tree: &Tree) -> Result<()> {
    for rel in std::iter::once(ETC_CERTS).chain(READ_DIRS) {
        tree.check_dir(rel)?;
    }
    if let Some(dir) = tree.dir(ETC_CERTS)? {
        for (name, kind) in dir.entries()? {
            if kind != Kind::Link {
                continue;
            }
            let link = dir.join(&name);
            if name == "ca-certificates.crt" || name == "ca-certificates.crt.new" {
                return Err(refusal(&link, "the hook writes the bundle through it"));
            }
            // Links the tree's own hook (or native refresh) wrote: turned into the host path
            // of the same file before the host hook runs (`links::to_host_paths`).
            if crate::store::native::links::in_tree_style(tree, &dir, &name) {
                continue;
            }
            outside(tree, &link)?;
        }
    }
    for rel in READ_DIRS {
        let top = tree.host(rel);
        for e in walkdir::WalkDir::new(&top)
            .follow_links(false)
            .into_iter()
            .flatten()
        {
            if e.path_is_symlink() {
                outside(tree, e.path())?;
            }
        }
    }
    if let Some(conf) = tree.read(DEBIAN_CONF_FILE)? {
        outside(tree, &tree.host(DEBIAN_CONF_FILE))?;
        for line in String::from_utf8_lossy(&conf).lines() {
            let path = line.trim_start_matches('!');
            if path.starts_with('/') || path.split('/').any(|c| c == "..") {
                return Err(Error::Unsafe {
                    path: tree.host(DEBIAN_CONF_FILE),
                    msg: format!(
                        "the line `{}` names a file outside /usr/share/ca-certificates; the host's hook would read it",
                        line.escape_debug()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The tree's update.d scripts (which the host hook is not given).
pub fn tree_hooks(tree: &Tree) -> Vec<String> {
    match tree.dir(HOOKS_DIR) {
        Ok(Some(d)) => d
            .entries()
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !n.starts_with('.'))
            .collect(),
        _ => Vec::new(),
    }
}

/// A link whose target (as the host resolves it) is outside the tree.
fn outside(tree: &Tree, link: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(link) else {
        return Ok(());
    };
    if !meta.file_type().is_symlink() {
        return Ok(());
    }
    // A dangling link is replaced or removed by the hook, never written through.
    let Ok(real) = std::fs::canonicalize(link) else {
        return Ok(());
    };
    if real.starts_with(tree.path()) {
        return Ok(());
    }
    Err(refusal(
        link,
        &format!("it leads out of the tree, to {}", real.display()),
    ))
}

fn refusal(link: &Path, why: &str) -> Error {
    Error::Unsafe {
        path: PathBuf::from(link),
        msg: format!(
            "a symbolic link the host's update-ca-certificates would follow ({why}); remove it, or install ca-certificates in the tree so its own hook runs under chroot"
        ),
    }
}
