//! User and group lookup in the *target tree's* /etc/passwd and /etc/group (like
//! `useradd --root`): the host's users are never consulted for a --root tree.

use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// A file of the tree, read as the tree's programs see it (links resolved inside the tree).
fn read_tree_file(root: &Path, rel: &str) -> Option<String> {
    let bytes = crate::tree::Tree::pin(root).ok()?.read(rel).ok()??;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn passwd(root: &Path) -> Vec<User> {
    let Some(text) = read_tree_file(root, "etc/passwd") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 || l.starts_with('#') {
                return None;
            }
            Some(User {
                name: f[0].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].into(),
            })
        })
        .collect()
}

fn group_gid(root: &Path, name: &str) -> Option<u32> {
    let text = read_tree_file(root, "etc/group")?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

/// Split `--nss-owner` into user and group. `U:G` is user U, group G. Without a colon, `.` is
/// chown's old separator (the vendor guide writes `browserbot.browserbot`) — but only when no
/// user of that exact name exists: user names may contain dots (`john.doe`), and an exact name
/// wins, as with GNU chown. The split is at the first separator.
fn split_spec<'a>(spec: &'a str, users: &[User]) -> (&'a str, Option<&'a str>) {
    if let Some((u, g)) = spec.split_once(':') {
        return (u, Some(g));
    }
    if users.iter().any(|u| u.name == spec) {
        return (spec, None);
    }
    match spec.split_once('.') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    }
}

/// Resolve `USER[:GROUP]` or `USER.GROUP` (names or numeric ids; see `split_spec`) in the
/// tree. A user without a group gets the user's primary group.
pub fn resolve_owner(root: &Path, spec: &str) -> Result<(u32, u32)> {
    let users = passwd(root);
    let (user, group) = split_spec(spec, &users);
    let where_ = || root.join("etc/passwd");
    let (uid, primary) = if let Ok(uid) = user.parse::<u32>() {
        (uid, users.iter().find(|u| u.uid == uid).map(|u| u.gid))
    } else {
        let u = users.iter().find(|u| u.name == user).ok_or_else(|| {
            // `a.b` was split at the dot only because no user `a.b` exists: say both.
            let which = if group.is_some() && !spec.contains(':') {
                format!("neither user '{spec}' nor user '{user}'")
            } else {
                format!("user '{user}' not")
            };
            Error::usage_hint(
                format!("--nss-owner: {which} found in {}", where_().display()),
                "create the user in the tree first (useradd --root), or give a numeric UID:GID",
            )
        })?;
        (u.uid, Some(u.gid))
    };
    let gid = match group {
        Some(g) if !g.is_empty() => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_gid(root, g).ok_or_else(|| {
                Error::usage_hint(
                    format!(
                        "--nss-owner: group '{g}' not found in {}",
                        root.join("etc/group").display()
                    ),
                    "create the group in the tree first (groupadd --root), or give a numeric GID",
                )
            })?,
        },
        _ => primary.ok_or_else(|| {
            Error::usage_hint(
                format!(
                    "--nss-owner: uid {uid} has no entry in {}",
                    where_().display()
                ),
                "give the group too: --nss-owner UID:GID",
            )
        })?,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_in_the_tree() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\nbrowserbot:x:4242:4343::/var/lib/te-browserbot:/bin/false\n").unwrap();
        std::fs::write(
            t.path().join("etc/group"),
            "root:x:0:\nbrowserbot:x:4343:\nops:x:5000:\n",
        )
        .unwrap();
        assert_eq!(resolve_owner(t.path(), "browserbot").unwrap(), (4242, 4343));
        assert_eq!(
            resolve_owner(t.path(), "browserbot.browserbot").unwrap(),
            (4242, 4343)
        );
        assert_eq!(
            resolve_owner(t.path(), "browserbot:ops").unwrap(),
            (4242, 5000)
        );
        assert_eq!(resolve_owner(t.path(), "1234:99").unwrap(), (1234, 99));
        assert!(resolve_owner(t.path(), "nobody-here").is_err());
    }

    #[test]
    fn an_exact_user_name_with_a_dot_wins_over_the_dot_split() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "john:x:1000:1000::/home/john:/bin/sh\njohn.doe:x:1001:1002::/home/jd:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("etc/group"),
            "john:x:1000:\ndoe:x:1003:\njd:x:1002:\n",
        )
        .unwrap();
        assert_eq!(resolve_owner(t.path(), "john.doe").unwrap(), (1001, 1002));
        assert_eq!(
            resolve_owner(t.path(), "john.doe:doe").unwrap(),
            (1001, 1003)
        );
        // No user `john.jd`: the dot separates user and group.
        assert_eq!(resolve_owner(t.path(), "john.jd").unwrap(), (1000, 1002));
        assert_eq!(resolve_owner(t.path(), "1000.1003").unwrap(), (1000, 1003));
    }
}
