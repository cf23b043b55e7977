//! Platforms are data: one row per trust-store layout, found in the distributions' own hook
//! scripts. Detection reads `/etc/os-release` inside `--root` (ID, then ID_LIKE) and falls back
//! to probes of the tree; it returns a value and sets no globals.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::tree::Tree;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PlatformId {
    Debian,
    Rhel,
    Suse,
    Alpine,
    Arch,
}

/// Where anchorage writes anchors for one layout. All paths are relative to the root.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub id: PlatformId,
    /// `/etc/os-release` IDs (and ID_LIKE words) that select this row.
    pub os_ids: &'static [&'static str],
    /// The directory the hook reads administrator anchors from.
    pub anchors_dir: &'static str,
    /// Our own subdirectory when the hook recurses into subdirectories; else files are flat
    /// and carry `prefix`.
    pub subdir: Option<&'static str>,
    pub prefix: &'static str,
    /// File extension the hook needs.
    pub extension: &'static str,
    /// Where temporary files are written: same file system, never read by the hook.
    pub staging_dir: &'static str,
    /// The update command, as installed in the tree (absolute inside the tree) and its argv.
    pub hook_path: &'static str,
    pub hook_args: &'static [&'static str],
    /// Extra arguments when anchors were removed (Debian leaves dangling links otherwise).
    pub hook_remove_args: &'static [&'static str],
    /// The package that provides the hook, for "install it" hints.
    pub hook_package: &'static str,
    /// The bundle TLS clients read: where we prove the effect.
    pub bundle: &'static str,
    /// Where `certutil` comes from on this family.
    pub nss_package: &'static str,
    /// Where the hook links every anchor by its file stem (`NAME.pem`), distribution and local
    /// alike, so a managed name must differ from the stems in use there (`store::shadow`).
    pub links_dir: Option<&'static str>,
}

pub const ANCHORAGE: &str = "anchorage";

/// `--platform`: `auto` (detect from the tree) or one row of the table. The values clap
/// accepts come from `PlatformId` itself, so the table and the flag cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformChoice(pub Option<PlatformId>);

impl PlatformChoice {
    pub fn parser() -> impl clap::builder::TypedValueParser<Value = PlatformChoice> {
        use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
        use clap::ValueEnum;
        let values = std::iter::once(PossibleValue::new("auto")).chain(
            PlatformId::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        );
        PossibleValuesParser::new(values)
            .map(|name: String| PlatformChoice(PlatformId::from_str(&name, false).ok()))
    }
}

/// The tree a command works on: its root and the platform row that applies to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The canonical path of `--root` (resolved once, so a relative `--root` and a hook that
    /// changes directory agree).
    pub root: PathBuf,
    /// The tree, opened once: every file operation of the run is relative to it.
    pub tree: std::sync::Arc<Tree>,
    pub detected: Detected,
}

impl Target {
    /// Check `--root` and detect (or take) the platform.
    pub fn open(root: &Path, forced: Option<PlatformId>) -> Result<Target> {
        let meta = std::fs::metadata(root).map_err(|_| Error::NoInput {
            path: root.to_path_buf(),
        })?;
        if !meta.is_dir() {
            return Err(Error::usage(format!(
                "--root {}: not a directory",
                root.display()
            )));
        }
        let root = std::fs::canonicalize(root).map_err(|_| Error::NoInput {
            path: root.to_path_buf(),
        })?;
        let tree = Tree::pin(&root)?;
        let detected = detect(&root, forced)?;
        tracing::debug!(
            "platform: {} ({}) in {} (paths resolved by {})",
            detected.id.name(),
            detected.evidence.join("; "),
            root.display(),
            crate::tree::resolver_name()
        );
        Ok(Target {
            root,
            tree,
            detected,
        })
    }

    pub fn layout(&self) -> &'static Layout {
        layout(self.detected.id)
    }

    /// The platform's name as reports show it ("debian", "rhel", …).
    pub fn platform_name(&self) -> &'static str {
        self.detected.id.name()
    }
}

impl PlatformId {
    pub fn name(self) -> &'static str {
        match self {
            PlatformId::Debian => "debian",
            PlatformId::Rhel => "rhel",
            PlatformId::Suse => "suse",
            PlatformId::Alpine => "alpine",
            PlatformId::Arch => "arch",
        }
    }
}

