//! Will each TLS runtime of the tree trust every managed anchor? (`doctor --runtimes`, issue 16)
//! `detect` returns typed rows — `doctor` shows them, `metrics` can export them — judged by
//! effect: the certificates in the file (or database) the runtime will actually read, given
//! the environment (this process's, else the tree's `/etc/environment`).
//!
//! | runtime          | reads                                                          |
//! |------------------|----------------------------------------------------------------|
//! | `openssl`        | `SSL_CERT_FILE` else the platform bundle, plus `SSL_CERT_DIR`   |
//! | `gnutls`         | the platform bundle (GnuTLS ignores `SSL_CERT_FILE`)            |
//! | `nss`            | each database (`--nssdb`, discovered): the anchor with `C` trust |
//! | `python-certifi` | `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` else certifi's `cacert.pem` (Debian's patched certifi, or `truststore` beside it: the platform bundle) |
//! | `node`           | `NODE_EXTRA_CA_CERTS`, or the platform bundle with `NODE_USE_SYSTEM_CA=1`/`--use-system-ca` on Node >= 22.15 (22.x) / 23.8 |
//! | `java`           | each JVM truststore (`--java-truststore`, as `--java-discover`)  |

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::platform::Target;
use crate::store::java::JavaStores;
use crate::store::nss::NssStores;
use crate::store::{bundle, Store};

pub mod find;
pub mod host;

/// One runtime (or one copy of it) and its verdict. The JSON shape is a contract.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuntimeRow {
    pub runtime: String,
    pub path: String,
    pub trusts: bool,
    /// SHA-256 (hex) of each managed anchor it will not trust.
    pub missing: Vec<String>,
    /// What to do (empty when it trusts every anchor).
    pub fix: String,
}

/// Where a variable's value came from: this process (a path as we see it) or the tree's
/// `/etc/environment` (a path inside the tree).
#[derive(Debug, Clone)]
enum Loc {
    Host(PathBuf),
    Tree(String),
}

impl Loc {
    fn shown(&self) -> String {
        match self {
            Loc::Host(p) => p.display().to_string(),
            Loc::Tree(r) => r.clone(),
        }
    }
}

/// The environment runtimes will start with.
pub struct EnvView {
    process: Vec<(String, String)>,
    file: Vec<(String, String)>,
}

const VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_USE_SYSTEM_CA",
    "NODE_OPTIONS",
];

impl EnvView {
    /// This process's variables, then the tree's `/etc/environment` (pam_env's file).
    pub fn read(root: &Path) -> EnvView {
        let process = VARS
            .iter()
            .filter_map(|k| {
                let v = std::env::var(k).ok().filter(|v| !v.is_empty())?;
                Some((k.to_string(), v))
            })
            .collect();
        let text = crate::tree::Tree::pin(root)
            .ok()
            .and_then(|t| t.read("etc/environment").ok().flatten())
            .unwrap_or_default();
        EnvView {
            process,
            file: parse_environment(&String::from_utf8_lossy(&text)),
        }
    }

    fn raw(&self, k: &str) -> Option<(&str, bool)> {
        if let Some((_, v)) = self.process.iter().find(|(n, _)| n == k) {
            return Some((v, false));
        }
        self.file
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| (v.as_str(), true))
    }

    fn path(&self, k: &str) -> Option<Loc> {
        self.raw(k).map(|(v, in_tree)| {
            if in_tree {
                Loc::Tree(v.to_string())
            } else {
                Loc::Host(PathBuf::from(v))
            }
        })
    }
}

