//! One NSS database (Chromium, Firefox, agents' BrowserBot) and the guide-003 steps on it
//! (`certutil -N`, `certutil -A -t "C,,"`, `certutil -D`, `chown -R`); every certutil run goes
//! through `run` (argv, never a shell). Finding databases (`--nss-discover`) is here too.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::fsx;
use crate::run;

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
}

pub fn nickname(name: &str) -> String {
    format!("{NICK_PREFIX}{name}")
}

impl NssDb {
    pub fn new(root: &Path, dir: &str, discovered: bool) -> NssDb {
        let rel = format!("/{}", dir.trim_start_matches('/').trim_end_matches('/'));
        NssDb {
            abs: root.join(rel.trim_start_matches('/')),
            rel,
            discovered,
        }
    }

    pub fn label(&self) -> String {
        format!("nss:{}", self.rel)
    }

    pub fn kind(&self) -> DbKind {
        if self.abs.join("cert9.db").exists() {
            DbKind::Sql
        } else if self.abs.join("cert8.db").exists() {
            DbKind::Dbm
        } else {
            DbKind::Missing
        }
    }

    fn spec(&self) -> OsString {
        let prefix = if self.kind() == DbKind::Dbm {
            "dbm:"
        } else {
            "sql:"
        };
        let mut s = OsString::from(prefix);
        s.push(self.abs.as_os_str());
        s
    }

    /// Refuse databases whose directory or files are links (certutil would follow them) or
    /// that resolve outside the root.
    pub fn check_safe(&self, root: &Path) -> Result<()> {
        if !self.abs.exists() {
            return Ok(());
        }
        fsx::check_dir(root, &self.abs)?;
        for f in [
            "cert9.db",
            "key4.db",
            "pkcs11.txt",
            "cert8.db",
            "key3.db",
            "secmod.db",
        ] {
            let p = self.abs.join(f);
            if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Error::Unsafe {
                    path: p,
                    msg: "refusing to use an NSS database file that is a symbolic link".into(),
                });
            }
        }
        Ok(())
    }

    /// Entries of the database, each with its certificate(s).
    pub fn entries(&self, certutil: &Path) -> Result<Vec<Entry>> {
        if self.kind() == DbKind::Missing {
            return Ok(Vec::new());
        }
        let out = certutil_run(certutil, vec!["-L".into(), "-d".into(), self.spec()])?;
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
                    self.spec(),
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

    /// Create the directory and the database. The database directory and its immediate parent
    /// (the `.pki` of `~/.pki/nssdb`) are created 0700, like Chromium does; other missing
    /// parents 0755. Returns the directories created.
    pub fn create(&self, root: &Path, certutil: &Path) -> Result<Vec<PathBuf>> {
        let mut created = Vec::new();
        let rel = self.rel.trim_start_matches('/');
        let mut cur = root.to_path_buf();
        for comp in Path::new(rel).components() {
            cur.push(comp);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::Unsafe {
                        path: cur,
                        msg: "refusing to create a database through a symbolic link".into(),
                    })
                }
                Ok(_) => {}
                Err(_) => {
                    let private = cur == self.abs || Some(cur.as_path()) == self.abs.parent();
                    let mode = if private { 0o700 } else { 0o755 };
                    fs::DirBuilder::new()
                        .mode(mode)
                        .create(&cur)
                        .map_err(|e| Error::io("cannot create directory", &cur, e))?;
                    fs::set_permissions(&cur, fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::io("cannot set mode", &cur, e))?;
                    created.push(cur.clone());
                }
            }
        }
        self.check_safe(root)?;
        if self.kind() == DbKind::Missing {
            let mut args: Vec<OsString> = vec!["-N".into(), "--empty-password".into(), "-d".into()];
            let mut spec = OsString::from("sql:");
            spec.push(self.abs.as_os_str());
            args.push(spec);
            certutil_run(certutil, args)?;
        }
        Ok(created)
    }

    pub fn add(&self, certutil: &Path, nick: &str, cert: &Certificate) -> Result<()> {
        let tmp = tempfile::Builder::new()
            .prefix(".anchorage-")
            .suffix(".pem")
            .tempfile()
            .map_err(|e| Error::io("cannot create temporary file", std::env::temp_dir(), e))?;
        fs::write(tmp.path(), cert.to_pem())
            .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
        let args: Vec<OsString> = vec![
            "-A".into(),
            "-d".into(),
            self.spec(),
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
        certutil_run(
            certutil,
            vec![
                "-D".into(),
                "-d".into(),
                self.spec(),
                "-n".into(),
                nick.into(),
            ],
        )
        .map(|_| ())
    }

    /// Give the database to `owner` without following links: the directory, the regular files
    /// in it, and its parent when anchorage created it (`chown -R …/.pki` of the guide). Links
    /// are skipped, never chowned or followed.
    pub fn chown(&self, owner: (u32, u32), created: &[PathBuf]) -> Result<()> {
        let (uid, gid) = owner;
        if let Some(parent) = self.abs.parent() {
            if created.iter().any(|c| c == parent) {
                fsx::chown_nofollow(parent, uid, gid)?;
            }
        }
        fsx::chown_nofollow(&self.abs, uid, gid)?;
        let entries =
            fs::read_dir(&self.abs).map_err(|e| Error::io("cannot read", &self.abs, e))?;
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_file() {
                fsx::chown_nofollow(&p, uid, gid)?;
            }
        }
        Ok(())
    }

    /// The owner of the directory (to keep discovered databases' files with their owner).
    pub fn owner(&self) -> Option<(u32, u32)> {
        fs::symlink_metadata(&self.abs)
            .ok()
            .map(|m| (m.uid(), m.gid()))
    }

    /// Database files that `owner` cannot read (for doctor).
    pub fn unreadable_by(&self, owner: (u32, u32)) -> Vec<String> {
        let mut out = Vec::new();
        for f in ["cert9.db", "key4.db", "pkcs11.txt"] {
            let p = self.abs.join(f);
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            let mode = m.mode();
            let readable = owner.0 == 0
                || (m.uid() == owner.0 && mode & 0o400 != 0)
                || (m.gid() == owner.1 && mode & 0o040 != 0)
                || mode & 0o004 != 0;
            if !readable {
                out.push(format!(
                    "{} ({:o} {}:{})",
                    p.display(),
                    mode & 0o777,
                    m.uid(),
                    m.gid()
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
    let push = |found: &mut Vec<NssDb>, rel: String| {
        let db = NssDb::new(root, &rel, true);
        if db.kind() != DbKind::Missing && !found.iter().any(|f: &NssDb| f.abs == db.abs) {
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
            let dir = root.join(home.trim_start_matches('/')).join(ff);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut profiles: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| format!("{home}/{ff}/{}", e.file_name().to_string_lossy()))
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
