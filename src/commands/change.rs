//! install, sync and remove: read the desired set (or the selectors), plan every store, then —
//! unless `--check` — apply, run the hook once and judge the effect. remove is a plan whose
//! adds are empty; all three go through the same `apply` and `report::build`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::apply::{self, Planned};
use crate::cert;
use crate::error::{Error, Result};
use crate::input::source::{self, Missing};
use crate::plan::{self, Mode, StorePlan};
use crate::platform::Target;
use crate::policy::{self, Candidate};
use crate::report::{self, Failure, Header, HookReport, Report, StoreRun};
use crate::request::{ChangeOptions, ChangeRequest, Global, RemoveRequest};
use crate::store::hook::Hook;
use crate::store::java::{self, JavaStore, JavaStores};
use crate::store::nss::{self, NssStore, NssStores};
use crate::store::system::SystemStore;
use crate::store::Store;

mod placements;
use crate::store::shadow;

/// The desired anchors, what policy skipped, and what reading the sources noted.
pub struct Desired {
    pub accepted: Vec<Candidate>,
    pub skipped: Vec<policy::Skipped>,
    pub warnings: Vec<String>,
    /// The informational lines among `warnings` (see `Report::notes`).
    pub notes: Vec<String>,
}

/// The PKCS#12 password: `--password-file` (first line) or `ANCHORAGE_PASSWORD`. Never logged.
fn password(opts: &ChangeOptions) -> Result<Option<String>> {
    if let Some(file) = &opts.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoInput { path: file.clone() },
            _ => Error::io_source("cannot read the password file", file, e),
        })?;
        let line = text.lines().next().unwrap_or("");
        return Ok(Some(line.to_string()));
    }
    Ok(std::env::var("ANCHORAGE_PASSWORD").ok())
}

/// Read and judge the sources. Everything that can fail on input fails here, before any write.
pub fn desired(
    sources: &[PathBuf],
    opts: &ChangeOptions,
    mode: Mode,
    missing: Missing,
) -> Result<Desired> {
    let password = password(opts)?;
    let loaded = source::load(sources, password.as_deref(), missing)?;
    let decision = policy::decide(&loaded, opts.allow, opts.name.as_deref(), cert::now())?;
    // A SOURCE that yields no installable certificate is bad input for install; for sync an
    // empty directory is a valid desired set (but a file without anchors is still an error).
    for (arg, src) in sources.iter().enumerate() {
        let files: Vec<_> = loaded.files.iter().filter(|f| f.arg == arg).collect();
        let yields = files.iter().any(|f| {
            f.indexes.iter().any(|&i| {
                decision
                    .accepted
                    .iter()
                    .any(|c| c.cert.sha256 == loaded.certs[i].cert.sha256)
            })
        });
        if yields {
            continue;
        }
        let stdin = src.as_os_str() == "-";
        let is_dir = !stdin && src.is_dir();
        let exists = stdin || src.exists();
        if (mode == Mode::Sync || missing == Missing::Empty) && (is_dir || !exists) {
            continue;
        }
        let why = if files.is_empty() {
            "no certificate found"
        } else {
            "no installable certificate (all skipped by policy)"
        };
        return Err(Error::bad_input(
            src,
            why,
            "give a file or directory holding a CA certificate (PEM, DER, PKCS#7 or PKCS#12)",
        ));
    }
    Ok(Desired {
        accepted: decision.accepted,
        skipped: decision.skipped,
        warnings: loaded.warnings,
        notes: loaded.notes,
    })
}

pub fn change(global: &Global, req: &ChangeRequest) -> std::result::Result<Report, Failure> {
    let desired = desired(&req.sources, &req.opts, req.mode, Missing::Error)?;
    let target = Target::open(&global.root, global.platform)?;
    let nss = nss::open(&target, &global.nss)?;
    let java = java::open(&target, &global.java)?;
    let report = converge(&target, nss, java, &desired, req.mode, &req.opts)
        .and_then(|r| super::on_change::after(r, &req.opts));
    // The process ends after the report: freeing 10,000 certificates one by one would only
    // delay the exit (the kernel reclaims the memory at once).
    std::mem::forget(desired);
    report
}

