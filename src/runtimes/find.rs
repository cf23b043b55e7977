//! Finding runtimes in a tree without running anything in it: a bounded walk for Python
//! site-packages (`certifi/cacert.pem`), the `node` binaries and their version (from
//! `include/node/node_version.h` next to the binary or dpkg's status file — never by running a
//! binary of the tree, which may be foreign and would run as root), and GnuTLS.
//! The walk never follows a link and stops at `MAX_ENTRIES` directory entries.

use std::path::Path;

use crate::tree::{Kind, Tree};

/// Where Python packages live: system, /usr/local, venvs in /opt, /srv, /app, homes.
const PY_ROOTS: &[&str] = &[
    "usr/lib",
    "usr/local/lib",
    "opt",
    "srv",
    "app",
    "home",
    "root",
    "workspace",
    "var/lib",
];
/// Deep enough for `/home/u/proj/.venv/lib/python3.11/site-packages` and pyenv's
/// `/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages`.
const MAX_DEPTH: usize = 7;
const MAX_ENTRIES: usize = 200_000;
/// Directories that never hold site-packages but can be huge.
const SKIP: &[&str] = &[
    "node_modules",
    ".git",
    "proc",
    "sys",
    "dev",
    ".cache",
    "__pycache__",
];

/// A certifi copy: `rel` of its `cacert.pem`; whether Debian's patch points `where()` at the
/// system bundle; whether `truststore` is installed beside it.
#[derive(Debug, Clone)]
pub struct Certifi {
    pub rel: String,
    pub debian_patched: bool,
    pub truststore: bool,
}

/// Every `site-packages`/`dist-packages` holding `certifi/cacert.pem`; and whether the walk hit
/// its bound (then the result may be incomplete). Everything is read through the tree: the
/// walk opens no link, and the files of a copy (`cacert.pem`, `core.py`, `truststore/`) resolve
/// links inside the tree, as the tree's Python sees them — never on the host.
pub fn certifi(root: &Path) -> (Vec<Certifi>, bool) {
    let mut found = Vec::new();
    let mut budget = MAX_ENTRIES;
    let Ok(tree) = Tree::pin(root) else {
        return (found, false);
    };
    for r in PY_ROOTS {
        walk(&tree, r, 0, &mut budget, &mut found);
    }
    found.sort_by(|a: &Certifi, b| a.rel.cmp(&b.rel));
    found.dedup_by(|a, b| a.rel == b.rel);
    (found, budget == 0)
}

fn walk(tree: &Tree, rel: &str, depth: usize, budget: &mut usize, out: &mut Vec<Certifi>) {
    // `dir` opens no link on the way: a linked directory is not walked into.
    let Ok(Some(dir)) = tree.dir(rel) else {
        return;
    };
    let Ok(entries) = dir.entries() else {
        return;
    };
    for (name, kind) in entries {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        if kind != Kind::Dir {
            continue; // a link (even to a directory) is not followed
        }
        if SKIP.contains(&name.as_str()) {
            continue;
        }
        let child = format!("{rel}/{name}");
        if name == "site-packages" || name == "dist-packages" {
            let pem = format!("{child}/certifi/cacert.pem");
            if tree.kind_following(&pem) == Some(Kind::File) {
                let core = tree
                    .read(&format!("{child}/certifi/core.py"))
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                out.push(Certifi {
                    rel: format!("/{pem}"),
                    // Debian's python3-certifi (in dist-packages, where Debian's packages
                    // go): `where()` returns the system bundle. A virtualenv's certifi comes
                    // from pip (site-packages): upstream's, its own cacert.pem.
                    debian_patched: name == "dist-packages"
                        && contains(&core, b"return DEBIAN_CA_CERTS_PATH"),
                    truststore: tree.kind_following(&format!("{child}/truststore"))
                        == Some(Kind::Dir),
                });
            }
            continue;
        }
        if depth + 1 < MAX_DEPTH {
            walk(tree, &child, depth + 1, budget, out);
        }
    }
}

/// The names of the directories in `rel` (links resolved inside the tree for `rel` itself;
/// entries that are links are skipped), at most `max`.
fn subdirs(tree: &Tree, rel: &str, max: usize) -> Vec<String> {
    let Ok(Some(dir)) = tree.dir_following(rel) else {
        return Vec::new();
    };
    dir.entries()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, k)| *k == Kind::Dir)
        .map(|(n, _)| n)
        .take(max)
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A `node` binary of the tree and its version when it can be read without running it.
#[derive(Debug, Clone)]
pub struct Node {
    pub rel: String,
    pub version: Option<(u32, u32, u32)>,
}

