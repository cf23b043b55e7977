//! The links of `/etc/ssl/certs` as the tree itself sees them. The host's
//! `update-ca-certificates` pointed into a tree (`--certsdir T/usr/share/…`) writes
//! `X.pem -> T/usr/share/ca-certificates/…`: host paths, dangling once the tree is moved or
//! used as an image. `rewrite_host_links` makes them what the tree's own hook would write;
//! `problems` is `doctor`'s check for dangling and out-of-tree links.

use crate::error::Result;
use crate::tree::{Dir, Kind, Tree};

use super::model::ETC_CERTS;

/// Rewrite links whose target starts with the tree's host path to the path inside the tree.
/// Returns how many were rewritten.
pub fn rewrite_host_links(tree: &Tree) -> Result<usize> {
    relink(tree, |_, _, prefix, target| {
        target
            .strip_prefix(prefix)
            .filter(|r| r.starts_with('/'))
            .map(str::to_string)
    })
}

/// Every link of `/etc/ssl/certs` for which `new_target(dir, name, host prefix, target)` gives a
/// new target is re-pointed there (atomically). Nothing to do at `--root /`. Returns how many.
fn relink(
    tree: &Tree,
    new_target: impl Fn(&Dir, &str, &str, &str) -> Option<String>,
) -> Result<usize> {
    let Some(prefix) = tree.path().to_str().filter(|p| *p != "/") else {
        return Ok(0);
    };
    let Some(dir) = tree.dir(ETC_CERTS)? else {
        return Ok(0);
    };
    let mut n = 0;
    for (name, kind) in dir.entries()? {
        if kind != Kind::Link {
            continue;
        }
        let Some(target) = dir.read_link(&name)? else {
            continue;
        };
        if let Some(to) = new_target(&dir, &name, prefix, &target) {
            dir.symlink(&to, &name)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The certificate directories the script links into, as the tree sees them.
const CERT_DIRS: [&str; 2] = [
    "/usr/share/ca-certificates/",
    "/usr/local/share/ca-certificates/",
];

/// Is `name` a link (or a chain of links in the directory) ending in an absolute path under
/// a certificate directory that is a regular file inside the tree? Such a link is what the
/// tree's own hook writes; followed on the host it would lead out of the tree.
pub fn in_tree_style(tree: &Tree, dir: &Dir, name: &str) -> bool {
    let mut cur = name.to_string();
    for _ in 0..8 {
        let Ok(Some(target)) = dir.read_link(&cur) else {
            return false;
        };
        if target.starts_with('/') {
            return CERT_DIRS.iter().any(|d| target.starts_with(d))
                && !target.split('/').any(|c| c == "..")
                && tree.kind_following(&target) == Some(Kind::File)
                && dir.stat(name).ok().flatten().is_some();
        }
        if target.contains('/') {
            return false;
        }
        cur = target;
    }
    false
}

/// Before the host hook runs pointed into the tree: links to `/usr/share/ca-certificates/…`
/// become links to the same file by its host path (what that hook compares and writes), so
/// it neither follows them out of the tree nor relinks every one. Returns how many.
pub fn to_host_paths(tree: &Tree) -> Result<usize> {
    relink(tree, |dir, name, prefix, target| {
        (target.starts_with('/') && in_tree_style(tree, dir, name))
            .then(|| format!("{prefix}{target}"))
    })
}

/// Links of `/etc/ssl/certs` that dangle inside the tree, or that name the tree by its host
/// path (they work only where the tree was built).
pub fn problems(tree: &Tree) -> Vec<String> {
    let Ok(Some(dir)) = tree.dir(ETC_CERTS) else {
        return Vec::new();
    };
    let Ok(entries) = dir.entries() else {
        return Vec::new();
    };
    let prefix = tree
        .path()
        .to_str()
        .filter(|p| *p != "/")
        .map(|p| format!("{p}/"));
    let (mut dangling, mut host) = (Vec::new(), Vec::new());
    for (name, kind) in entries {
        if kind != Kind::Link {
            continue;
        }
        let target = dir.read_link(&name).ok().flatten().unwrap_or_default();
        if prefix.as_deref().is_some_and(|p| target.starts_with(p)) {
            host.push(name);
        } else if tree
            .kind_following(&format!("{ETC_CERTS}/{name}"))
            .is_none()
        {
            dangling.push(name);
        }
    }
    let mut out = Vec::new();
    let show = |v: &[String]| {
        let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if v.len() > 5 {
            s.push_str(&format!(" and {} more", v.len() - 5));
        }
        s
    };
    if !dangling.is_empty() {
        out.push(format!(
            "{} dangling link(s) in /etc/ssl/certs ({}): `openssl verify -CApath` misses them; run anchorage again or update-ca-certificates --fresh",
            dangling.len(),
            show(&dangling)
        ));
    }
    if !host.is_empty() {
        out.push(format!(
            "{} link(s) in /etc/ssl/certs point at the tree's host path ({}): they dangle once the tree is moved or used as an image; run anchorage install again (native refresh or the hook's links are rewritten)",
            host.len(),
            show(&host)
        ));
    }
    out
}
