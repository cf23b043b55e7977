//! One NSS database (Chromium, Firefox, agents' BrowserBot) and the guide-003 steps on it
//! (`certutil -N`, `certutil -A -t "C,,"`, `certutil -D`, `chown -R`); every certutil run goes
//! through `run` (argv, never a shell). Finding databases (`--nss-discover`) is here too.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::run;
use crate::tree::{Dir, Kind, Tree};

/// Nicknames of entries anchorage added start with this.
pub const NICK_PREFIX: &str = "anchorage-";
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// cert9.db (the sql: format).
    Sql,
    /// cert8.db only (legacy dbm): reported, used as is, never converted.
    Dbm,
    /// Nothing there yet.
    Missing,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub nickname: String,
    pub trust: String,
    pub cert: Certificate,
}

impl Entry {
    pub fn ours(&self) -> bool {
        self.nickname.starts_with(NICK_PREFIX)
    }
}

/// One database: `rel` is the path as the user names it inside --root ("/var/lib/x/.pki/nssdb").
#[derive(Debug, Clone)]
pub struct NssDb {
    pub rel: String,
    pub abs: PathBuf,
    pub discovered: bool,
    tree: Arc<Tree>,
}

/// The database files certutil opens.
const DB_FILES: [&str; 6] = [
    "cert9.db",
    "key4.db",
    "pkcs11.txt",
    "cert8.db",
    "key3.db",
    "secmod.db",
];

pub fn nickname(name: &str) -> String {
    format!("{NICK_PREFIX}{name}")
}

impl NssDb {
    /// The database at `dir` (a path inside the tree as the user gave it). A path with `..`
    /// is refused (77) before anything is written: it could leave the tree.
    pub fn new(root: &Path, dir: &str, discovered: bool) -> Result<NssDb> {
        let rel = format!(
            "/{}",
            crate::tree::normalise_user_path("--nssdb", dir.trim_end_matches('/'))?
        );
        let tree = Tree::pin(root)?;
        Ok(NssDb {
            abs: tree.host(&rel),
            rel,
            discovered,
            tree,
        })
    }

    pub fn label(&self) -> String {
        format!("nss:{}", self.rel)
    }

    /// The database directory, opened without following a link in any component; `None`
    /// when it does not exist yet.
    pub fn dir(&self) -> Result<Option<Dir>> {
        self.tree.dir(&self.rel)
    }

    pub fn kind(&self) -> DbKind {
        let Ok(Some(dir)) = self.dir() else {
            return DbKind::Missing;
        };
        let has = |f: &str| dir.stat(f).ok().flatten().is_some();
        if has("cert9.db") {
            DbKind::Sql
        } else if has("cert8.db") {
            DbKind::Dbm
        } else {
            DbKind::Missing
        }
    }

