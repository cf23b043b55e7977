//! Certificates the platform trusts through files anchorage does not manage (issue 16): an
//! administrator's `.crt` in the local anchors directory, a mounted file the hook reads, the
//! distribution's own roots. `install` then reports the anchor `unchanged` ("already trusted
//! via …") instead of writing a second copy and running the hook; the effect check of a removal
//! expects such a certificate to stay in the bundle.
//!
//! Read-only, through the pinned tree (links resolved inside it), bounded: at most `MAX_FILES`
//! files, `MAX_DEPTH` directories deep. Our own files (the managed subdirectory or prefix, and
//! Debian's `anchorage/` conf entries) are not "elsewhere".

use std::collections::HashMap;

use crate::platform::{Layout, PlatformId, ANCHORAGE, DEBIAN_CONF_FILE};
use crate::store::bundle;
use crate::tree::{Kind, Tree};

const MAX_FILES: usize = 5_000;
const MAX_DEPTH: usize = 4;
/// Debian's distribution certificates (ca-certificates.conf lines are relative to it).
const DEBIAN_SHARE: &str = "usr/share/ca-certificates";

/// What the bundle is said to come from when no file of the tree provides the certificate.
pub const DISTRIBUTION: &str = "the distribution bundle";

/// SHA-256 → where a non-managed source provides it: the tree path of an administrator's or a
/// mounted file (`/usr/local/share/ca-certificates/admin.crt`), or, for a distribution root,
/// `the distribution bundle (/usr/share/ca-certificates/mozilla/X.crt)`.
pub fn sources(tree: &Tree, layout: &Layout) -> HashMap<[u8; 32], String> {
    let mut out = HashMap::new();
    let mut budget = MAX_FILES;
    walk(
        tree,
        layout,
        layout.anchors_dir,
        false,
        0,
        &mut budget,
        &mut out,
    );
    if layout.id == PlatformId::Debian {
        // Selected distribution certificates (not `!`-deselected, not ours).
        if let Ok(Some(conf)) = tree.read(DEBIAN_CONF_FILE) {
            for line in String::from_utf8_lossy(&conf).lines() {
                let line = line.trim();
                if line.is_empty()
                    || line.starts_with(['#', '!'])
                    || line.starts_with(&format!("{ANCHORAGE}/"))
                    || line.contains("..")
                {
                    continue;
                }
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let rel = format!("{DEBIAN_SHARE}/{line}");
                if let Ok(Some(bytes)) = tree.read(&rel) {
                    for d in bundle::digests(&bytes) {
                        out.entry(d)
                            .or_insert_with(|| format!("{DISTRIBUTION} (/{rel})"));
                    }
                }
            }
        }
    } else {
        // The other families' distribution and administrator sources (p11-kit's `.p11-kit`
        // files hold PEM blocks too), read recursively; our own prefixed files are skipped.
        for dir in vendor_dirs(layout.id) {
            walk(tree, layout, dir, true, 0, &mut budget, &mut out);
        }
    }
    out
}

/// Where the non-Debian families' hooks read trust from besides the anchors directory.
fn vendor_dirs(id: PlatformId) -> &'static [&'static str] {
    match id {
        PlatformId::Debian => &[],
        PlatformId::Rhel => &["usr/share/pki/ca-trust-source", "etc/pki/ca-trust/source"],
        PlatformId::Suse => &["usr/share/pki/trust", "etc/pki/trust"],
        PlatformId::Alpine => &["usr/share/ca-certificates"],
        PlatformId::Arch => &[
            "usr/share/ca-certificates/trust-source",
            "etc/ca-certificates/trust-source",
        ],
    }
}

/// The certificates below `rel`. `vendor`: a family's vendor or source directory (read
/// recursively, found certificates are "the distribution bundle (…)"); else the anchors
/// directory as the family's hook reads it.
fn walk(
    tree: &Tree,
    layout: &Layout,
    rel: &str,
    vendor: bool,
    depth: usize,
    budget: &mut usize,
    out: &mut HashMap<[u8; 32], String>,
) {
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
        if name.starts_with('.') {
            continue;
        }
        let child = format!("{rel}/{name}");
        let ours = (depth == 0 && layout.subdir == Some(name.as_str()))
            || (layout.subdir.is_none()
                && name.starts_with(layout.prefix)
                && !layout.prefix.is_empty());
        if ours {
            continue;
        }
        match kind {
            // Debian's hook recurses (and follows links); the others read the anchors
            // directory flat (their vendor directories are trees).
            Kind::Dir if (vendor || layout.subdir.is_some()) && depth + 1 < MAX_DEPTH => {
                walk(tree, layout, &child, vendor, depth + 1, budget, out)
            }
            Kind::File | Kind::Link => {
                if layout.id == PlatformId::Debian && !name.ends_with(".crt") {
                    continue; // Debian's hook reads only `*.crt`; the others any name
                }
                if let Ok(Some(bytes)) = tree.read(&child) {
                    let mut digests = bundle::digests(&bytes);
                    if digests.is_empty() {
                        // A DER file (RHEL's and SUSE's hooks read those too).
                        digests.extend(
                            crate::cert::Certificate::from_der(&bytes, false).map(|c| c.sha256),
                        );
                    }
                    for d in digests {
                        out.entry(d).or_insert_with(|| match vendor {
                            true => format!("{DISTRIBUTION} (/{child})"),
                            false => format!("/{child}"),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// Where `sha` is trusted from, as the note says it. On Debian every source is read (the
/// local directory and the selected distribution files), so a certificate none provides is a
/// leftover of a bundle not rebuilt since its file went: `None`. Elsewhere the family's vendor
/// and source directories are read too, but a trust source they do not show (a p11-kit module,
/// a system-wide policy) may exist: a certificate none provides is "the distribution bundle".
pub fn via(layout: &Layout, sources: &HashMap<[u8; 32], String>, sha: &[u8; 32]) -> Option<String> {
    match sources.get(sha) {
        Some(p) => Some(p.clone()),
        None if layout.id == PlatformId::Debian => None,
        None => Some(DISTRIBUTION.to_string()),
    }
}