pub(super) fn header(target: &Target, check: bool) -> Header {
    Header {
        platform: target.platform_name().to_string(),
        root: target.root.display().to_string(),
        check,
    }
}

pub(super) fn planned(
    store: impl Store + 'static,
    state: crate::store::State,
    plan: StorePlan,
) -> Planned {
    Planned {
        store: Box::new(store),
        state,
        plan,
    }
}

/// install/sync `desired` on the target (also `exec`'s step).
pub fn converge(
    target: &Target,
    nss: Option<NssStores>,
    java: Option<JavaStores>,
    desired: &Desired,
    mode: Mode,
    opts: &ChangeOptions,
) -> std::result::Result<Report, Failure> {
    if nss.as_ref().is_some_and(|n| n.no_system) {
        return super::no_system::converge(target, nss, java, desired, mode, opts);
    }
    let (root, layout) = (&target.root, target.layout());
    let system = SystemStore::new(root, layout, opts.debian_conf)?;
    let mut warnings = desired.warnings.clone();
    let (nss_stores, nss_notes) = nss.map_or((Vec::new(), Vec::new()), |n| (n.stores, n.notes));
    let mut notes = desired.notes.clone();
    notes.extend(nss_notes.iter().cloned());
    warnings.extend(nss_notes);
    let (java_stores, java_notes) = java.map_or((Vec::new(), Vec::new()), |j| (j.stores, j.notes));
    notes.extend(java_notes.iter().cloned());
    warnings.extend(java_notes);
    let _lock = apply::lock(root, opts.check, opts.lock_timeout)?;
    let state = system.read(!opts.no_update)?;
    // Names the platform already links (Debian's /etc/ssl/certs/NAME.pem): never ours to take.
    // Only a new anchor gets a name; when every desired anchor is already managed (the no-op
    // path) the links directory is not read at all.
    let managed_now: std::collections::HashSet<[u8; 32]> = state
        .entries
        .iter()
        .filter_map(|e| e.cert.as_ref().map(|c| c.sha256))
        .collect();
    let reserved = if desired
        .accepted
        .iter()
        .any(|c| !managed_now.contains(&c.cert.sha256))
    {
        shadow::reserved(root, layout)
    } else {
        Default::default()
    };
    if let (Some(raw), [cand]) = (&opts.name, desired.accepted.as_slice()) {
        let managed = |e: &crate::store::Entry| e.cert.as_ref().map(|c| c.sha256);
        if !state
            .entries
            .iter()
            .any(|e| managed(e) == Some(cand.cert.sha256))
        {
            shadow::refuse_reserved(root, layout, raw, &cand.name, &reserved)?;
        }
    }
    let plan = plan::diff_avoiding(
        &desired.accepted,
        &state.entries,
        state.effective.as_ref(),
        mode,
        &reserved.into_keys().collect(),
    );
    let mut plan = plan;
    // Debian: the other placement (conf mode vs directory mode) is part of the managed set.
    let other = placements::other(target, opts.debian_conf)?;
    for note in placements::already_trusted(
        target,
        &desired.accepted,
        &state,
        other.as_ref().map(|(_, s)| s),
        &mut plan,
    )? {
        warnings.push(note.clone());
        notes.push(note);
    }
    let named = plan::names(&plan, &state.entries);
    let mut removes = !plan.remove.is_empty();
    let mut all = vec![planned(system, state, plan)];
    if let Some((store, state)) = other {
        let other_plan = placements::sync_plan(&state, &desired.accepted, mode);
        removes |= !other_plan.remove.is_empty();
        all.push(planned(store, state, other_plan));
    }
    let changes = apply::hook_needed(&all);
    // Resolve the hook before writing anything: a missing hook must change nothing.
    let mut hook = None;
    if changes && !opts.no_update {
        match Hook::resolve(root, layout, removes, opts.refresh) {
            Ok(h) => hook = Some(h),
            Err(e) if opts.check => warnings.push(format!("the update hook would fail: {e}")),
            Err(e) => return Err(e.into()),
        }
    }
    let mut java_stores = java_stores;
    for store in &mut java_stores {
        store.hook_runs = !opts.no_update;
    }
    plan_keyed(
        &mut all,
        nss_stores,
        java_stores,
        desired,
        &named,
        mode,
        opts,
    )?;
    log_plans(&all);
    let store_notes: Vec<String> = all.iter().flat_map(|p| p.plan.notes.clone()).collect();
    let hook_report = hook.as_ref().map(|h| HookReport {
        command: h.display(),
        program: h.name().to_string(),
        ran: false,
        exit_code: None,
        update_d: Vec::new(),
    });
    let header = header(target, opts.check);
    if opts.check {
        warnings.extend(store_notes);
        let runs = runs(&all, None);
        let mut report = report::build(
            header,
            &desired.accepted,
            &desired.skipped,
            &runs,
            hook_report,
            warnings,
        );
        report.notes = notes;
        return Ok(report);
    }
    let bundle = platform_bundle(target);
    let (applied, result) = apply::apply(
        &all,
        &desired.accepted,
        hook.as_ref(),
        opts.hook_timeout,
        bundle,
    );
    warnings.extend(applied.hook_note.clone());
    warnings.extend(applied.still_provided.iter().cloned());
    notes.extend(applied.still_provided.iter().cloned());
    if changes && opts.no_update {
        warnings.push(format!(
            "--no-update: run the platform's update command (/{}) to make the changes effective",
            layout.hook_path
        ));
    }
    warnings.extend(store_notes);
    let runs = runs(&all, Some(&applied.done));
    let mut report = report::build(
        header,
        &desired.accepted,
        &desired.skipped,
        &runs,
        applied.hook.or(hook_report),
        warnings,
    );
    report.notes = notes;
    finish(report, result)
}

