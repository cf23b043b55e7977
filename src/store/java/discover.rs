//! Where Java truststores are in a tree (`--java-discover`) and the file a path names once the
//! tree's links are followed *inside the tree* (a JDK's `lib/security/cacerts` is often a link
//! to `/etc/ssl/certs/java/cacerts`, absolute: it means that path in the tree, as in a chroot).

use crate::error::{Error, Result};
use crate::tree::{Kind, Tree};

/// At most this many links are followed for one path (the kernel's own limit).
const MAX_LINKS: usize = 40;
/// How deep under /opt an agent's JRE is looked for (`/opt/<agent>/<…>/jre/lib/security`).
const OPT_DEPTH: usize = 4;

/// Fixed places (a JDK's layout, the platforms' shared stores).
const FIXED: &[&str] = &[
    "/etc/ssl/certs/java/cacerts", // Debian/Ubuntu ca-certificates-java
    "/etc/pki/ca-trust/extracted/java/cacerts", // RHEL/Fedora update-ca-trust
    "/opt/java/openjdk/lib/security/cacerts", // Eclipse Temurin images
];

/// A link is followed only when it and the directory that holds it belong to root or to the
/// user running anchorage: anyone else could point it at a store of their choosing (another
/// user's, or the system's) and have anchorage write there for them. As for NSS databases
/// (`store::nss::db::check_safe`: a directory on the way owned by neither root nor the owner
/// is refused), 77, naming the link and its owner.
fn check_owner(dir: &crate::tree::Dir, name: &str) -> Result<()> {
    let euid = rustix::process::geteuid().as_raw();
    let ok = |uid: u32| uid == 0 || uid == euid;
    let holder = dir.stat_self()?.st_uid;
    // Gone since it was read: refused (never assumed to be root's).
    let Some(link) = dir.stat(name)?.map(|st| st.st_uid) else {
        return Err(Error::Unsafe {
            path: dir.join(name),
            msg: "a symbolic link on the way to the Java truststore changed while it was read; refusing to follow it".into(),
        });
    };
    let why = if !ok(link) {
        format!("owned by uid {link}")
    } else if !ok(holder) {
        format!("in a directory owned by uid {holder}")
    } else {
        return Ok(());
    };
    Err(Error::Unsafe {
        path: dir.join(name),
        msg: format!(
            "a symbolic link on the way to the Java truststore, {why} (neither root nor you, uid {euid}), could lead anywhere its owner chooses; refusing to follow it (name the store's real path)"
        ),
    })
}

/// `rel` with every link followed inside the tree: absolute targets from the tree's root,
/// relative ones from the link's directory; `..` may not climb above the root (refused: the
/// link leads outside the tree). A link owned by another user is refused (`check_owner`). The
/// result names no link; a missing component ends it.
pub fn real_path(tree: &Tree, rel: &str) -> Result<String> {
    let mut todo: Vec<String> = rel
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(String::from)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    let outside = || Error::Unsafe {
        path: tree.host(rel),
        msg: "a symbolic link on the way leads outside the tree; refusing to follow it".into(),
    };
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop().ok_or_else(outside)?;
                continue;
            }
            _ => {}
        }
        let parent = format!("/{}", done.join("/"));
        let Some(dir) = tree.dir(&parent)? else {
            done.push(c);
            continue;
        };
        match dir.read_link(&c)? {
            Some(target) => {
                check_owner(&dir, &c)?;
                hops += 1;
                if hops > MAX_LINKS {
                    return Err(Error::Unsafe {
                        path: tree.host(rel),
                        msg: "too many levels of symbolic links".into(),
                    });
                }
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(
                    target
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .rev()
                        .map(String::from),
                );
            }
            None => done.push(c),
        }
    }
    Ok(format!("/{}", done.join("/")))
}

fn is_file(tree: &Tree, rel: &str) -> bool {
    tree.kind_following(rel) == Some(Kind::File)
}

/// Subdirectories of `rel` (not following links: a link to elsewhere is not walked).
fn subdirs(tree: &Tree, rel: &str) -> Vec<String> {
    let Ok(Some(dir)) = tree.dir(rel) else {
        return Vec::new();
    };
    let mut out: Vec<String> = dir
        .entries()
        .unwrap_or_default()
        .into_iter()
        .filter(|(n, k)| *k == Kind::Dir && !n.starts_with('.'))
        .map(|(n, _)| format!("{}/{n}", rel.trim_end_matches('/')))
        .collect();
    out.sort();
    out
}

/// The truststores of the JVMs in the tree, by the path they were found at (de-duplicated by
/// real path by the caller).
pub fn find(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |p: String| {
        if is_file(tree, &p) && !out.contains(&p) {
            out.push(p);
        }
    };
    // The JVMs' own stores first (they name the shared store by a link when they use it).
    for jvm in subdirs(tree, "/usr/lib/jvm") {
        push(format!("{jvm}/lib/security/cacerts"));
        push(format!("{jvm}/jre/lib/security/cacerts"));
    }
    for p in FIXED {
        push((*p).to_string());
    }
    // Agents' bundled JREs under /opt: */lib/security/cacerts, bounded depth.
    let mut level = vec!["/opt".to_string()];
    for _ in 0..OPT_DEPTH {
        let mut next = Vec::new();
        for d in &level {
            for sub in subdirs(tree, d) {
                push(format!("{sub}/lib/security/cacerts"));
                push(format!("{sub}/jre/lib/security/cacerts"));
                next.push(sub);
            }
        }
        level = next;
    }
    out
}
