//! The tree's `/etc/ca-certificates/update.d` hooks, run as the script runs them: the names
//! `run-parts --test` lists (`[A-Za-z0-9_-]+`, executable, in C-locale order), one after the
//! other, each with the `+path` lines and then the `-path` lines on stdin, from
//! `/etc/ssl/certs`, with the environment the script has (anchorage's hook environment). A
//! failing hook is reported and the next one runs (`|| echo "E: … exited with code N."`).
//! Under `--root` they run under `chroot`.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::model::HOOKS_DIR;
use crate::error::Result;
use crate::report::UpdateDReport;
use crate::run;
use crate::tree::{Kind, Tree};

/// The hooks `run-parts --test` would list, as paths in the tree (`/etc/…/update.d/NAME`).
pub fn list(tree: &Tree) -> Result<Vec<String>> {
    let Some(dir) = tree.dir(HOOKS_DIR)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, _) in dir.entries()? {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            continue;
        }
        let rel = format!("{HOOKS_DIR}/{name}");
        if tree.kind_following(&rel) != Some(Kind::File) {
            continue;
        }
        // `access(X_OK)` as root: any execute bit of what the name finally names.
        if tree
            .stat_following(&rel)
            .is_some_and(|st| st.st_mode & 0o111 != 0)
        {
            out.push(format!("/{rel}"));
        }
    }
    Ok(out)
}

/// Run `hooks` with `stdin` (the `+`/`-` lines). `chroot`: the tree's root when it is not `/`.
pub fn run(
    hooks: &[String],
    stdin: &[u8],
    chroot: Option<&Path>,
    timeout: Duration,
) -> Vec<UpdateDReport> {
    let mut out = Vec::new();
    for hook in hooks {
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(root) = chroot {
            argv.push("chroot".into());
            argv.push(root.as_os_str().to_owned());
            // chroot changes to the new `/`; the script runs its hooks from /etc/ssl/certs.
            argv.extend(["/bin/sh", "-c", "cd /etc/ssl/certs && exec \"$0\""].map(OsString::from));
        }
        argv.push(hook.into());
        let cwd = chroot.is_none().then_some(Path::new("/etc/ssl/certs"));
        let code = match run::run_with(&argv, timeout, Some(stdin), cwd) {
            Ok(o) => {
                if !o.success() {
                    tracing::warn!(
                        "E: {hook} exited with code {:?}: {}",
                        o.code,
                        o.stderr.trim()
                    );
                }
                o.code
            }
            Err(e) => {
                tracing::warn!("E: {hook}: {e}");
                None
            }
        };
        out.push(UpdateDReport {
            name: hook.clone(),
            exit_code: code,
        });
    }
    out
}
