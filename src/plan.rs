//! Planning (pure): desired anchors vs what the store holds and what is effective now →
//! what to add, remove and keep. `--check` stops after this.

use std::collections::{HashMap, HashSet};

use crate::policy::Candidate;
use crate::store::system::Managed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Add missing anchors; never remove.
    Install,
    /// Make the managed set equal to the desired one.
    Sync,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// Index into the desired list.
    pub desired: usize,
    /// Managed name to write.
    pub name: String,
    /// The file is already there but not effective (registered/in the bundle): only the
    /// registration or the hook is missing.
    pub repair: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub add: Vec<Add>,
    /// Indexes into the managed list.
    pub remove: Vec<usize>,
    /// (desired index, managed index) already in place.
    pub keep: Vec<(usize, usize)>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// `effective`: digests of the effective bundle, or `None` when it is not consulted
/// (`--no-update`, where only the files count).
pub fn diff(
    desired: &[Candidate],
    managed: &[Managed],
    effective: Option<&HashSet<[u8; 32]>>,
    mode: Mode,
) -> Plan {
    let mut plan = Plan::default();
    let mut by_sha: HashMap<[u8; 32], usize> = HashMap::with_capacity(managed.len());
    for (i, m) in managed.iter().enumerate() {
        if let Some(c) = &m.cert {
            by_sha.entry(c.sha256).or_insert(i);
        }
    }
    let wanted: HashSet<[u8; 32]> = desired.iter().map(|d| d.cert.sha256).collect();
    if mode == Mode::Sync {
        for (i, m) in managed.iter().enumerate() {
            let keep = m
                .cert
                .as_ref()
                .is_some_and(|c| wanted.contains(&c.sha256) && by_sha.get(&c.sha256) == Some(&i));
            if !keep {
                plan.remove.push(i);
            }
        }
    }
    // Names held by managed files that stay.
    let removed: HashSet<usize> = plan.remove.iter().copied().collect();
    let mut taken: HashSet<String> = managed
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, m)| m.name.clone())
        .collect();
    for (d, cand) in desired.iter().enumerate() {
        let sha = cand.cert.sha256;
        if let Some(&i) = by_sha.get(&sha) {
            let effective_now = effective.is_none_or(|e| e.contains(&sha));
            if managed[i].registered && effective_now {
                plan.keep.push((d, i));
            } else {
                plan.add.push(Add {
                    desired: d,
                    name: managed[i].name.clone(),
                    repair: true,
                });
            }
            continue;
        }
        let mut name = cand.name.clone();
        if taken.contains(&name) {
            name = format!("{name}-{}", &cand.cert.fingerprint()[..8]);
        }
        taken.insert(name.clone());
        plan.add.push(Add {
            desired: d,
            name,
            repair: false,
        });
    }
    plan
}
