//! The platform's update hook (`update-ca-certificates`, `update-ca-trust extract`, `trust
//! extract-compat`): which command to run for a tree — the host's when `--root` is `/`, the
//! tree's own under `chroot`, or the host's Debian hook pointed into the tree — and running it
//! once per run. Resolved before the first write, so a missing hook changes nothing.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::platform::{self, Layout, PlatformId};
use crate::report::UpdateDReport;
use crate::request::Refresh;
use crate::run;
use crate::store::native;
use crate::tree::Tree;

mod confine;

/// A resolved hook command.
#[derive(Debug, Clone)]
pub struct Hook {
    pub argv: Vec<OsString>,
    /// The hook's file name, whatever runs it (`update-ca-certificates`, not `chroot`).
    name: String,
    root: PathBuf,
    layout: &'static Layout,
    /// The host's Debian hook pointed into the tree (the tree has no hook of its own): it
    /// runs as host root on paths others may control, so its inputs are checked first and the
    /// tree's update.d scripts are not run by it.
    into_tree: bool,
    /// `--fresh` (anchors were removed).
    fresh: bool,
    /// Native refresh to try (`Auto`: falls back to `argv` when the tree is not modelled).
    native: Option<Refresh>,
}

/// What running the hook gave.
#[derive(Debug, Clone)]
pub struct HookRun {
    pub argv: Vec<String>,
    pub output: run::Output,
    /// Its stderr worth showing as a warning (Debian's rehash noise about the bundle removed).
    pub stderr_note: Option<String>,
    /// The text report's name for what ran.
    pub program: String,
    /// Native refresh: the update.d hooks it ran.
    pub update_d: Vec<UpdateDReport>,
}

impl Hook {
    /// The update command for this tree (`removed`: anchors were removed, Debian needs
    /// `--fresh`), or why there is none.
    pub fn resolve(
        root: &Path,
        layout: &'static Layout,
        removed: bool,
        refresh: Refresh,
    ) -> Result<Hook> {
        let argv = match (command(root, layout, removed), refresh) {
            (Ok(argv), _) => argv,
            // Native refresh needs no hook program (a tree without ca-certificates' script).
            (Err(_), Refresh::Native) if layout.id == PlatformId::Debian => Vec::new(),
            (Err(e), _) => return Err(e),
        };
        let into_tree = argv.iter().any(|a| a == "--etccertsdir");
        let native = choose(root, layout, refresh, &argv, into_tree);
        Ok(Hook {
            argv,
            name: hook_name(layout),
            root: root.to_path_buf(),
            layout,
            into_tree,
            fresh: removed,
            native,
        })
    }

    /// Whether this run refreshes natively (or tries to, under `auto`).
    pub fn native(&self) -> Option<Refresh> {
        self.native
    }

    /// The hook's file name (for the text report).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command shown for the hook: `anchorage native-refresh` when this run refreshes
    /// natively (under `auto`, unless the tree then turns out not to be modelled).
    pub fn display(&self) -> Vec<String> {
        if self.native.is_some() {
            return native::COMMAND.iter().map(|s| s.to_string()).collect();
        }
        display(&self.argv)
    }

    /// Before the run's first write: the host hook pointed into the tree must not be led
    /// out of it by a link (77). Changes nothing.
    pub fn preflight(&self) -> Result<()> {
        // Native refresh resolves every path inside the tree, but a tree the host hook would be
        // led out of is refused either way (and `auto` may still fall back to that hook).
        let tree = Tree::pin(&self.root)?;
        if self.into_tree {
            confine::check(&tree)?;
        }
        if self.native.is_some() {
            tree.check_dir("etc/ssl/certs")?;
        }
        Ok(())
    }