    /// The `-d` argument for certutil and the descriptor that makes it valid: certutil works
    /// in the directory we opened and checked (`/proc/self/fd/N`, inherited), whatever
    /// happens to the path after the check.
    fn spec(&self) -> Result<(OsString, OwnedFd)> {
        let dir = self.dir()?.ok_or_else(|| {
            Error::io(
                "cannot open the NSS database",
                &self.abs,
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
        let prefix = if self.kind() == DbKind::Dbm {
            "dbm:"
        } else {
            "sql:"
        };
        let (fd, path) = dir.inherit()?;
        let mut s = OsString::from(prefix);
        s.push(path.as_os_str());
        Ok((s, fd))
    }

    /// Refuse databases reached through a link (any component), whose files are links
    /// (certutil would follow them), or — when the run will give the database to `owner` —
    /// with a directory on the way owned by someone other than root or that owner (they could
    /// swap it for a link to another user's database).
    pub fn check_safe(&self, owner: Option<(u32, u32)>) -> Result<()> {
        let mut prefix = String::new();
        for comp in self.rel.split('/').filter(|c| !c.is_empty()) {
            prefix.push('/');
            prefix.push_str(comp);
            let Some(dir) = self.tree.dir(&prefix)? else {
                break;
            };
            if let Some((uid, _)) = owner {
                let st = dir.stat_self()?;
                if st.st_uid != 0 && st.st_uid != uid {
                    return Err(Error::Unsafe {
                        path: dir.path().to_path_buf(),
                        msg: format!(
                            "on the way to the NSS database and owned by uid {}, neither root nor the database's owner (uid {uid}); refusing to chown through it",
                            st.st_uid
                        ),
                    });
                }
            }
        }
        let Some(dir) = self.dir()? else {
            return Ok(());
        };
        for f in DB_FILES {
            if let Some(st) = dir.stat(f)? {
                if Kind::of(&st) != Kind::File {
                    return Err(Error::Unsafe {
                        path: dir.join(f),
                        msg: format!(
                            "refusing to use an NSS database file that is {}",
                            Kind::of(&st).describe()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Entries of the database, each with its certificate(s).
    pub fn entries(&self, certutil: &Path) -> Result<Vec<Entry>> {
        if self.kind() == DbKind::Missing {
            return Ok(Vec::new());
        }
        let (spec, _fd) = self.spec()?;
        let out = certutil_run(certutil, vec!["-L".into(), "-d".into(), spec.clone()])?;
        let mut entries = Vec::new();
        let mut seen_nicks = HashMap::new();
        for line in out.stdout.lines().skip(3) {
            let trimmed = line.trim_end();
            let Some((nick, trust)) = trimmed.rsplit_once(char::is_whitespace) else {
                continue;
            };
            if trust.matches(',').count() != 2 {
                continue;
            }
            let nick = nick.trim_end().to_string();
            if nick.is_empty() || seen_nicks.insert(nick.clone(), ()).is_some() {
                continue;
            }
            let pem = certutil_run(
                certutil,
                vec![
                    "-L".into(),
                    "-d".into(),
                    spec.clone(),
                    "-n".into(),
                    nick.clone().into(),
                    "-a".into(),
                ],
            )?;
            if let Ok(decoded) = crate::input::decode(pem.stdout.as_bytes(), None) {
                for cert in decoded.certs {
                    entries.push(Entry {
                        nickname: nick.clone(),
                        trust: trust.to_string(),
                        cert,
                    });
                }
            }
        }
        Ok(entries)
    }

    /// Create the directory and the database, one component at a time relative to the
    /// tree's handle and never through a link. The database directory and its immediate
    /// parent (the `.pki` of `~/.pki/nssdb`) are created 0700, like Chromium does; other
    /// missing parents 0755. Returns the directories created (paths inside the tree).
    pub fn create(&self, certutil: &Path) -> Result<Vec<String>> {
        let mut created = Vec::new();
        let comps: Vec<&str> = self.rel.split('/').filter(|c| !c.is_empty()).collect();
        let mut cur = self.tree.ensure_dir("")?;
        let mut prefix = String::new();
        for (i, comp) in comps.iter().enumerate() {
            prefix.push('/');
            prefix.push_str(comp);
            cur = match cur.subdir(comp)? {
                Some(d) => d,
                None => {
                    let private = i + 2 >= comps.len();
                    created.push(prefix.clone());
                    cur.ensure_subdir(comp, if private { 0o700 } else { 0o755 })?
                }
            };
        }
        self.check_safe(None)?;
        if self.kind() == DbKind::Missing {
            let (path_fd, path) = cur.inherit()?;
            let mut spec = OsString::from("sql:");
            spec.push(path.as_os_str());
            let args: Vec<OsString> =
                vec!["-N".into(), "--empty-password".into(), "-d".into(), spec];
            certutil_run(certutil, args)?;
            drop(path_fd);
        }
        Ok(created)
    }

    pub fn add(&self, certutil: &Path, nick: &str, cert: &Certificate) -> Result<()> {
        let tmp = tempfile::Builder::new()
            .prefix(".anchorage-")
            .suffix(".pem")
            .tempfile()
            .map_err(|e| Error::io("cannot create temporary file", std::env::temp_dir(), e))?;
        std::fs::write(tmp.path(), cert.to_pem())
            .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
        let (spec, _fd) = self.spec()?;
        let args: Vec<OsString> = vec![
            "-A".into(),
            "-d".into(),
            spec,
            "-n".into(),
            nick.into(),
            "-t".into(),
            "C,,".into(),
            "-i".into(),
            tmp.path().as_os_str().to_owned(),
        ];
        certutil_run(certutil, args).map(|_| ())
    }

    pub fn delete(&self, certutil: &Path, nick: &str) -> Result<()> {
        let (spec, _fd) = self.spec()?;
        certutil_run(
            certutil,
            vec!["-D".into(), "-d".into(), spec, "-n".into(), nick.into()],
        )
        .map(|_| ())
    }

    /// Give the database to `owner` through the opened directories, never following a link:
    /// the directory, the regular files in it, and its parent when anchorage created it
    /// (`chown -R …/.pki` of the guide). Links are skipped, never chowned or followed.
    pub fn chown(&self, owner: (u32, u32), created: &[String]) -> Result<()> {
        let (uid, gid) = owner;
        self.check_safe(Some(owner))?;
        if let Some((parent, _)) = self.rel.rsplit_once('/') {
            if created.iter().any(|c| c == parent) {
                if let Some(p) = self.tree.dir(parent)? {
                    p.chown_self(uid, gid)?;
                }
            }
        }
        let Some(dir) = self.dir()? else {
            return Ok(());
        };
        dir.chown_self(uid, gid)?;
        for (name, kind) in dir.entries()? {
            if kind == Kind::File {
                dir.chown(&name, uid, gid)?;
            }
        }
        Ok(())
    }

    /// The owner of the directory (to keep discovered databases' files with their owner).
    pub fn owner(&self) -> Option<(u32, u32)> {
        let dir = self.dir().ok().flatten()?;
        dir.stat_self().ok().map(|st| (st.st_uid, st.st_gid))
    }

    /// Database files that `owner` cannot read (for doctor).
    pub fn unreadable_by(&self, owner: (u32, u32)) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(Some(dir)) = self.dir() else {
            return out;
        };
        for f in ["cert9.db", "key4.db", "pkcs11.txt"] {
            let Ok(Some(m)) = dir.stat(f) else {
                continue;
            };
            let mode = m.st_mode;
            let readable = owner.0 == 0
                || (m.st_uid == owner.0 && mode & 0o400 != 0)
                || (m.st_gid == owner.1 && mode & 0o040 != 0)
                || mode & 0o004 != 0;
            if !readable {
                out.push(format!(
                    "{} ({:o} {}:{})",
                    dir.join(f).display(),
                    mode & 0o777,
                    m.st_uid,
                    m.st_gid
                ));
            }
        }
        out
    }
}

fn certutil_run(certutil: &Path, args: Vec<OsString>) -> Result<run::Output> {
    let mut argv = vec![certutil.as_os_str().to_owned()];
    argv.extend(args);
    let out = run::run(&argv, TIMEOUT)?;
    if !out.success() {
        return Err(out.into_error("see certutil's message above"));
    }
    Ok(out)
}

/// Find certutil in the caller's PATH (then the safe PATH); missing → 69 naming the package.
pub fn find_certutil(package: &str) -> Result<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    run::find_in("certutil", &path).ok_or_else(|| Error::MissingProgram {
        program: "certutil".into(),
        in_tree: None,
        hint: Some(format!(
            "install the `{package}` package (for example `apt-get install {package}`)"
        )),
    })
}

/// Existing databases of every user with a home in the tree's passwd, and /etc/pki/nssdb.
pub fn discover(root: &Path) -> Vec<NssDb> {
    let mut found = Vec::new();
    let mut homes: Vec<String> = crate::users::passwd(root)
        .into_iter()
        .map(|u| u.home)
        .filter(|h| h.starts_with('/') && h != "/" && !h.contains("nonexistent"))
        .collect();
    homes.sort();
    homes.dedup();
    // A home path with `..`, or a database reached through a link, is not discovered.
    let push = |found: &mut Vec<NssDb>, rel: String| {
        let Ok(db) = NssDb::new(root, &rel, true) else {
            return;
        };
        if db.dir().is_ok()
            && db.kind() != DbKind::Missing
            && !found.iter().any(|f: &NssDb| f.abs == db.abs)
        {
            found.push(db);
        }
    };
    for home in &homes {
        for sub in [
            ".pki/nssdb",
            ".local/share/pki/nssdb",
            "snap/chromium/current/.pki/nssdb",
        ] {
            push(&mut found, format!("{home}/{sub}"));
        }
        for ff in [
            ".mozilla/firefox",
            "snap/firefox/common/.mozilla/firefox",
            ".config/mozilla/firefox",
        ] {
            let Ok(tree) = Tree::pin(root) else {
                continue;
            };
            let Ok(Some(dir)) = tree.dir(&format!("{home}/{ff}")) else {
                continue;
            };
            let mut profiles: Vec<String> = dir
                .entries()
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, k)| *k == Kind::Dir)
                .map(|(n, _)| format!("{home}/{ff}/{n}"))
                .collect();
            profiles.sort();
            for p in profiles {
                push(&mut found, p);
            }
        }
    }
    push(&mut found, "/etc/pki/nssdb".into());
    found
}