pub fn node(root: &Path) -> Vec<Node> {
    let Ok(tree) = Tree::pin(root) else {
        return Vec::new();
    };
    let mut bins: Vec<String> = ["usr/bin/node", "usr/bin/nodejs", "usr/local/bin/node"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for base in ["opt", "usr/local/lib/nodejs"] {
        for n in subdirs(&tree, base, 200) {
            bins.push(format!("{base}/{n}/bin/node"));
        }
    }
    let mut out: Vec<Node> = Vec::new();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for rel in bins {
        // Links are fine here (Debian's /usr/bin/node -> nodejs, /usr/local/bin/node ->
        // /opt/node-v22/bin/node), resolved inside the tree as its programs see them: judge
        // the file it resolves to, once (by device and inode, never a host path).
        let Some(st) = tree.stat_following(&rel) else {
            continue;
        };
        if Kind::of(&st) != Kind::File {
            continue;
        }
        let id = (st.st_dev, st.st_ino);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let prefix = Path::new(&rel)
            .parent()
            .and_then(Path::parent)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let version = header_version(root, &prefix).or_else(|| dpkg_version(root));
        out.push(Node {
            rel: format!("/{rel}"),
            version,
        });
    }
    out
}

/// `NODE_MAJOR_VERSION` & co. from `<prefix>/include/node/node_version.h` (official builds,
/// Debian's libnode-dev).
fn header_version(root: &Path, prefix: &str) -> Option<(u32, u32, u32)> {
    let tree = crate::tree::Tree::pin(root).ok()?;
    let text = tree
        .read(&format!("{prefix}/include/node/node_version.h"))
        .ok()??;
    let text = String::from_utf8_lossy(&text);
    let num = |key: &str| -> Option<u32> {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start();
            let v = rest.strip_prefix(key)?;
            v.trim().parse().ok()
        })
    };
    Some((
        num("NODE_MAJOR_VERSION")?,
        num("NODE_MINOR_VERSION")?,
        num("NODE_PATCH_VERSION")?,
    ))
}

/// The `nodejs` package's version in `var/lib/dpkg/status` ("18.19.0+dfsg-6~deb12u2").
fn dpkg_version(root: &Path) -> Option<(u32, u32, u32)> {
    let tree = crate::tree::Tree::pin(root).ok()?;
    let text = tree.read("var/lib/dpkg/status").ok()??;
    let text = String::from_utf8_lossy(&text);
    let para = text
        .split("\n\n")
        .find(|p| p.lines().any(|l| l == "Package: nodejs"))?;
    let v = para.lines().find_map(|l| l.strip_prefix("Version: "))?;
    parse_version(v)
}

/// "1:18.19.0+dfsg-6" → (18, 19, 0).
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let v = v.split_once(':').map_or(v, |(_, r)| r);
    let v = v.trim_start_matches('v');
    let mut it = v
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// GnuTLS is there: its client or its library.
pub fn gnutls(root: &Path) -> Option<String> {
    let tree = crate::tree::Tree::pin(root).ok()?;
    if tree.exists("usr/bin/gnutls-cli") {
        return Some("/usr/bin/gnutls-cli".into());
    }
    for lib in ["usr/lib", "usr/lib64", "lib", "lib64"] {
        let mut candidates = vec![lib.to_string()];
        candidates.extend(
            subdirs(&tree, lib, 10_000)
                .into_iter()
                .filter(|n| n.ends_with("-linux-gnu"))
                .map(|n| format!("{lib}/{n}")),
        );
        for d in candidates {
            if tree.exists(&format!("{d}/libgnutls.so.30")) {
                return Some(format!("/{d}/libgnutls.so.30"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions() {
        assert_eq!(parse_version("18.19.0+dfsg-6~deb12u2"), Some((18, 19, 0)));
        assert_eq!(parse_version("1:22.15.1-1"), Some((22, 15, 1)));
        assert_eq!(parse_version("v23.8.0"), Some((23, 8, 0)));
        assert_eq!(parse_version("abc"), None);
    }
}
