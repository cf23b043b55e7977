//! Names a managed anchor must not take. Debian's `update-ca-certificates` links every
//! certificate it adds — the distribution's under /usr/share/ca-certificates and the local ones
//! alike — as `/etc/ssl/certs/<file stem>.pem` (`ln -sf`, the last one wins), and `openssl
//! rehash` then hashes the link, not the file: a managed `ISRG_Root_X1.crt` re-points
//! `ISRG_Root_X1.pem` at itself and the real root's hash link is gone (`openssl verify -CApath
//! /etc/ssl/certs` fails for it), while the bundle still holds both. So on a layout with a
//! `links_dir`, the stems already in use there (and the ones the distribution or the
//! administrator could link there) are reserved; planning gives a managed anchor a distinct
//! name, an explicit `--name` that collides is refused, and `doctor` reports a managed name
//! that shadows one. Read-only: directories are walked without following links.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::platform::{self, Layout, ANCHORAGE};

/// How deep the certificate directories are searched (the distribution's is two levels).
const MAX_DEPTH: usize = 8;
/// At most this many entries are looked at in one directory tree (a pathological tree costs
/// bounded time; names past it are simply not reserved).
const MAX_ENTRIES: usize = 100_000;

/// The link name Debian's hook makes for a certificate file `NAME.crt` (its `add`: spaces and
/// commas become `_`, parentheses `=`), without `.pem`.
pub fn link_stem(file_name: &str) -> String {
    file_name
        .strip_suffix(".crt")
        .unwrap_or(file_name)
        .chars()
        .map(|c| match c {
            ' ' | ',' => '_',
            '(' | ')' => '=',
            c => c,
        })
        .collect()
}

/// The link stems in `layout.links_dir` that belong to certificates that are not anchorage's:
/// each stem with the file that uses it (the certificate under /usr/share/ca-certificates or
/// the local directory, or the link itself when it points elsewhere). Empty for layouts
/// without a links directory.
pub fn reserved(root: &Path, layout: &Layout) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let Some(links) = layout.links_dir else {
        return out;
    };
    // Certificate files: the distribution's (every one, selected or not: a `!` line in
    // ca-certificates.conf removes the link of that name, whoever's it is) and the
    // administrator's local ones, both without anchorage's own subdirectory.
    for dir in [platform::DEBIAN_CONF_CERTSDIR, layout.anchors_dir] {
        let base = platform::in_root(root, dir);
        let walk = walkdir::WalkDir::new(&base)
            .follow_links(false)
            .max_depth(MAX_DEPTH)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.depth() == 1 && e.file_name() == ANCHORAGE));
        for e in walk.flatten().take(MAX_ENTRIES) {
            let name = e.file_name().to_string_lossy();
            if e.depth() > 0 && name.ends_with(".crt") && !e.file_type().is_dir() {
                out.entry(link_stem(&name))
                    .or_insert_with(|| e.path().to_path_buf());
            }
        }
    }
    // Links already there that point elsewhere than at anchorage's files.
    let dir = platform::in_root(root, links);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten().take(MAX_ENTRIES) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".pem") else {
                continue;
            };
            let ours = std::fs::read_link(e.path()).is_ok_and(|t| {
                t.parent()
                    .and_then(Path::file_name)
                    .is_some_and(|d| d == ANCHORAGE)
            });
            if !ours {
                out.entry(stem.to_string()).or_insert_with(|| e.path());
            }
        }
    }
    out
}

/// An explicit `--name` (its file-safe form `name`) that would take a reserved link name is
/// refused (exit 2), naming the file it would shadow.
pub fn refuse_reserved(
    root: &Path,
    layout: &Layout,
    raw: &str,
    name: &str,
    reserved: &BTreeMap<String, PathBuf>,
) -> crate::error::Result<()> {
    let Some(owner) = reserved.get(name) else {
        return Ok(());
    };
    let owner = owner.strip_prefix(root).map_or_else(
        |_| owner.display().to_string(),
        |p| format!("/{}", p.display()),
    );
    Err(crate::error::Error::usage_hint(
        format!(
            "--name '{}' would be linked as {}, the name {owner} already uses: the hook would point that link at this anchor and the other certificate would drop out of the hashed directory",
            crate::text_safe::escape(raw),
            link_of(layout, name).unwrap_or_default()
        ),
        "choose another --name, or leave --name out (anchorage then gives the anchor a name of its own)",
    ))
}

/// The link a managed anchor named `name` gets, for messages (`/etc/ssl/certs/NAME.pem`).
pub fn link_of(layout: &Layout, name: &str) -> Option<String> {
    layout.links_dir.map(|d| format!("/{d}/{name}.pem"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{layout, PlatformId};

    #[test]
    fn link_stems_as_debian_mangles_them() {
        assert_eq!(link_stem("ISRG_Root_X1.crt"), "ISRG_Root_X1");
        assert_eq!(link_stem("ACME (Corp), Root.crt"), "ACME_=Corp=__Root");
    }

    #[test]
    fn distribution_local_and_foreign_links_are_reserved_but_ours_are_not() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        for d in [
            "usr/share/ca-certificates/mozilla",
            "usr/share/ca-certificates/anchorage",
            "usr/local/share/ca-certificates/anchorage",
            "usr/local/share/ca-certificates/corp",
            "etc/ssl/certs",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
            "usr/share/ca-certificates/anchorage/Conf_Ours.crt",
            "usr/local/share/ca-certificates/anchorage/Ours.crt",
            "usr/local/share/ca-certificates/corp/Corp Root.crt",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, root.join("etc/ssl/certs").join(name)).unwrap()
        };
        link(
            "/usr/local/share/ca-certificates/anchorage/Ours.crt",
            "Ours.pem",
        );
        link("/opt/vendor/Vendor.crt", "Vendor.pem");
        let r = reserved(root, layout(PlatformId::Debian));
        let names: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(names, ["Corp_Root", "ISRG_Root_X1", "Vendor"]);
        assert!(reserved(root, layout(PlatformId::Rhel)).is_empty());
    }
}