/// One row per family. Sources: each family's own `update-ca-certificates` /
/// `update-ca-trust` / `trust` scripts (see ARCHITECTURE.md), cross-checked against openssl-probe.
pub const LAYOUTS: &[Layout] = &[
    // Debian, Ubuntu and derivatives: update-ca-certificates reads *.crt under the local dir
    // recursively (`find -L`), so anchorage owns a subdirectory.
    Layout {
        id: PlatformId::Debian,
        os_ids: &[
            "debian",
            "ubuntu",
            "linuxmint",
            "pop",
            "raspbian",
            "kali",
            "devuan",
        ],
        anchors_dir: "usr/local/share/ca-certificates",
        subdir: Some(ANCHORAGE),
        prefix: "",
        extension: ".crt",
        staging_dir: "usr/local/share/ca-certificates/anchorage",
        hook_path: "usr/sbin/update-ca-certificates",
        hook_args: &[],
        hook_remove_args: &["--fresh"],
        hook_package: "ca-certificates",
        bundle: "etc/ssl/certs/ca-certificates.crt",
        nss_package: "libnss3-tools",
        links_dir: Some("etc/ssl/certs"),
    },
    // RHEL, Fedora, CentOS, Rocky, Alma, Oracle Linux, Amazon Linux: p11-kit reads every file in
    // anchors/ (PEM or DER, any name), not recursively: flat files with a prefix, temporaries
    // outside the source tree.
    Layout {
        id: PlatformId::Rhel,
        os_ids: &[
            "rhel",
            "fedora",
            "centos",
            "rocky",
            "almalinux",
            "ol",
            "amzn",
            "redhat",
        ],
        anchors_dir: "etc/pki/ca-trust/source/anchors",
        subdir: None,
        prefix: "anchorage-",
        extension: ".pem",
        staging_dir: "etc/pki/ca-trust/anchorage-staging",
        hook_path: "usr/bin/update-ca-trust",
        hook_args: &["extract"],
        hook_remove_args: &[],
        hook_package: "ca-certificates",
        bundle: "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        nss_package: "nss-tools",
        links_dir: None,
    },
    // SUSE: administrator anchors in /etc/pki/trust/anchors (/usr/share/pki/trust is the vendor's).
    Layout {
        id: PlatformId::Suse,
        os_ids: &[
            "suse",
            "sles",
            "sled",
            "opensuse",
            "opensuse-leap",
            "opensuse-tumbleweed",
        ],
        anchors_dir: "etc/pki/trust/anchors",
        subdir: None,
        prefix: "anchorage-",
        extension: ".pem",
        staging_dir: "etc/pki/anchorage-staging",
        hook_path: "usr/sbin/update-ca-certificates",
        hook_args: &[],
        hook_remove_args: &[],
        hook_package: "ca-certificates",
        bundle: "var/lib/ca-certificates/ca-bundle.pem",
        nss_package: "mozilla-nss-tools",
        links_dir: None,
    },
    // Alpine: the hook reads the local dir flat (no subdirectories), any file name.
    Layout {
        id: PlatformId::Alpine,
        os_ids: &["alpine"],
        anchors_dir: "usr/local/share/ca-certificates",
        subdir: None,
        prefix: "anchorage-",
        extension: ".crt",
        staging_dir: "usr/local/share/anchorage-staging",
        hook_path: "usr/sbin/update-ca-certificates",
        hook_args: &[],
        hook_remove_args: &[],
        hook_package: "ca-certificates",
        bundle: "etc/ssl/certs/ca-certificates.crt",
        nss_package: "nss-tools",
        links_dir: None,
    },
    // Arch and derivatives: p11-kit source anchors, extracted with `trust extract-compat`.
    Layout {
        id: PlatformId::Arch,
        os_ids: &["arch", "archarm", "manjaro", "endeavouros", "artix"],
        anchors_dir: "etc/ca-certificates/trust-source/anchors",
        subdir: None,
        prefix: "anchorage-",
        extension: ".crt",
        staging_dir: "etc/ca-certificates/anchorage-staging",
        hook_path: "usr/bin/trust",
        hook_args: &["extract-compat"],
        hook_remove_args: &[],
        hook_package: "p11-kit",
        bundle: "etc/ssl/certs/ca-certificates.crt",
        nss_package: "nss",
        links_dir: None,
    },
];

