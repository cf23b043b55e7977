//! Issue 16 in planning the system store: Debian's other placement (conf mode vs directory
//! mode) is part of the managed set, and an anchor the bundle already gets from a file
//! anchorage does not manage is not installed a second time ("already trusted via …").

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::plan::{self, Mode, StorePlan};
use crate::platform::Target;
use crate::policy::Candidate;
use crate::store::system::SystemStore;
use crate::store::{elsewhere, State, Store};

/// Debian's other placement and what it holds (read without the bundle), or `None` on the
/// other platforms. A certificate it still manages legitimately stays in the bundle (the
/// effect check knows it from this store's state).
pub(super) fn other(target: &Target, debian_conf: bool) -> Result<Option<(SystemStore, State)>> {
    for other in SystemStore::all(&target.root, target.layout())? {
        if other.is_conf() != debian_conf {
            let state = other.read(false).unwrap_or_default();
            return Ok(Some((other, state)));
        }
    }
    Ok(None)
}

/// Move the new anchors the bundle already holds through the other placement or a
/// non-managed file from `plan.add` to `plan.elsewhere`; the notes to show.
pub(super) fn already_trusted(
    target: &Target,
    desired: &[Candidate],
    state: &State,
    other: Option<&State>,
    plan: &mut StorePlan,
) -> Result<Vec<String>> {
    if let Some(other) = other {
        let theirs: HashMap<[u8; 32], String> = other
            .entries
            .iter()
            .filter(|e| e.registered)
            .filter_map(|e| Some((e.cert.as_ref()?.sha256, e.path.display().to_string())))
            .collect();
        plan::trusted_elsewhere(plan, desired, state.effective.as_ref(), |s| {
            theirs.get(s).cloned()
        });
    }
    if plan.add.iter().any(|a| !a.repair) {
        let layout = target.layout();
        let found = elsewhere::sources(&target.tree, layout);
        plan::trusted_elsewhere(plan, desired, state.effective.as_ref(), |s| {
            elsewhere::via(layout, &found, s)
        });
    }
    Ok(plan
        .elsewhere
        .iter()
        .map(|(d, _, via)| {
            format!(
                "'{}' is already trusted via {via}: not installed again (nothing written, no hook)",
                desired[*d].cert.subject
            )
        })
        .collect())
}

/// The other placement's plan: under sync, remove what is not wanted; else nothing.
pub(super) fn sync_plan(state: &State, desired: &[Candidate], mode: Mode) -> StorePlan {
    let mut out = StorePlan::default();
    if mode == Mode::Sync {
        let wanted: HashSet<[u8; 32]> = desired.iter().map(|c| c.cert.sha256).collect();
        out.remove = state
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.cert.as_ref().is_some_and(|c| wanted.contains(&c.sha256)))
            .map(|(i, _)| i)
            .collect();
    }
    out
}
