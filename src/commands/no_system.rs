//! `--no-system` (issue 16): install/sync into the named NSS databases only — the system
//! store is neither read nor written, no hook runs — so a normal user can trust a CA in their
//! own browser profile (`anchorage install --no-system --nssdb ~/.pki/nssdb ca.pem`), as
//! mkcert's `TRUST_STORES=nss` does. The databases keep every rule of `store::nss`: opened
//! without following a link, their files owned as before. Java truststores (`--java-truststore`,
//! `--java-discover`) are managed the same way: only the named stores, a normal user's own.

use super::change::{finish, header, log_plans, plan_keyed, runs, Desired};
use crate::apply;
use crate::plan::Mode;
use crate::platform::Target;
use crate::report::{self, Failure, Report};
use crate::request::ChangeOptions;
use crate::store::java::JavaStores;
use crate::store::nss::NssStores;

pub(super) fn converge(
    target: &Target,
    nss: Option<NssStores>,
    java: Option<JavaStores>,
    desired: &Desired,
    mode: Mode,
    opts: &ChangeOptions,
) -> std::result::Result<Report, Failure> {
    let (stores, nss_notes) = nss.map_or((Vec::new(), Vec::new()), |n| (n.stores, n.notes));
    let mut warnings = desired.warnings.clone();
    warnings.extend(nss_notes.iter().cloned());
    let mut notes = desired.notes.clone();
    notes.extend(nss_notes);
    // No system hook runs under --no-system: a store the platform's hook maintains is
    // written directly (the hook adds and removes by its own aliases; only its full rebuild,
    // `--fresh`, would drop our entry). One note says so.
    let mut java = java;
    java.iter_mut().for_each(JavaStores::direct);
    let (java_stores, java_notes) = java.map_or((Vec::new(), Vec::new()), |j| (j.stores, j.notes));
    warnings.extend(java_notes.iter().cloned());
    notes.extend(java_notes);
    // The tree lock is root's (see `lock`): a normal user runs without it, on their own files.
    let _lock = apply::lock(&target.root, opts.check, opts.lock_timeout)?;
    let named: Vec<(usize, String)> = desired
        .accepted
        .iter()
        .enumerate()
        .map(|(d, c)| (d, c.name.clone()))
        .collect();
    let mut all = Vec::new();
    plan_keyed(&mut all, stores, java_stores, desired, &named, mode, opts)?;
    log_plans(&all);
    warnings.extend(all.iter().flat_map(|p| p.plan.notes.clone()));
    let header = header(target, opts.check);
    if opts.check {
        let mut report = report::build(
            header,
            &desired.accepted,
            &desired.skipped,
            &runs(&all, None),
            None,
            warnings,
        );
        report.notes = notes;
        return Ok(report);
    }
    let bundle = apply::Bundle {
        tree: &target.tree,
        rel: target.layout().bundle,
        layout: target.layout(),
    };
    // No system store in `all`: `apply` runs no hook and checks no bundle.
    let (applied, result) = apply::apply(&all, &desired.accepted, None, opts.hook_timeout, bundle);
    debug_assert!(all.iter().all(|p| !p.store.needs_hook()));
    let mut report = report::build(
        header,
        &desired.accepted,
        &desired.skipped,
        &runs(&all, Some(&applied.done)),
        None,
        warnings,
    );
    report.notes = notes;
    finish(report, result)
}
