//! Native refresh for Debian's `update-ca-certificates` (`--refresh native|auto`): anchorage
//! produces the script's result itself — the `NAME.pem` links, the OpenSSL hash links,
//! `ca-certificates.crt` — and then runs the tree's `update.d` hooks as the script would.
//!
//! The script is simulated on a value (`model`, `script`, `rehash`); only the difference
//! between `/etc/ssl/certs` before and after is written (links atomically, the bundle by
//! rename, mode 0644). Whatever the simulation does not model is `Unsupported`: `auto` then
//! runs the real hook, `native` stops before writing. Proven byte-identical to the real
//! script by tests/it/refresh.rs.

pub mod hash;
pub mod links;
mod model;
mod rehash;
mod script;
mod updated;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::report::UpdateDReport;
use crate::tree::{Attrs, Tree};

pub use model::HOOKS_DIR;

/// The `update-ca-certificates` scripts native refresh was proven to reproduce, by the
/// SHA-256 of the script: `auto` refreshes natively only for these.
pub const PROVEN: &[(&str, &str)] = &[
    // Debian 12 (bookworm), ca-certificates 20230311 and 20230311+deb12u1 (same script).
    (
        "395364bffc7ce85ccbe2de71215f9c6c85c024af3bbd991c75a01c2d2aa3080a",
        "ca-certificates 20230311 (Debian 12)",
    ),
    // Debian 12's bookworm-updates, ca-certificates 20250419~deb12u2: the same script plus an
    // unused `--sysroot` option, `read -r` and quoted `rm -f "$symlink"` / `find
    // "$ETCCERTSDIR"`. The model already refuses every name where `read` and `read -r` differ
    // (backslashes, surrounding blanks) and removes links by their whole name as the quoted
    // `rm` does; tests/it/refresh.rs compares against whichever script the host has.
    (
        "2cb06c85b5f01c4f6b72c3983d9f66d44aac0a7ac997ee55e7e429aedbc3934d",
        "ca-certificates 20250419~deb12u2 (Debian 12 bookworm-updates)",
    ),
];

/// The command shown for a native refresh (JSON `hook.command`).
pub const COMMAND: [&str; 2] = ["anchorage", "native-refresh"];

/// The version native refresh knows `script` as, if any.
pub fn proven(script: &[u8]) -> Option<&'static str> {
    let digest = hex::encode(Sha256::digest(script));
    PROVEN
        .iter()
        .find(|(sha, _)| *sha == digest)
        .map(|(_, label)| *label)
}

/// Something in the tree the simulation does not model (the reason, for `-v` and errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl Unsupported {
    pub fn new(msg: impl Into<String>) -> Unsupported {
        Unsupported(msg.into())
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a native refresh will write: computed before the first write.
#[derive(Debug)]
pub struct Plan {
    before: model::Model,
    outcome: script::Outcome,
}

/// Simulate the script (`fresh`: `--fresh`, as the hook is run after removals).
pub fn plan(tree: &Tree, fresh: bool) -> std::result::Result<Plan, Unsupported> {
    let before = match tree.dir(model::ETC_CERTS) {
        Ok(Some(dir)) => model::Model::read(&dir).map_err(|e| Unsupported::new(e.to_string()))?,
        Ok(None) => model::Model {
            entries: Default::default(),
        },
        Err(e) => return Err(Unsupported::new(e.to_string())),
    };
    let outcome = script::simulate(tree, before.clone(), fresh)?;
    Ok(Plan { before, outcome })
}

/// What a native refresh did.
#[derive(Debug, Default)]
pub struct Refreshed {
    pub added: usize,
    pub removed: usize,
    pub update_d: Vec<UpdateDReport>,
}

/// Write the plan: removed entries, then links, then the bundle; then the update.d hooks
/// (`update_d`: false when the tree's hooks must not run, see `store::hook`).
pub fn write(tree: &Tree, plan: &Plan, update_d: bool, timeout: Duration) -> Result<Refreshed> {
    let dir = tree.ensure_dir(model::ETC_CERTS)?;
    // A killed run's temporary bundle or link (ours by name; the lock is held).
    dir.clean_stale();
    let after = &plan.outcome.model.entries;
    for (name, node) in &plan.before.entries {
        if after.get(name) != Some(node) && !matches!(after.get(name), Some(model::Node::Link(_))) {
            dir.remove(name)?;
        }
    }
    for (name, node) in after {
        if let model::Node::Link(target) = node {
            if plan.before.entries.get(name) != Some(node) {
                dir.symlink(target, name)?;
            }
        }
    }
    if let Some(bundle) = &plan.outcome.bundle {
        dir.write(model::BUNDLE, bundle, Attrs::PUBLIC, None)?;
    }
    let mut done = Refreshed {
        added: plan.outcome.added.len(),
        removed: plan.outcome.removed.len(),
        update_d: Vec::new(),
    };
    if update_d {
        let hooks = updated::list(tree)?;
        if !hooks.is_empty() {
            let mut stdin = String::new();
            for line in plan.outcome.added.iter().chain(&plan.outcome.removed) {
                stdin.push_str(line);
                stdin.push('\n');
            }
            let root = tree.path();
            let chroot = (root != Path::new("/")).then_some(root);
            done.update_d = updated::run(&hooks, stdin.as_bytes(), chroot, timeout);
        }
    }
    Ok(done)
}