/// `KEY=value`, `KEY="value"`, `export KEY=value` lines; comments and others skipped.
fn parse_environment(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// The digests in a file (empty when it is missing or unreadable).
fn digests(root: &Path, loc: &Loc) -> HashSet<[u8; 32]> {
    let bytes = match loc {
        Loc::Host(p) => match host::read(p) {
            host::HostFile::Bytes(b) => b,
            _ => Vec::new(),
        },
        Loc::Tree(r) => crate::tree::Tree::pin(root)
            .ok()
            .and_then(|t| t.read(r.trim_start_matches('/')).ok().flatten())
            .unwrap_or_default(),
    };
    bundle::digests(&bytes)
}

/// Whether `name` is an OpenSSL hashed-directory entry (`<8 hex-ish>.<N>`).
fn is_hashed(name: &str) -> bool {
    name.split_once('.').is_some_and(|(h, n)| {
        h.len() == 8 && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// At most this many entries of one hashed directory are read.
const MAX_HASHED: usize = 5000;

/// Certificates in the files of OpenSSL hashed directories (bounded). A directory the tree's
/// `/etc/environment` names is read through the tree: its entries (Debian's end in absolute
/// links such as `/usr/local/share/ca-certificates/x.crt`) resolve inside the tree, as its
/// OpenSSL sees them — never to the host's file of that name.
fn dir_digests(root: &Path, dirs: &Loc) -> HashSet<[u8; 32]> {
    let mut out = HashSet::new();
    match dirs {
        Loc::Host(p) => {
            for d in std::env::split_paths(p.as_os_str()) {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in rd.flatten().take(MAX_HASHED) {
                    if is_hashed(&e.file_name().to_string_lossy()) {
                        if let host::HostFile::Bytes(b) = host::read(&e.path()) {
                            out.extend(bundle::digests(&b));
                        }
                    }
                }
            }
        }
        Loc::Tree(r) => {
            let Ok(tree) = crate::tree::Tree::pin(root) else {
                return out;
            };
            for d in r.split(':').filter(|d| !d.is_empty()) {
                let rel = d.trim_start_matches('/');
                let Ok(Some(dir)) = tree.dir_following(rel) else {
                    continue;
                };
                let Ok(entries) = dir.entries() else {
                    continue;
                };
                for (name, _) in entries
                    .iter()
                    .filter(|(n, _)| is_hashed(n))
                    .take(MAX_HASHED)
                {
                    if let Ok(Some(b)) = tree.read(&format!("{rel}/{name}")) {
                        out.extend(bundle::digests(&b));
                    }
                }
            }
        }
    }
    out
}

/// Node >= 22.15 on 22.x, >= 23.8, or any later major reads the system CAs when asked.
pub fn node_has_system_ca(v: (u32, u32, u32)) -> bool {
    match v.0 {
        22 => v.1 >= 15,
        23 => v.1 >= 8,
        m => m > 23,
    }
}

/// Judge every runtime found in the tree against `anchors` (SHA-256, hex). `system`: the
/// runtimes that read the system bundle (`openssl`, `gnutls`, `python-certifi`, `node`) are
/// judged too — not under `--no-system`, where the anchors are those of the named stores and
/// the system bundle is not managed by the run (only the `nss` and `java` rows then).
pub fn detect(
    target: &Target,
    anchors: &[String],
    nss: Option<&NssStores>,
    java: Option<&JavaStores>,
    system: bool,
) -> Vec<RuntimeRow> {
    let root = &target.root;
    let env = EnvView::read(root);
    let platform_rel = format!("/{}", target.layout().bundle);
    let platform = Loc::Tree(platform_rel.clone());
    let platform_set = digests(root, &platform);
    let missing = |have: &HashSet<[u8; 32]>| -> Vec<String> {
        let have: HashSet<String> = have.iter().map(hex::encode).collect();
        anchors
            .iter()
            .filter(|a| !have.contains(*a))
            .cloned()
            .collect()
    };
    let row = |runtime: &str, path: String, miss: Vec<String>, fix: String| RuntimeRow {
        runtime: runtime.into(),
        path,
        trusts: miss.is_empty(),
        fix: if miss.is_empty() { String::new() } else { fix },
        missing: miss,
    };
    let system_fix = "put the anchors into the system store: `anchorage install SOURCE…` as root, or start the agent with `anchorage exec SOURCE… -- PROGRAM`";
    let mut rows = Vec::new();

    // OpenSSL family (curl, wget, Go, Rust native-tls/openssl, Python's ssl).
    let file = env
        .path("SSL_CERT_FILE")
        .unwrap_or_else(|| platform.clone());
    let mut openssl_set = digests(root, &file);
    if let Some(dirs) = env.path("SSL_CERT_DIR") {
        openssl_set.extend(dir_digests(root, &dirs));
    }
    let fix = if env.raw("SSL_CERT_FILE").is_some() {
        format!("SSL_CERT_FILE names {} which lacks them: start the agent with `anchorage exec SOURCE… -- PROGRAM` (it points the variable at a bundle with them), or unset it", file.shown())
    } else {
        system_fix.to_string()
    };
    if system {
        rows.push(row("openssl", file.shown(), missing(&openssl_set), fix));
    }

    // GnuTLS: compiled-in default trust file, no variable.
    if system && find::gnutls(root).is_some() {
        rows.push(row(
            "gnutls",
            platform_rel.clone(),
            missing(&platform_set),
            format!("{system_fix} (GnuTLS reads only {platform_rel}; SSL_CERT_FILE does not apply, gnutls-cli takes --x509cafile)"),
        ));
    }

    // NSS databases.
    if let Some(nss) = nss {
        for s in &nss.stores {
            let have: HashSet<[u8; 32]> = match s.read(false) {
                Ok(state) => state
                    .entries
                    .iter()
                    .filter(|e| {
                        e.trust
                            .split(',')
                            .next()
                            .is_some_and(|t| t.contains(['C', 'T']))
                    })
                    .filter_map(|e| e.cert.as_ref().map(|c| c.sha256))
                    .collect(),
                Err(_) => HashSet::new(),
            };
            rows.push(row(
                "nss",
                s.db.rel.clone(),
                missing(&have),
                format!(
                    "`anchorage install --nssdb {} SOURCE…` (or --nss-discover)",
                    s.db.rel
                ),
            ));
        }
    }

    // Python requests + certifi: every copy.
    let requests_var = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
        .into_iter()
        .find_map(|k| env.path(k).map(|l| (k, l)));
    let (copies, truncated) = if system {
        find::certifi(root)
    } else {
        (Vec::new(), false)
    };
    for c in copies {
        let (set, via) = match &requests_var {
            Some((k, l)) => (digests(root, l), format!("{k} names {}", l.shown())),
            None if c.debian_patched || c.truststore => (
                platform_set.clone(),
                format!("this certifi uses {platform_rel}"),
            ),
            None => (
                digests(root, &Loc::Tree(c.rel.clone())),
                "certifi's own cacert.pem is used".to_string(),
            ),
        };
        let fix = format!("{via}: set REQUESTS_CA_BUNDLE to a bundle with the anchors (`anchorage exec SOURCE… -- PROGRAM` or `eval \"$(anchorage env SOURCE…)\"` do), or use the `truststore` package");
        rows.push(row("python-certifi", c.rel, missing(&set), fix));
    }
    if truncated {
        tracing::warn!("doctor --runtimes: the search for certifi stopped at its bound");
    }

    // Node.js: compiled-in roots + NODE_EXTRA_CA_CERTS (read once at start).
    let use_system = env.raw("NODE_USE_SYSTEM_CA").is_some_and(|(v, _)| v == "1")
        || env
            .raw("NODE_OPTIONS")
            .is_some_and(|(v, _)| v.split_whitespace().any(|o| o == "--use-system-ca"));
    for n in find::node(root).into_iter().filter(|_| system) {
        let mut set = env
            .path("NODE_EXTRA_CA_CERTS")
            .map(|l| digests(root, &l))
            .unwrap_or_default();
        let system_ok = n.version.is_some_and(node_has_system_ca);
        if use_system && system_ok {
            set.extend(openssl_set.iter().copied());
        }
        let version = n
            .version
            .map(|(a, b, c)| format!("Node {a}.{b}.{c}"))
            .unwrap_or_else(|| "Node (version unknown)".into());
        let fix = if system_ok {
            format!("set NODE_EXTRA_CA_CERTS to a bundle with the anchors, or NODE_USE_SYSTEM_CA=1 with them in the system store ({version}); `anchorage exec` sets both")
        } else {
            format!("set NODE_EXTRA_CA_CERTS to a bundle with the anchors ({version} has no NODE_USE_SYSTEM_CA; it reads the variable once at start, so restart it); `anchorage exec SOURCE… -- PROGRAM` does")
        };
        rows.push(row("node", n.rel, missing(&set), fix));
    }

    // Java: a JVM reads its truststore, never the system bundle. One row per store (named with
    // --java-truststore or found as --java-discover finds them), judged by its entries.
    for store in java.map(|j| j.stores.as_slice()).unwrap_or_default() {
        let (set, fix) = match store.read(false) {
            Ok(state) => (
                state.effective.unwrap_or_default(),
                match store.hook {
                    Some(hook) => format!("{hook} maintains it: `anchorage install SOURCE…` as root (the hook's run puts the anchors in)"),
                    None => format!("`anchorage install --java-truststore {} SOURCE…` (or --java-discover); a containerised JVM: `anchorage exec SOURCE… -- PROGRAM` points JAVA_TOOL_OPTIONS at a truststore with them", store.real),
                },
            ),
            Err(e) => (HashSet::new(), format!("cannot read it: {e}")),
        };
        rows.push(row("java", store.real.clone(), missing(&set), fix));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etc_environment_lines() {
        let v = parse_environment(
            "# c\nSSL_CERT_FILE=\"/x/b.pem\"\nexport NODE_EXTRA_CA_CERTS=/y\nPATH='/bin'\n",
        );
        assert_eq!(
            v,
            [
                ("SSL_CERT_FILE".to_string(), "/x/b.pem".to_string()),
                ("NODE_EXTRA_CA_CERTS".into(), "/y".into()),
                ("PATH".into(), "/bin".into())
            ]
        );
    }

    #[test]
    fn node_versions_with_system_ca() {
        assert!(!node_has_system_ca((18, 19, 0)));
        assert!(!node_has_system_ca((22, 14, 9)));
        assert!(node_has_system_ca((22, 15, 0)));
        assert!(!node_has_system_ca((23, 7, 0)));
        assert!(node_has_system_ca((23, 8, 0)));
        assert!(node_has_system_ca((24, 0, 0)));
    }
}