/// The plan at debug: per store, what it holds and what is to change.
/// Read and plan the keyed stores — NSS databases, then Java truststores — against `named`
/// (the names the anchors go by), appending to `all`. Every store is read (and a Java store
/// verified) before anything is written.
pub(super) fn plan_keyed(
    all: &mut Vec<Planned>,
    nss_stores: Vec<NssStore>,
    java_stores: Vec<JavaStore>,
    desired: &Desired,
    named: &[(usize, String)],
    mode: Mode,
    opts: &ChangeOptions,
) -> Result<()> {
    let raw = opts.name.as_deref();
    for store in nss_stores {
        let state = store.read(false)?;
        let plan = plan::diff_nss(&desired.accepted, named, &state, mode, raw, &store.db.rel)?;
        all.push(planned(store, state, plan));
    }
    for store in java_stores {
        let state = store.read(false)?;
        let label = format!("java:{}", store.real);
        let plan = plan::diff_java(&desired.accepted, named, &state, mode, raw, &label)?;
        all.push(planned(store, state, plan));
    }
    Ok(())
}

pub(super) fn log_plans(all: &[Planned]) {
    for p in all {
        tracing::debug!(
            "plan: {}: {} entries ({} managed), {} to add, {} to remove, {} unchanged",
            p.store.id(),
            p.state.entries.len(),
            p.state.managed().count(),
            p.plan.add.len(),
            p.plan.remove.len(),
            p.plan.keep.len()
        );
    }
}

fn platform_bundle(target: &Target) -> apply::Bundle<'_> {
    apply::Bundle {
        tree: &target.tree,
        rel: target.layout().bundle,
        layout: target.layout(),
    }
}

pub(super) fn finish(report: Report, result: Result<()>) -> std::result::Result<Report, Failure> {
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(Failure {
            error,
            partial: Some(Box::new(report)),
        }),
    }
}

/// The report's view of each store: planned only (`done` = None), or as far as applied
/// (stores the run never reached are left out).
pub(super) fn runs<'a>(
    all: &'a [Planned],
    done: Option<&[Option<crate::store::Done>]>,
) -> Vec<StoreRun<'a>> {
    all.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let done = match done {
                None => None,
                Some(d) => Some(d[i]?),
            };
            Some(StoreRun {
                id: p.store.id(),
                entries: &p.state.entries,
                plan: &p.plan,
                done,
            })
        })
        .collect()
}