/// Debian's conf mode (guide 003): files under /usr/share/ca-certificates/anchorage/ and one
/// line per file in /etc/ca-certificates.conf, relative to /usr/share/ca-certificates.
pub const DEBIAN_CONF_CERTSDIR: &str = "usr/share/ca-certificates";
pub const DEBIAN_CONF_FILE: &str = "etc/ca-certificates.conf";

pub fn layout(id: PlatformId) -> &'static Layout {
    LAYOUTS.iter().find(|l| l.id == id).unwrap_or(&LAYOUTS[0])
}

/// Probes used when os-release does not name a known family, in order: the first path that
/// exists in the tree decides. More specific layouts come first.
const PROBES: &[(&str, PlatformId)] = &[
    ("usr/bin/update-ca-trust", PlatformId::Rhel),
    ("etc/pki/ca-trust/source", PlatformId::Rhel),
    ("etc/pki/trust/anchors", PlatformId::Suse),
    ("var/lib/ca-certificates/ca-bundle.pem", PlatformId::Suse),
    ("etc/alpine-release", PlatformId::Alpine),
    ("etc/ca-certificates/trust-source", PlatformId::Arch),
    ("etc/ca-certificates.conf", PlatformId::Debian),
    ("usr/share/ca-certificates", PlatformId::Debian),
];

#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub id: PlatformId,
    /// Why this platform was chosen (os-release line, probe, or the --platform flag).
    pub evidence: Vec<String>,
}

pub fn detect(root: &Path, forced: Option<PlatformId>) -> Result<Detected> {
    if let Some(id) = forced {
        return Ok(Detected {
            id,
            evidence: vec!["--platform".into()],
        });
    }
    let tree = Tree::pin(root)?;
    for rel in ["etc/os-release", "usr/lib/os-release"] {
        // Read as the tree's programs see it: an absolute link (`etc/os-release ->
        // /usr/lib/os-release`, common in images) resolves inside the tree, not on the host.
        let Ok(Some(bytes)) = tree.read(rel) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let (id, like) = parse_os_release(&text);
        for word in std::iter::once(id.as_str()).chain(like.split_whitespace()) {
            if let Some(l) = LAYOUTS.iter().find(|l| l.os_ids.contains(&word)) {
                return Ok(Detected {
                    id: l.id,
                    evidence: vec![format!(
                        "/{rel}: ID={id}{}",
                        if like.is_empty() {
                            String::new()
                        } else {
                            format!(" ID_LIKE=\"{like}\"")
                        }
                    )],
                });
            }
        }
    }
    for (probe, id) in PROBES {
        if tree.exists(probe) {
            return Ok(Detected {
                id: *id,
                evidence: vec![format!("/{probe} exists")],
            });
        }
    }
    Err(Error::failed(
        format!(
            "cannot detect the platform of {}: no known /etc/os-release and no trust store found",
            root.display()
        ),
        "pass --platform debian|rhel|suse|alpine|arch",
    ))
}

fn parse_os_release(text: &str) -> (String, String) {
    let mut id = String::new();
    let mut like = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_ascii_lowercase();
        match key.trim() {
            "ID" => id = value,
            "ID_LIKE" => like = value,
            _ => {}
        }
    }
    (id, like)
}

/// Join a root-relative path onto the root.
pub fn in_root(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_picks_family_by_id_like() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/os-release"),
            "ID=rocky\nID_LIKE=\"rhel centos fedora\"\n",
        )
        .unwrap();
        assert_eq!(detect(dir.path(), None).unwrap().id, PlatformId::Rhel);
        std::fs::write(
            dir.path().join("etc/os-release"),
            "ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n",
        )
        .unwrap();
        assert_eq!(detect(dir.path(), None).unwrap().id, PlatformId::Suse);
        std::fs::write(
            dir.path().join("etc/os-release"),
            "ID=someday\nID_LIKE=ubuntu\n",
        )
        .unwrap();
        assert_eq!(detect(dir.path(), None).unwrap().id, PlatformId::Debian);
    }

    #[test]
    fn empty_tree_is_an_error_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = detect(dir.path(), None).unwrap_err();
        assert!(err.hint().unwrap().contains("--platform"));
    }
}
