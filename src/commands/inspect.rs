//! list and doctor: read every store (never write) and say what is managed, where, whether it
//! is effective, and what is wrong.

use std::collections::HashSet;

use crate::cert;
use crate::error::{Error, Result};
use crate::platform::{PlatformId, Target};
use crate::report::{DoctorHook, DoctorPaths, DoctorReport, ListEntry, ListReport};
use crate::request::{Global, RuntimesMode};
use crate::store::hook::Hook;
use crate::store::nss::{self, DbKind, NssStores};
use crate::store::shadow;
use crate::store::system::SystemStore;
use crate::store::{Store, StoreId};

/// Managed anchors, problems reading them, and the effective bundle's digests.
/// Also: why the effective bundle could not be read (a FIFO or device in its place).
type Listing = (
    Vec<ListEntry>,
    Vec<String>,
    Option<HashSet<[u8; 32]>>,
    Option<String>,
);

fn list_entries(target: &Target) -> Result<Listing> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut effective = None;
    let mut bundle_error = None;
    for store in SystemStore::all(&target.root, target.layout())? {
        if effective.is_none() && bundle_error.is_none() {
            match store.effective() {
                Ok(e) => effective = e,
                Err(e @ Error::Unsafe { .. }) => {
                    warnings.push(e.to_string());
                    bundle_error = Some(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        for m in store.managed()? {
            match &m.cert {
                Some(c) => entries.push(ListEntry {
                    name: m.name.clone(),
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    sha256: c.fingerprint(),
                    not_after: c.not_after_rfc3339(),
                    stores: vec![StoreId::System],
                    paths: vec![m.path.display().to_string()],
                    in_bundle: effective.as_ref().is_some_and(|e| e.contains(&c.sha256))
                        && m.registered,
                }),
                None => warnings.push(format!(
                    "{}: {}",
                    m.path.display(),
                    m.problem.clone().unwrap_or_else(|| "unreadable".into())
                )),
            }
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((entries, warnings, effective, bundle_error))
}

/// Add NSS presence to list entries (and entries only in a database); problems and notes for
/// doctor. Each database is judged against what was installed into it — its own `anchorage-`
/// entries must be readable certificates with TLS trust; a system anchor that was never put
/// into a database is only a note.
fn annotate(nss: &NssStores, entries: &mut Vec<ListEntry>) -> Result<(Vec<String>, Vec<String>)> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for store in &nss.stores {
        let db = &store.db;
        let id = store.id();
        if db.kind() == DbKind::Missing {
            problems.push(format!("{}: no NSS database there", db.rel));
            continue;
        }
        if let Some(o) = store.expected_owner() {
            for f in db.unreadable_by(o) {
                problems.push(format!(
                    "{}: the owner ({}:{}) cannot read {f}",
                    db.rel, o.0, o.1
                ));
            }
        }
        let state = store.read(false)?;
        tracing::debug!(
            "doctor: {}: {} entries, {} of them anchorage's",
            db.rel,
            state.entries.len(),
            state.managed().count()
        );
        for e in state.entries {
            if e.ours && !tls_trusted(&e.trust) {
                problems.push(format!(
                    "{}: '{}' is there with trust '{}' (not a trusted TLS CA); run `anchorage install` for it again",
                    db.rel, e.nickname, e.trust
                ));
            }
            let Some(cert) = &e.cert else {
                if e.ours {
                    problems.push(format!(
                        "{}: '{}' {}",
                        db.rel,
                        e.nickname,
                        e.problem.as_deref().unwrap_or("cannot be read")
                    ));
                }
                continue;
            };
            let fp = cert.fingerprint();
            if let Some(le) = entries.iter_mut().find(|le| le.sha256 == fp) {
                le.stores.push(id.clone());
            } else if e.ours {
                entries.push(ListEntry {
                    name: e.name.clone(),
                    subject: cert.subject.clone(),
                    issuer: cert.issuer.clone(),
                    sha256: fp,
                    not_after: cert.not_after_rfc3339(),
                    stores: vec![id.clone()],
                    paths: vec![store.path().display().to_string()],
                    in_bundle: false,
                });
            }
        }
        for le in entries
            .iter()
            .filter(|le| le.stores.contains(&StoreId::System) && !le.stores.contains(&id))
        {
            notes.push(format!(
                "{}: managed anchor '{}' was not installed into this database",
                db.rel, le.name
            ));
        }
    }
    Ok((problems, notes))
}

/// NSS trust flags that make a TLS CA (the SSL field holds `C` or `T`).
fn tls_trusted(trust: &str) -> bool {
    trust
        .split(',')
        .next()
        .is_some_and(|ssl| ssl.contains(['C', 'T']))
}

pub fn list(global: &Global) -> Result<ListReport> {
    let target = Target::open(&global.root, global.platform)?;
    // --no-system: only the named stores (issue 16).
    let (mut certificates, mut warnings, _, _) = if global.nss.no_system {
        (Vec::new(), Vec::new(), None, None)
    } else {
        list_entries(&target)?
    };
    let mut notes = Vec::new();
    if let Some(nss) = nss::open(&target, &global.nss)? {
        warnings.extend(nss.notes.iter().cloned());
        notes.extend(nss.notes.iter().cloned());
        let _ = annotate(&nss, &mut certificates)?;
    }
    if let Some(mut java) = crate::store::java::open(&target, &global.java)? {
        if global.nss.no_system {
            java.direct();
        }
        warnings.extend(java.notes.iter().cloned());
        notes.extend(java.notes.iter().cloned());
        let (problems, java_notes) =
            crate::store::java::annotate::annotate(&java, &mut certificates);
        warnings.extend(problems);
        warnings.extend(java_notes.iter().cloned());
        notes.extend(java_notes);
    }
    Ok(ListReport {
        platform: target.platform_name().to_string(),
        root: target.root.display().to_string(),
        certificates,
        warnings,
        notes,
    })
}

pub fn doctor(
    global: &Global,
    warn_days: i64,
    runtimes: Option<RuntimesMode>,
) -> Result<DoctorReport> {
    let target = Target::open(&global.root, global.platform)?;
    let store = SystemStore::new(&target.root, target.layout(), false)?;
    let no_system = global.nss.no_system;
    let (mut managed, mut warnings, effective, bundle_error) = if no_system {
        (Vec::new(), Vec::new(), None, None)
    } else {
        list_entries(&target)?
    };
    let mut problems = Vec::new();
    let mut doc_warnings = Vec::new();
    let mut notes = Vec::new();
    if let Some(nss) = nss::open(&target, &global.nss)? {
        doc_warnings.extend(nss.notes.iter().cloned());
        notes.extend(nss.notes.iter().cloned());
        let (nss_problems, notes) = annotate(&nss, &mut managed)?;
        problems.extend(nss_problems);
        doc_warnings.extend(notes);
    }
    if let Some(mut java) = crate::store::java::open(&target, &global.java)? {
        if global.nss.no_system {
            java.direct();
        }
        doc_warnings.extend(java.notes.iter().cloned());
        notes.extend(java.notes.iter().cloned());
        let (java_problems, java_notes) =
            crate::store::java::annotate::annotate(&java, &mut managed);
        problems.extend(java_problems);
        doc_warnings.extend(java_notes.iter().cloned());
        notes.extend(java_notes);
    }
    let program = std::path::Path::new(target.layout().hook_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hook = match Hook::resolve(
        &target.root,
        target.layout(),
        false,
        crate::request::Refresh::Auto,
    ) {
        Ok(h) => DoctorHook {
            command: h.display(),
            program,
            found: true,
        },
        Err(e) if no_system => {
            tracing::debug!("doctor --no-system: the update hook is not needed ({e})");
            DoctorHook {
                command: vec![target.layout().hook_path.to_string()],
                program,
                found: false,
            }
        }
        Err(e) => {
            problems.push(format!("update hook: {e}"));
            DoctorHook {
                command: vec![target.layout().hook_path.to_string()],
                program,
                found: false,
            }
        }
    };
    if no_system {
        // The system store is not ours to judge in this run.
    } else if let Some(e) = bundle_error {
        warnings.retain(|w| *w != e);
        problems.push(format!("the effective bundle: {e}"));
    } else if effective.is_none() {
        problems.push(format!(
            "the effective bundle {} does not exist",
            store.bundle_path().display()
        ));
    }
    if !no_system {
        problems.extend(bundle_problems(&target, &store.bundle_path()));
    }
    if !no_system && target.layout().id == crate::platform::PlatformId::Debian {
        if let Ok(tree) = crate::tree::Tree::pin(&target.root) {
            problems.extend(crate::store::native::links::problems(&tree));
        }
    }
    for w in &warnings {
        problems.push(format!("broken managed file: {w}"));
    }
    let now = cert::now();
    let mut missing = Vec::new();
    let mut expiring = Vec::new();
    let mut expired = Vec::new();
    for m in &managed {
        if !m.in_bundle && m.stores.contains(&StoreId::System) {
            missing.push(m.name.clone());
            problems.push(format!(
                "managed anchor '{}' ({}) is not in the effective bundle",
                m.name, m.subject
            ));
        }
        let not_after = time::OffsetDateTime::parse(
            &m.not_after,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| t.unix_timestamp())
        .unwrap_or(i64::MAX);
        if not_after < now {
            expired.push(m.name.clone());
            problems.push(format!(
                "managed anchor '{}' expired on {}",
                m.name, m.not_after
            ));
        } else if (not_after - now) / 86_400 < warn_days {
            expiring.push(m.name.clone());
            doc_warnings.push(format!(
                "managed anchor '{}' expires on {} (within {warn_days} days)",
                m.name, m.not_after
            ));
        }
    }
    let shadowing = shadowing(&target, &managed, &mut problems);
    let runtimes = runtimes.map(|mode| {
        super::runtimes::judge(
            global,
            &target,
            &managed,
            mode,
            &mut problems,
            &mut doc_warnings,
        )
    });
    let conf =
        (target.detected.id == PlatformId::Debian).then(|| store.conf_path().display().to_string());
    Ok(DoctorReport {
        ok: problems.is_empty(),
        platform: target.platform_name().to_string(),
        evidence: target.detected.evidence.clone(),
        root: target.root.display().to_string(),
        paths: DoctorPaths {
            anchors: store.dir().display().to_string(),
            bundle: store.bundle_path().display().to_string(),
            bundle_exists: effective.is_some() || (no_system && store.bundle_path().exists()),
            conf,
        },
        hook,
        managed,
        missing_from_bundle: missing,
        expiring,
        expired,
        shadowing,
        problems,
        warnings: doc_warnings,
        notes,
        runtimes,
    })
}

/// Managed system anchors whose link name (`/etc/ssl/certs/NAME.pem`) is one a certificate of
/// the distribution or the administrator uses (written so by a version before `store::shadow`,
/// or by hand): each is a problem naming the certificate it shadows.
fn shadowing(target: &Target, managed: &[ListEntry], problems: &mut Vec<String>) -> Vec<String> {
    let layout = target.layout();
    let reserved = shadow::reserved(&target.root, layout);
    let mut names = Vec::new();
    for m in managed
        .iter()
        .filter(|m| m.stores.contains(&StoreId::System))
    {
        let Some(owner) = reserved.get(&m.name) else {
            continue;
        };
        let link = shadow::link_of(layout, &m.name).unwrap_or_default();
        problems.push(format!(
            "managed anchor '{}' ({}) shadows {}: both are linked as {link}, so the hook points that link at the managed file and the other certificate is no longer found by its hash in /{} (openssl -CApath)",
            m.name,
            m.subject,
            owner.display(),
            layout.links_dir.unwrap_or_default()
        ));
        names.push(m.name.clone());
    }
    names
}

/// What in the effective bundle OpenSSL refuses, or a careful reader cannot use.
fn bundle_problems(target: &Target, path: &std::path::Path) -> Vec<String> {
    let Ok(Some(bytes)) =
        crate::tree::Tree::pin(&target.root).and_then(|t| t.read(target.layout().bundle))
    else {
        return Vec::new();
    };
    let audit = crate::store::bundle::audit(&bytes);
    let mut out: Vec<String> = audit
        .refused
        .iter()
        .map(|b| {
            format!(
                "the effective bundle {}: {b} (OpenSSL refuses the whole bundle)",
                path.display()
            )
        })
        .collect();
    if audit.binary_bytes > 0 {
        out.push(format!(
            "the effective bundle {} holds {} bytes of binary data outside its PEM blocks (a DER file among the anchors? its CA is not trusted)",
            path.display(),
            audit.binary_bytes
        ));
    }
    out
}
