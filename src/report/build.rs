//! `build` (pure): the change report from each store's plan and how far applying it got. One
//! place decides every entry's action, stores and warnings, and `changed`.

use crate::policy::{safe_name, Candidate, Skipped};
use crate::store::{Done, Entry, StoreId};

use super::{Action, CertReport, HookReport, Report};
use crate::plan::StorePlan;

/// The run's identity, for the report header.
pub struct Header {
    pub platform: String,
    pub root: String,
    pub check: bool,
}

/// One store's part of a run. Stores a run never reached are left out.
pub struct StoreRun<'a> {
    pub id: StoreId,
    pub entries: &'a [Entry],
    pub plan: &'a StorePlan,
    /// How far applying got; `None` under `--check` (planned only).
    pub done: Option<Done>,
}

/// The change report. `hook` and `warnings` are as the run produced them, in order.
pub fn build(
    header: Header,
    desired: &[Candidate],
    skipped: &[Skipped],
    runs: &[StoreRun<'_>],
    hook: Option<HookReport>,
    warnings: Vec<String>,
) -> Report {
    let mut certificates = Vec::with_capacity(desired.len() + skipped.len());
    for s in skipped {
        let mut r = CertReport::new(
            &s.cert,
            &safe_name(&s.cert.common_name),
            Action::Skipped,
            &s.source,
        );
        r.warnings.push(s.reason.clone());
        certificates.push(r);
    }
    let mut changed = false;
    for run in runs {
        changed |= match run.done {
            Some(done) => done.any(),
            None => !run.plan.is_noop(),
        };
        let lines = store_lines(run, desired);
        match run.id {
            // The system store's lines are its own (a duplicate file is kept and removed).
            StoreId::System => certificates.extend(lines.into_iter().map(|(r, _)| r)),
            // Another store's lines join the certificate's line when there is one.
            StoreId::Nss(_) | StoreId::Java(_) => {
                for (r, cert) in lines {
                    merge(&mut certificates, r, cert.map(|c| c.fingerprint()));
                }
            }
        }
    }
    Report {
        changed,
        check: header.check,
        platform: header.platform,
        root: header.root,
        certificates,
        hook,
        warnings,
        notes: Vec::new(),
    }
}

type Line<'a> = (CertReport, Option<&'a crate::cert::Certificate>);

/// A store's lines in order: kept, removed, added (only what was done, when applied).
fn store_lines<'a>(run: &StoreRun<'a>, desired: &'a [Candidate]) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let system = run.id == StoreId::System;
    for &(d, i) in &run.plan.keep {
        let c = &desired[d];
        let name = if system {
            &run.entries[i].name
        } else {
            &c.name
        };
        let mut r = CertReport::new(&c.cert, name, Action::Unchanged, &c.source);
        r.stores.push(run.id.clone());
        if system {
            r.warnings.extend(c.warnings.iter().cloned());
        }
        out.push((r, Some(&*c.cert)));
    }
    for (d, name, _) in &run.plan.elsewhere {
        let c = &desired[*d];
        let mut r = CertReport::new(&c.cert, name, Action::Unchanged, &c.source);
        r.stores.push(run.id.clone());
        r.warnings.extend(c.warnings.iter().cloned());
        out.push((r, Some(&*c.cert)));
    }
    let (removed, added, remove_action, add_action) = match run.done {
        Some(d) => (d.removed, d.added, Action::Removed, Action::Added),
        None => (
            run.plan.remove.len(),
            run.plan.add.len(),
            Action::WouldRemove,
            Action::WouldAdd,
        ),
    };
    for &i in &run.plan.remove[..removed] {
        let e = &run.entries[i];
        let source = match &run.id {
            StoreId::System => e.path.display().to_string(),
            StoreId::Nss(rel) | StoreId::Java(rel) => rel.clone(),
        };
        out.push((removal(e, &run.id, remove_action, &source), e.cert.as_ref()));
    }
    for a in &run.plan.add[..added] {
        let c = &desired[a.desired];
        let mut r = CertReport::new(&c.cert, &a.name, add_action, &c.source);
        r.stores.push(run.id.clone());
        if system {
            r.warnings.extend(c.warnings.iter().cloned());
            if a.repair && add_action == Action::Added {
                r.warnings
                    .push("was on disk but not effective; re-registered and ran the hook".into());
            }
        }
        out.push((r, Some(&*c.cert)));
    }
    out
}

fn removal(e: &Entry, id: &StoreId, action: Action, source: &str) -> CertReport {
    match &e.cert {
        Some(c) => {
            let mut r = CertReport::new(c, &e.name, action, source);
            r.stores.push(id.clone());
            r
        }
        None => CertReport {
            sha256: String::new(),
            subject: String::new(),
            issuer: String::new(),
            not_after: String::new(),
            name: e.name.clone(),
            action,
            stores: vec![id.clone()],
            warnings: e.problem.iter().cloned().collect(),
            source: source.to_string(),
        },
    }
}

/// One line per certificate across stores: `stores` lists every store it is in (or was
/// removed from), and the action is the strongest of the stores'.
fn merge(lines: &mut Vec<CertReport>, new: CertReport, sha: Option<String>) {
    let found = sha.and_then(|sha| {
        lines
            .iter_mut()
            .find(|r| r.sha256 == sha && r.action != Action::Skipped)
    });
    let Some(r) = found else {
        lines.push(new);
        return;
    };
    let stronger = matches!(
        (r.action, new.action),
        (
            Action::Unchanged,
            Action::Added | Action::WouldAdd | Action::Removed | Action::WouldRemove
        )
    );
    if stronger {
        r.action = new.action;
    }
    for s in new.stores {
        if !r.stores.contains(&s) {
            r.stores.push(s);
        }
    }
}

#[cfg(test)]
mod tests;