    /// Run it. A failing hook is an error carrying its argv, status and stderr.
    pub fn run(&self, timeout: Duration) -> Result<HookRun> {
        let tree = Tree::pin(&self.root)?;
        if let Some(mode) = self.native {
            match native::plan(&tree, self.fresh) {
                Ok(plan) => return self.run_native(&tree, &plan, timeout),
                Err(why) if mode == Refresh::Auto && !self.argv.is_empty() => {
                    tracing::info!("refresh: the hook ({}): native refresh does not model this tree: {why}", self.name);
                }
                Err(why) => {
                    return Err(Error::Failed {
                        msg: format!("native refresh cannot reproduce update-ca-certificates in this tree: {why}"),
                        path: Some(tree.host("etc/ssl/certs")),
                        hint: Some("nothing in /etc/ssl/certs was written; run with --refresh hook".into()),
                    })
                }
            }
        }
        // Debian's hook needs the target directory of its links to exist.
        if self.layout.id == PlatformId::Debian {
            tree.ensure_dir("etc/ssl/certs")?;
        }
        let mut argv = self.argv.clone();
        // The tree's update.d scripts would run as host root outside any chroot: the host
        // hook gets an empty hooks directory instead, and the report says what was skipped.
        let mut skipped = Vec::new();
        let _empty = if self.into_tree {
            confine::check(&tree)?;
            native::links::to_host_paths(&tree)?;
            skipped = confine::tree_hooks(&tree);
            let empty = tempfile::tempdir()
                .map_err(|e| Error::io("cannot create a directory", std::env::temp_dir(), e))?;
            if let Some(i) = argv.iter().position(|a| a == "--hooksdir") {
                if let Some(v) = argv.get_mut(i + 1) {
                    *v = empty.path().as_os_str().to_owned();
                }
            }
            Some(empty)
        } else {
            None
        };
        let shown = display(&argv).join(" ");
        tracing::debug!("hook: running {shown}");
        let started = std::time::Instant::now();
        let output = run::run(&argv, timeout)?;
        tracing::debug!(
            "hook: {} ended with {:?} after {:.3}s",
            self.name,
            output.code,
            started.elapsed().as_secs_f64()
        );
        // Debian's rehash always complains about the bundle itself sitting in /etc/ssl/certs.
        let noise = "does not contain exactly one certificate or CRL";
        let stderr: Vec<&str> = output
            .stderr
            .lines()
            .filter(|l| !l.contains(noise))
            .collect();
        let stderr = stderr.join("\n");
        let stderr = stderr.trim();
        let mut note = stderr.to_string();
        if !skipped.is_empty() {
            if !note.is_empty() {
                note.push('\n');
            }
            note.push_str(&format!(
                "the tree's update.d hooks were not run ({}): the host's {} would run them as host root outside the tree; run them inside it (chroot {} update-ca-certificates) or install ca-certificates in the tree",
                skipped.join(", "),
                self.name,
                self.root.display()
            ));
        }
        if self.into_tree && output.success() {
            // The host hook wrote host paths (T/usr/share/…): make them the tree's own.
            let n = native::links::rewrite_host_links(&tree)?;
            tracing::debug!("hook: {n} link(s) rewritten to paths inside the tree");
        }
        let stderr_note = (output.success() && !note.is_empty()).then_some(note);
        Ok(HookRun {
            argv: output.argv.clone(),
            output,
            stderr_note,
            program: self.name.clone(),
            update_d: Vec::new(),
        })
    }

    fn run_native(&self, tree: &Tree, plan: &native::Plan, timeout: Duration) -> Result<HookRun> {
        let started = std::time::Instant::now();
        // The host hook pointed into a tree does not run the tree's update.d scripts (they
        // would run as host root outside it); native refresh keeps that rule for such trees.
        let done = native::write(tree, plan, !self.into_tree, timeout)?;
        tracing::debug!(
            "native refresh: {} added, {} removed after {:.3}s",
            done.added,
            done.removed,
            started.elapsed().as_secs_f64()
        );
        let argv: Vec<String> = native::COMMAND.iter().map(|s| s.to_string()).collect();
        let failed: Vec<String> = done
            .update_d
            .iter()
            .filter(|h| h.exit_code != Some(0))
            .map(|h| format!("E: {} exited with code {:?}.", h.name, h.exit_code))
            .collect();
        let mut note = failed.join("\n");
        if self.into_tree {
            let skipped = confine::tree_hooks(tree);
            if !skipped.is_empty() {
                if !note.is_empty() {
                    note.push('\n');
                }
                note.push_str(&format!(
                    "the tree's update.d hooks were not run ({}): the tree has no update-ca-certificates of its own; run them inside it",
                    skipped.join(", ")
                ));
            }
        }
        Ok(HookRun {
            argv: argv.clone(),
            output: run::Output {
                argv,
                code: Some(0),
                stdout: String::new(),
                stderr: String::new(),
                timed_out: false,
            },
            stderr_note: (!note.is_empty()).then_some(note),
            program: "native refresh".into(),
            update_d: done.update_d,
        })
    }
}

