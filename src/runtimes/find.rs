//! Finding runtimes in a tree without running anything in it: a bounded walk for Python
//! site-packages (`certifi/cacert.pem`), the `node` binaries and their version (from
//! `include/node/node_version.h` next to the binary or dpkg's status file — never by running a
//! binary of the tree, which may be foreign and would run as root), and GnuTLS.
//! The walk never follows a link and stops at `MAX_ENTRIES` directory entries.

use std::path::Path;

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
/// its bound (then the result may be incomplete).
pub fn certifi(root: &Path) -> (Vec<Certifi>, bool) {
    let mut found = Vec::new();
    let mut budget = MAX_ENTRIES;
    for r in PY_ROOTS {
        walk(root, r, 0, &mut budget, &mut found);
    }
    found.sort_by(|a: &Certifi, b| a.rel.cmp(&b.rel));
    found.dedup_by(|a, b| a.rel == b.rel);
    (found, budget == 0)
}

fn walk(root: &Path, rel: &str, depth: usize, budget: &mut usize, out: &mut Vec<Certifi>) {
    let host = root.join(rel);
    let Ok(rd) = std::fs::read_dir(&host) else {
        return;
    };
    for e in rd.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue; // a link (even to a directory) is not followed
        }
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if SKIP.contains(&name) {
            continue;
        }
        let child = format!("{rel}/{name}");
        if name == "site-packages" || name == "dist-packages" {
            let pem = format!("{child}/certifi/cacert.pem");
            if std::fs::symlink_metadata(root.join(&pem)).is_ok_and(|m| m.is_file()) {
                let core = std::fs::read(root.join(format!("{child}/certifi/core.py")))
                    .unwrap_or_default();
                out.push(Certifi {
                    rel: format!("/{pem}"),
                    // Debian's python3-certifi (in dist-packages, where Debian's packages
                    // go): `where()` returns the system bundle. A virtualenv's certifi comes
                    // from pip (site-packages): upstream's, its own cacert.pem.
                    debian_patched: name == "dist-packages"
                        && contains(&core, b"return DEBIAN_CA_CERTS_PATH"),
                    truststore: root.join(format!("{child}/truststore")).is_dir(),
                });
            }
            continue;
        }
        if depth + 1 < MAX_DEPTH {
            walk(root, &child, depth + 1, budget, out);
        }
    }
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
    let mut bins: Vec<String> = ["usr/bin/node", "usr/bin/nodejs", "usr/local/bin/node"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for base in ["opt", "usr/local/lib/nodejs"] {
        if let Ok(rd) = std::fs::read_dir(root.join(base)) {
            for e in rd.flatten().take(200) {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    if let Some(n) = e.file_name().to_str() {
                        bins.push(format!("{base}/{n}/bin/node"));
                    }
                }
            }
        }
    }
    let mut out: Vec<Node> = Vec::new();
    let mut seen = Vec::new();
    for rel in bins {
        let host = root.join(&rel);
        // Links are fine here (Debian's /usr/bin/node -> nodejs), but only inside the tree:
        // judge the file it resolves to, once.
        let Ok(tree) = crate::tree::Tree::pin(root) else {
            break;
        };
        if !tree.exists(&rel) {
            continue;
        }
        let Ok(real) = std::fs::canonicalize(&host) else {
            continue;
        };
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
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
        let Ok(dirs) = std::fs::read_dir(root.join(lib)) else {
            continue;
        };
        let mut candidates = vec![lib.to_string()];
        candidates.extend(
            dirs.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with("-linux-gnu"))
                .map(|e| format!("{lib}/{}", e.file_name().to_string_lossy())),
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
