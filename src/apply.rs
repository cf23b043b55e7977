//! Apply: under the tree lock (taken before the stores were read), each store's plan in
//! order — the system stores first, then the platform's hook once, then the effect check,
//! then the other stores (NSS). Progress is recorded as it happens, so a failure reports
//! truthfully what was already changed.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use crate::cert::Certificate;
use crate::effect;
use crate::error::{Error, Result};
use crate::lock::{self, TreeLock};
use crate::plan::StorePlan;
use crate::policy::Candidate;
use crate::report::HookReport;
use crate::run;
use crate::store::hook::Hook;
use crate::store::{bundle, Done, State, Store};
use crate::tree::Tree;

/// A store with what it holds and what it is to do.
pub struct Planned {
    pub store: Box<dyn Store>,
    pub state: State,
    pub plan: StorePlan,
}

/// How far a run got.
#[derive(Debug, Default)]
pub struct Applied {
    /// Per planned store; `None` when the run stopped before reaching it.
    pub done: Vec<Option<Done>>,
    /// The hook, once it ran.
    pub hook: Option<HookReport>,
    /// The hook's stderr worth a warning.
    pub hook_note: Option<String>,
    /// Removed anchors a file anchorage does not manage still provides (they stay trusted).
    pub still_provided: Vec<String>,
}

/// The run's lock, waiting at most `timeout` for another run (none under `--check`: planning
/// only reads; none either when this caller cannot write the tree at all, see `lock`).
pub fn lock(root: &Path, check: bool, timeout: Duration) -> Result<Option<TreeLock>> {
    if check {
        return Ok(None);
    }
    lock::lock_tree(root, timeout)
}

/// Does any store that feeds the hook have something to do?
pub fn hook_needed(planned: &[Planned]) -> bool {
    planned
        .iter()
        .any(|p| p.store.needs_hook() && !p.plan.is_noop())
}

/// The effective bundle the hook builds: its tree and its path in the tree.
pub struct Bundle<'a> {
    pub tree: &'a Tree,
    pub rel: &'a str,
    /// Where the other (non-managed) sources of the bundle are (`store::elsewhere`).
    pub layout: &'static crate::platform::Layout,
}

/// Carry out every plan. `hook`: resolved before (none with `--no-update`).
pub fn apply(
    planned: &[Planned],
    desired: &[Candidate],
    hook: Option<&Hook>,
    timeout: Duration,
    bundle: Bundle<'_>,
) -> (Applied, Result<()>) {
    let mut applied = Applied {
        done: vec![None; planned.len()],
        ..Applied::default()
    };
    let result = run(planned, desired, hook, timeout, bundle, &mut applied);
    (applied, result)
}

fn run(
    planned: &[Planned],
    desired: &[Candidate],
    hook: Option<&Hook>,
    timeout: Duration,
    bundle: Bundle<'_>,
    applied: &mut Applied,
) -> Result<()> {
    let system_changes = hook_needed(planned);
    // Every path the run will write is checked before the first write: a refusal changes
    // nothing.
    for p in planned.iter().filter(|p| !p.plan.is_noop()) {
        p.store.preflight()?;
    }
    if let (true, Some(hook)) = (system_changes, hook) {
        hook.preflight()?;
    }
    for (i, p) in planned.iter().enumerate() {
        if !p.store.needs_hook() {
            continue;
        }
        let done = applied.done[i].insert(Done::default());
        if !p.plan.is_noop() {
            p.store.apply(&p.plan, &p.state, desired, done)?;
        }
    }
    if let (true, Some(hook)) = (system_changes, hook) {
        let out = hook.run(timeout)?;
        applied.hook = Some(HookReport {
            command: out.argv.clone(),
            program: out.program.clone(),
            ran: true,
            exit_code: out.output.code,
            update_d: out.update_d.clone(),
        });
        applied.hook_note = out.stderr_note.clone();
        if !out.output.success() {
            return Err(hook_failure(out.output, &bundle.tree.host(bundle.rel)));
        }
        let (added, mut removed) = expected(planned, desired);
        let bundle_path = bundle.tree.host(bundle.rel);
        let bytes = bundle.tree.read(bundle.rel)?.unwrap_or_default();
        let effective = bundle::digests(&bytes);
        // Issue 16: a removed anchor the distribution (or an administrator's file) also
        // provides rightly stays in the bundle; say so instead of failing.
        if removed.iter().any(|c| effective.contains(&c.sha256)) {
            let others = crate::store::elsewhere::sources(bundle.tree, bundle.layout);
            // Strict, unlike the install side's `via`: only a file of the tree that still
            // provides it (on Debian the selected distribution files, elsewhere the family's
            // vendor and source directories) excuses an anchor that stays.
            removed.retain(|c| match others.get(&c.sha256) {
                Some(from) if effective.contains(&c.sha256) => {
                    applied.still_provided.push(format!(
                        "'{}' was removed from anchorage's anchors but stays trusted: {from} still provides it (not managed by anchorage)",
                        c.subject
                    ));
                    false
                }
                _ => true,
            });
        }
        effect::check(&out, &bundle_path, &effective, &added, &removed)?;
        effect::loadable(&bundle_path, &bytes)?;
    }
    for (i, p) in planned.iter().enumerate() {
        if p.store.needs_hook() {
            continue;
        }
        let done = applied.done[i].insert(Done::default());
        if !p.plan.is_noop() {
            p.store.apply(&p.plan, &p.state, desired, done)?;
        }
    }
    Ok(())
}

/// A failed hook. A full file system is an I/O error (74) with the hook's message, not a
/// failure (1): its stderr says so (it runs with `LC_ALL=C`), or the file system of the
/// bundle has no free block left.
fn hook_failure(output: run::Output, bundle: &Path) -> Error {
    let dir = bundle.parent().unwrap_or(bundle);
    let no_space = output.stderr.contains("No space left on device")
        || rustix::fs::statvfs(dir).is_ok_and(|v| v.f_blocks > 0 && v.f_bavail == 0);
    if no_space && !output.timed_out {
        return Error::CommandDiskFull {
            status: output.status(),
            argv: output.argv,
            stderr: output.stderr,
            path: dir.to_path_buf(),
        };
    }
    output.into_error("the files were written; fix the hook's problem and run anchorage again")
}

/// What the hook must have done: every system add present; every removal gone unless the
/// certificate is still managed by an entry that stays (Debian's other placement).
fn expected<'a>(
    planned: &'a [Planned],
    desired: &'a [Candidate],
) -> (Vec<&'a Certificate>, Vec<&'a Certificate>) {
    let system = || planned.iter().filter(|p| p.store.needs_hook());
    let added = system()
        .flat_map(|p| p.plan.add.iter().map(|a| &*desired[a.desired].cert))
        .collect();
    let mut staying: HashSet<[u8; 32]> = HashSet::new();
    for p in system() {
        let gone: HashSet<usize> = p.plan.remove.iter().copied().collect();
        staying.extend(
            p.state
                .entries
                .iter()
                .enumerate()
                .filter(|(i, _)| !gone.contains(i))
                .filter_map(|(_, e)| e.cert.as_ref().map(|c| c.sha256)),
        );
    }
    let removed = system()
        .flat_map(|p| p.plan.remove.iter().map(|&i| &p.state.entries[i]))
        .filter_map(|e| e.cert.as_ref())
        .filter(|c| !staying.contains(&c.sha256))
        .collect();
    (added, removed)
}