/// `--refresh`: native refresh for the Debian family when asked, or under `auto` when the
/// script that would run is one native refresh was proven against.
fn choose(
    root: &Path,
    layout: &Layout,
    refresh: Refresh,
    argv: &[OsString],
    into_tree: bool,
) -> Option<Refresh> {
    if layout.id != PlatformId::Debian || refresh == Refresh::Hook {
        return None;
    }
    if refresh == Refresh::Native {
        tracing::info!("refresh: native (--refresh native)");
        return Some(Refresh::Native);
    }
    // The script that would run: the host's pointed into the tree, or the tree's own.
    let script = if into_tree {
        argv.first().and_then(|p| fs::read(p).ok())
    } else {
        Tree::pin(root)
            .ok()
            .and_then(|t| t.read(layout.hook_path).ok().flatten())
    };
    match script.as_deref().and_then(native::proven) {
        Some(label) => {
            tracing::info!("refresh: native (update-ca-certificates is {label})");
            Some(Refresh::Auto)
        }
        None => {
            tracing::info!(
                "refresh: the hook (update-ca-certificates is not a version native refresh was proven against)"
            );
            None
        }
    }
}

pub fn display(argv: &[OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn hook_name(l: &Layout) -> String {
    Path::new(l.hook_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn command(root: &Path, l: &'static Layout, removed: bool) -> Result<Vec<OsString>> {
    let hook_name = hook_name(l);
    let mut args: Vec<OsString> = l.hook_args.iter().map(OsString::from).collect();
    if removed {
        args.extend(l.hook_remove_args.iter().map(OsString::from));
    }
    let host_root = fs::canonicalize(root)
        .map(|p| p == Path::new("/"))
        .unwrap_or(false);
    if host_root {
        let path = run::find_in(&hook_name, run::SAFE_PATH)
            .ok_or_else(|| missing(root, l, &hook_name, None))?;
        let mut argv = vec![path.into_os_string()];
        argv.extend(args);
        return Ok(argv);
    }
    let tree_hook = platform::in_root(root, l.hook_path);
    let tree_shell = platform::in_root(root, "bin/sh");
    if tree_hook.is_file() && tree_shell.exists() {
        let chroot =
            run::find_in("chroot", run::SAFE_PATH).ok_or_else(|| Error::MissingProgram {
                program: "chroot".into(),
                in_tree: None,
                hint: Some("install coreutils".into()),
            })?;
        let mut argv = vec![
            chroot.into_os_string(),
            root.to_path_buf().into_os_string(),
            format!("/{}", l.hook_path).into(),
        ];
        argv.extend(args);
        return Ok(argv);
    }
    if l.id == PlatformId::Debian {
        if let Some(host) = run::find_in("update-ca-certificates", run::SAFE_PATH) {
            let r = |rel: &str| platform::in_root(root, rel).into_os_string();
            let mut argv = vec![host.into_os_string()];
            for (flag, rel) in [
                ("--certsconf", "etc/ca-certificates.conf"),
                ("--certsdir", "usr/share/ca-certificates"),
                ("--localcertsdir", "usr/local/share/ca-certificates"),
                ("--etccertsdir", "etc/ssl/certs"),
                ("--hooksdir", "etc/ca-certificates/update.d"),
            ] {
                argv.push(flag.into());
                argv.push(r(rel));
            }
            argv.extend(args);
            return Ok(argv);
        }
    }
    Err(missing(root, l, &hook_name, Some(root.to_path_buf())))
}

fn missing(root: &Path, l: &Layout, hook: &str, in_tree: Option<PathBuf>) -> Error {
    Error::MissingProgram {
        program: hook.to_string(),
        in_tree,
        hint: Some(format!(
            "install the `{}` package{}, or pass --no-update and run the hook yourself",
            l.hook_package,
            if root == Path::new("/") {
                ""
            } else {
                " in the tree"
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_the_hook_not_chroot() {
        let t = tempfile::tempdir().unwrap();
        for f in ["usr/sbin/update-ca-certificates", "bin/sh"] {
            let p = t.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "").unwrap();
        }
        let layout = platform::layout(PlatformId::Debian);
        let hook = Hook::resolve(t.path(), layout, false, Refresh::Hook).unwrap();
        assert!(
            hook.display()[0].ends_with("chroot"),
            "{:?}",
            hook.display()
        );
        assert_eq!(hook.name(), "update-ca-certificates");
    }
}