/// Each selector, and for a file selector the fingerprints it holds (a typed selector is
/// resolved against the managed entries later). Files are read first: any failure reading
/// them happens before a write.
fn selectors(req: &RemoveRequest) -> Result<Vec<(String, Option<HashSet<String>>)>> {
    let password = password(&req.opts)?;
    let mut out = Vec::new();
    for sel in &req.selectors {
        let path = Path::new(sel);
        let set = if sel == "-" || path.exists() {
            let loaded = source::load(&[PathBuf::from(sel)], password.as_deref(), Missing::Error)?;
            Some(loaded.certs.iter().map(|s| s.cert.fingerprint()).collect())
        } else if sel.contains('/') && plan::fingerprint_prefix(sel).is_none() {
            return Err(Error::NoInput {
                path: path.to_path_buf(),
            });
        } else {
            None
        };
        out.push((sel.clone(), set));
    }
    Ok(out)
}

pub fn remove(global: &Global, req: &RemoveRequest) -> std::result::Result<Report, Failure> {
    let opts = &req.opts;
    let selectors = selectors(req)?;
    let target = Target::open(&global.root, global.platform)?;
    let (root, layout) = (&target.root, target.layout());
    let nss = nss::open(&target, &global.nss)?;
    let mut java = java::open(&target, &global.java)?;
    if global.nss.no_system {
        // As install does under --no-system: no hook runs, the store is written directly.
        java.iter_mut().for_each(JavaStores::direct);
    }
    let java_notes = java.as_ref().map(|j| j.notes.clone()).unwrap_or_default();
    let _lock = apply::lock(root, opts.check, opts.lock_timeout)?;
    let stores = if global.nss.no_system {
        Vec::new()
    } else if opts.debian_conf {
        vec![SystemStore::new(root, layout, true)?]
    } else {
        SystemStore::all(root, layout)?
    };
    let mut system = Vec::new();
    for store in stores {
        let state = store.read(false)?;
        system.push((store, state));
    }
    let mut others = Vec::new();
    for store in nss.map(|n| n.stores).unwrap_or_default() {
        let state = store.read(false)?;
        others.push((Box::new(store) as Box<dyn Store>, state));
    }
    for mut store in java.map(|j| j.stores).unwrap_or_default() {
        store.hook_runs = !opts.no_update;
        let state = store.read(false)?;
        others.push((Box::new(store) as Box<dyn Store>, state));
    }
    let managed: Vec<&crate::store::Entry> = system
        .iter()
        .map(|(_, st)| st)
        .chain(others.iter().map(|(_, st)| st))
        .flat_map(|st| st.managed().map(|(_, e)| e))
        .collect();
    let (mut selection, unmatched) = plan::resolve_all(&selectors, &managed)?;
    tracing::debug!(
        fingerprints = selection.fingerprints.len(),
        names = selection.names.len(),
        "remove: selection"
    );
    let mut all = Vec::new();
    for (store, state) in system {
        let plan = plan::select(&state, &selection);
        all.push(planned(store, state, plan));
    }
    // NSS entries go by the same fingerprints and names (plus those of the system matches).
    selection.widen(
        all.iter()
            .flat_map(|p| p.plan.remove.iter().map(|&i| &p.state.entries[i])),
    );
    for (store, state) in others {
        let plan = plan::select(&state, &selection);
        all.push(Planned { store, state, plan });
    }
    log_plans(&all);
    let header = header(&target, opts.check);
    if opts.check {
        let mut warnings = java_notes.clone();
        warnings.extend(unmatched);
        let mut report = report::build(header, &[], &[], &runs(&all, None), None, warnings);
        report.notes = java_notes;
        return Ok(report);
    }
    let hook = if apply::hook_needed(&all) && !opts.no_update {
        Some(Hook::resolve(root, layout, true, opts.refresh)?)
    } else {
        None
    };
    let bundle = platform_bundle(&target);
    let (applied, result) = apply::apply(&all, &[], hook.as_ref(), opts.hook_timeout, bundle);
    let mut warnings: Vec<String> = applied.hook_note.iter().cloned().collect();
    warnings.extend(java_notes.iter().cloned());
    warnings.extend(unmatched);
    warnings.extend(applied.still_provided.iter().cloned());
    let runs = runs(&all, Some(&applied.done));
    let mut report = report::build(header, &[], &[], &runs, applied.hook, warnings);
    report.notes = java_notes;
    report.notes.extend(applied.still_provided.iter().cloned());
    finish(report, result).and_then(|r| super::on_change::after(r, opts))
}
