//! The last-run state file (`var/lib/anchorage/last-run.json` in the tree): what the last
//! install/sync/remove/exec/watch sync did and when, for `anchorage metrics`
//! (`anchorage_last_run_*`). Written atomically through the tree (no link followed), mode
//! 0644, by the user that ran (root, for a real store). Its absence is not an error; failing
//! to write it (a read-only tree: `exec`'s unprivileged start) is logged, never fatal. A failed
//! run is recorded only where the directory already exists (see `record`).

use serde::{Deserialize, Serialize};

use crate::tree::Attrs;
use crate::tree::Tree;

/// The directory, relative to the tree (the lock's too).
pub const DIR: &str = "var/lib/anchorage";
pub const FILE: &str = "last-run.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// install, sync, remove, exec, watch.
    pub command: String,
    /// Unix time, seconds.
    pub timestamp: i64,
    pub success: bool,
    pub changed: bool,
}

/// Record a run under `root`. Never fails the run: a tree we cannot write gets a debug line.
/// A failed run never creates the directory (bad input changes nothing in a tree that has
/// not seen anchorage yet); where it exists (any earlier run, the lock) the failure is recorded.
pub fn record(root: &std::path::Path, command: &str, success: bool, changed: bool) {
    if !success {
        match Tree::pin(root).and_then(|t| t.dir(DIR)) {
            Ok(Some(_)) => {}
            _ => return,
        }
    }
    let state = LastRun {
        command: command.to_string(),
        timestamp: crate::cert::now(),
        success,
        changed,
    };
    let result = serde_json::to_vec_pretty(&state)
        .map_err(|e| crate::error::Error::Failed {
            msg: e.to_string(),
            path: None,
            hint: None,
        })
        .and_then(|mut bytes| {
            bytes.push(b'\n');
            let tree = Tree::pin(root)?;
            let dir = tree.ensure_dir(DIR)?;
            // A run killed mid-write (kill -9) leaves its temporary: the next record sweeps
            // it, as every store does. A concurrent recorder losing its temporary to the sweep
            // only misses this record (logged below); the next run writes it.
            dir.clean_stale();
            dir.write(FILE, &bytes, Attrs::PUBLIC, None)
        });
    if let Err(e) = result {
        tracing::debug!("last-run state not recorded: {e}");
    }
}

/// The recorded last run; `None` when there is none (or it cannot be read: logged).
pub fn read(tree: &Tree) -> Option<LastRun> {
    let bytes = match tree.read(&format!("{DIR}/{FILE}")) {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("last-run state: {e}");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                "last-run state {}: {e} (ignored)",
                tree.host(&format!("{DIR}/{FILE}")).display()
            );
            None
        }
    }
}
