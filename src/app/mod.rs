//! The pipeline, one direction: validated request → sources → policy → platform and store →
//! plan → (check stops) → apply under the tree lock → hook → verify by effect → report.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cert::{self, Certificate};
use crate::cli::{ChangeOpts, Cli, Command, PlatformArg};
use crate::error::{Error, Result};
use crate::fsx;
use crate::input::source::{self, Missing};
use crate::plan::{self, Mode};
use crate::platform::{self, Detected, PlatformId};
use crate::policy::{self, Allow, Candidate};
use crate::report::*;
use crate::store::system::{Managed, SystemStore};

pub mod exec;
pub mod nss;
pub mod verify;
use nss::{NssCtx, NssOpts};

pub enum Outcome {
    Change(Report),
    Exec(exec::ExecPlan),
    Env(String),
    /// Text to print as is (completions, man page).
    Text(Vec<u8>),
    Verify(verify::VerifyReport),
    List(ListReport),
    Doctor(DoctorReport),
}

/// A failed run, with what it had already changed (reported truthfully).
pub struct Failure {
    pub error: Error,
    pub partial: Option<Box<Report>>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            partial: None,
        }
    }
}

/// What every subcommand needs: the validated root and the detected platform.
pub struct Target {
    pub root: PathBuf,
    pub detected: Detected,
}

impl Target {
    pub fn open(root: &Path, platform: PlatformArg) -> Result<Target> {
        let meta = std::fs::metadata(root).map_err(|_| Error::NoInput {
            path: root.to_path_buf(),
        })?;
        if !meta.is_dir() {
            return Err(Error::usage(format!(
                "--root {}: not a directory",
                root.display()
            )));
        }
        let forced = match platform {
            PlatformArg::Auto => None,
            PlatformArg::Debian => Some(PlatformId::Debian),
            PlatformArg::Rhel => Some(PlatformId::Rhel),
            PlatformArg::Suse => Some(PlatformId::Suse),
            PlatformArg::Alpine => Some(PlatformId::Alpine),
            PlatformArg::Arch => Some(PlatformId::Arch),
        };
        let detected = platform::detect(root, forced)?;
        Ok(Target {
            root: root.to_path_buf(),
            detected,
        })
    }

    fn platform_name(&self) -> String {
        serde_json::to_value(self.detected.id)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn store(&self, conf_mode: bool) -> Result<SystemStore> {
        SystemStore::new(&self.root, platform::layout(self.detected.id), conf_mode)
    }

    /// The stores that may hold managed anchors: on Debian both the local dir and conf mode.
    fn all_stores(&self) -> Result<Vec<SystemStore>> {
        let mut stores = vec![self.store(false)?];
        if self.detected.id == PlatformId::Debian {
            stores.push(self.store(true)?);
        }
        Ok(stores)
    }

    fn empty_report(&self, check: bool) -> Report {
        Report {
            changed: false,
            check,
            platform: self.platform_name(),
            root: self.root.display().to_string(),
            certificates: Vec::new(),
            hook: None,
            warnings: Vec::new(),
        }
    }
}

pub fn run(cli: Cli) -> std::result::Result<Outcome, Failure> {
    let n = NssOpts {
        dirs: cli.nssdb.clone(),
        owner: cli.nss_owner.clone(),
        discover: cli.nss_discover,
    };
    match cli.command {
        Command::Install(args) => change(
            &cli.root,
            cli.platform,
            &n,
            &args.sources,
            &args.opts,
            Mode::Install,
        )
        .map(Outcome::Change),
        Command::Sync(args) => change(
            &cli.root,
            cli.platform,
            &n,
            &args.sources,
            &args.opts,
            Mode::Sync,
        )
        .map(Outcome::Change),
        Command::Remove(args) => {
            remove(&cli.root, cli.platform, &n, &args.selectors, &args.opts).map(Outcome::Change)
        }
        Command::Exec(a) => Ok(Outcome::Exec(exec::exec(&cli.root, cli.platform, &n, a))),
        Command::Env(a) => Ok(Outcome::Env(exec::env(
            &cli.root,
            cli.platform,
            &a.sources,
            &a.opts,
            a.override_env,
        )?)),
        Command::Verify(a) => Ok(Outcome::Verify(verify::verify(
            &cli.root,
            cli.platform,
            &a,
        )?)),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "anchorage", &mut buf);
            Ok(Outcome::Text(buf))
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .map_err(|e| Error::io("cannot render the man page", "-", e))?;
            Ok(Outcome::Text(buf))
        }
        Command::List => Ok(Outcome::List(list(&cli.root, cli.platform, &n)?)),
        Command::Doctor(args) => Ok(Outcome::Doctor(doctor(
            &cli.root,
            cli.platform,
            &n,
            args.warn_days,
        )?)),
    }
}

/// The PKCS#12 password: `--password-file` (first line) or `ANCHORAGE_PASSWORD`. Never logged.
fn password(opts: &ChangeOpts) -> Result<Option<String>> {
    if let Some(file) = &opts.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoInput { path: file.clone() },
            _ => Error::io("cannot read the password file", file, e),
        })?;
        let line = text.lines().next().unwrap_or("");
        return Ok(Some(line.to_string()));
    }
    Ok(std::env::var("ANCHORAGE_PASSWORD").ok())
}

fn allow(opts: &ChangeOpts) -> Allow {
    Allow {
        intermediate: opts.allow_intermediate,
        leaf: opts.allow_leaf,
        expired: opts.allow_expired,
    }
}

/// Read and judge the sources. Everything that can fail on input fails here, before any write.
pub fn desired(
    sources: &[PathBuf],
    opts: &ChangeOpts,
    mode: Mode,
    missing: Missing,
) -> Result<(Vec<Candidate>, Vec<policy::Skipped>, Vec<String>)> {
    let password = password(opts)?;
    let loaded = source::load(sources, password.as_deref(), missing)?;
    let decision = policy::decide(&loaded, allow(opts), opts.name.as_deref(), cert::now())?;
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
    Ok((decision.accepted, decision.skipped, loaded.warnings))
}

fn change(
    root: &Path,
    platform: PlatformArg,
    n: &NssOpts,
    sources: &[PathBuf],
    opts: &ChangeOpts,
    mode: Mode,
) -> std::result::Result<Report, Failure> {
    let (desired, skipped, warnings) = desired(sources, opts, mode, Missing::Error)?;
    // The process ends after the report: freeing 10,000 certificates one by one would only
    // delay the exit (the kernel reclaims the memory at once).
    let desired = std::mem::ManuallyDrop::new(desired);
    let target = Target::open(root, platform)?;
    let nss = nss::context(&target, n)?;
    apply_change(
        &target,
        nss.as_ref(),
        &desired,
        skipped,
        warnings,
        opts,
        mode,
    )
}

/// Plan and (unless `--check`) apply install/sync of `desired` on the target. Also used by
/// `exec`.
pub fn apply_change(
    target: &Target,
    nss: Option<&NssCtx>,
    desired: &[Candidate],
    skipped: Vec<policy::Skipped>,
    warnings: Vec<String>,
    opts: &ChangeOpts,
    mode: Mode,
) -> std::result::Result<Report, Failure> {
    let store = target.store(opts.debian_conf)?;
    let mut report = target.empty_report(opts.check);
    report.warnings = warnings;
    if let Some(n) = nss {
        report.warnings.extend(n.notes.iter().cloned());
    }
    let _lock = if opts.check {
        None
    } else {
        Some(fsx::lock_tree(&target.root)?)
    };
    let managed = store.managed()?;
    let effective = if opts.no_update {
        None
    } else {
        Some(store.effective()?.unwrap_or_default())
    };
    let plan = plan::diff(desired, &managed, effective.as_ref(), mode);

    for s in &skipped {
        let mut r = CertReport::new(
            &s.cert,
            &policy::safe_name(&s.cert.common_name),
            Action::Skipped,
            &s.source,
        );
        r.warnings.push(s.reason.clone());
        report.certificates.push(r);
    }
    for &(d, _) in &plan.keep {
        let c = &desired[d];
        let mut r = CertReport::new(
            &c.cert,
            &managed_name(&plan, &managed, d),
            Action::Unchanged,
            &c.source,
        );
        r.stores.push("system".into());
        r.warnings.extend(c.warnings.iter().cloned());
        report.certificates.push(r);
    }
    let hook_needed = !opts.no_update && !plan.is_noop();
    // Resolve the hook before writing anything: a missing hook must change nothing.
    let hook_argv = if hook_needed {
        match store.hook_command(!plan.remove.is_empty()) {
            Ok(argv) => Some(argv),
            Err(e) if opts.check => {
                report
                    .warnings
                    .push(format!("the update hook would fail: {e}"));
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    if let Some(argv) = &hook_argv {
        report.hook = Some(HookReport {
            command: display(argv),
            ran: false,
            exit_code: None,
        });
    }
    report.changed = !plan.is_noop();

    if opts.check {
        for &i in &plan.remove {
            report
                .certificates
                .push(removal_report(&managed[i], Action::WouldRemove));
        }
        for a in &plan.add {
            let c = &desired[a.desired];
            let mut r = CertReport::new(&c.cert, &a.name, Action::WouldAdd, &c.source);
            r.stores.push("system".into());
            r.warnings.extend(c.warnings.iter().cloned());
            report.certificates.push(r);
        }
        if let Some(n) = nss {
            nss::apply(
                n,
                &target.root,
                &named(&plan, &managed, desired),
                opts.name.as_deref(),
                mode,
                true,
                &mut report,
            )?;
        }
        return Ok(report);
    }
    let mut done = if plan.is_noop() {
        report
    } else {
        apply_system(
            target, &store, &plan, &managed, desired, hook_argv, opts, report,
        )?
    };
    if let Some(n) = nss {
        let named = named(&plan, &managed, desired);
        let outcome = nss::apply(
            n,
            &target.root,
            &named,
            opts.name.as_deref(),
            mode,
            false,
            &mut done,
        );
        if let Err(error) = outcome {
            return Err(Failure {
                error,
                partial: Some(Box::new(done)),
            });
        }
    }
    Ok(done)
}

/// Write and remove the system store's files, run the hook and judge its effect.
#[allow(clippy::too_many_arguments)]
fn apply_system(
    target: &Target,
    store: &SystemStore,
    plan: &plan::Plan,
    managed: &[Managed],
    desired: &[Candidate],
    hook_argv: Option<Vec<std::ffi::OsString>>,
    opts: &ChangeOpts,
    report: Report,
) -> std::result::Result<Report, Failure> {
    let mut done = Report {
        changed: false,
        ..report
    };
    let result = (|| -> Result<()> {
        store.prepare()?;
        let removals: Vec<&Managed> = plan.remove.iter().map(|&i| &managed[i]).collect();
        let outcome = store.delete_all(&removals);
        let gone = outcome.as_ref().err().map_or(removals.len(), |(n, _)| *n);
        for m in &removals[..gone] {
            done.changed = true;
            done.certificates.push(removal_report(m, Action::Removed));
        }
        outcome.map_err(|(_, e)| e)?;
        let anchors: Vec<(String, &Certificate)> = plan
            .add
            .iter()
            .map(|a| (a.name.clone(), &*desired[a.desired].cert))
            .collect();
        let outcome = store.write_all(&anchors);
        let written = outcome.as_ref().err().map_or(anchors.len(), |(n, _)| *n);
        for a in &plan.add[..written] {
            let c = &desired[a.desired];
            done.changed = true;
            let mut r = CertReport::new(&c.cert, &a.name, Action::Added, &c.source);
            r.stores.push("system".into());
            r.warnings.extend(c.warnings.iter().cloned());
            if a.repair {
                r.warnings
                    .push("was on disk but not effective; re-registered and ran the hook".into());
            }
            done.certificates.push(r);
        }
        outcome.map_err(|(_, e)| e)
    })();
    if let Err(error) = result {
        return Err(Failure {
            error,
            partial: Some(Box::new(done)),
        });
    }
    if let Some(argv) = hook_argv {
        let added: Vec<&Certificate> = plan.add.iter().map(|a| &*desired[a.desired].cert).collect();
        // A certificate still managed through the other Debian mode legitimately stays.
        let elsewhere: HashSet<[u8; 32]> = target
            .all_stores()?
            .iter()
            .filter(|s| s.conf_mode != store.conf_mode)
            .filter_map(|s| s.managed().ok())
            .flatten()
            .filter_map(|m| m.cert.map(|c| c.sha256))
            .collect();
        let removed: Vec<&Certificate> = plan
            .remove
            .iter()
            .filter_map(|&i| managed[i].cert.as_ref())
            .filter(|c| !elsewhere.contains(&c.sha256))
            .collect();
        if let Err(error) = run_and_verify(store, &argv, opts, &added, &removed, &mut done) {
            return Err(Failure {
                error,
                partial: Some(Box::new(done)),
            });
        }
    } else {
        done.warnings.push(format!(
            "--no-update: run the platform's update command ({}) to make the changes effective",
            store.layout.hook_path
        ));
    }
    Ok(done)
}

/// (certificate, managed name, source) of every desired anchor, as the system plan named it.
fn named(
    plan: &plan::Plan,
    managed: &[Managed],
    desired: &[Candidate],
) -> Vec<(Certificate, String, String)> {
    let mut out: Vec<(Certificate, String, String)> = plan
        .keep
        .iter()
        .map(|&(d, i)| {
            (
                Certificate::clone(&desired[d].cert),
                managed[i].name.clone(),
                desired[d].source.clone(),
            )
        })
        .collect();
    out.extend(plan.add.iter().map(|a| {
        (
            Certificate::clone(&desired[a.desired].cert),
            a.name.clone(),
            desired[a.desired].source.clone(),
        )
    }));
    out
}

fn managed_name(plan: &plan::Plan, managed: &[Managed], d: usize) -> String {
    plan.keep
        .iter()
        .find(|(dd, _)| *dd == d)
        .map(|(_, i)| managed[*i].name.clone())
        .unwrap_or_default()
}

fn removal_report(m: &Managed, action: Action) -> CertReport {
    let path = m.path.display().to_string();
    match &m.cert {
        Some(c) => {
            let mut r = CertReport::new(c, &m.name, action, &path);
            r.stores.push("system".into());
            r
        }
        None => CertReport {
            sha256: String::new(),
            subject: String::new(),
            issuer: String::new(),
            not_after: String::new(),
            name: m.name.clone(),
            action,
            stores: vec!["system".into()],
            warnings: m.problem.iter().cloned().collect(),
            source: path,
        },
    }
}

fn display(argv: &[std::ffi::OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// Run the hook, then judge by effect: every added anchor in the effective bundle, every
/// removed one gone (Debian's hook exits 0 even when it did nothing).
fn run_and_verify(
    store: &SystemStore,
    argv: &[std::ffi::OsString],
    opts: &ChangeOpts,
    added: &[&Certificate],
    removed: &[&Certificate],
    report: &mut Report,
) -> Result<()> {
    let out = store.run_hook(argv, Duration::from_secs(opts.hook_timeout))?;
    report.hook = Some(HookReport {
        command: out.argv.clone(),
        ran: true,
        exit_code: out.code,
    });
    // Debian's rehash always complains about the bundle itself sitting in /etc/ssl/certs.
    let hook_err: String = out
        .stderr
        .lines()
        .filter(|l| !l.contains("does not contain exactly one certificate or CRL"))
        .collect::<Vec<_>>()
        .join("\n");
    let hook_err = hook_err.trim();
    if out.success() && !hook_err.is_empty() {
        report.warnings.push(format!("hook stderr: {hook_err}"));
    }
    if !out.success() {
        return Err(Error::Failed {
            msg: out.describe(),
            path: None,
            hint: "the files were written; fix the hook's problem and run anchorage again".into(),
        });
    }
    let effective = store.effective()?.unwrap_or_default();
    let bundle = store.bundle_path();
    let mut problems = Vec::new();
    for c in added {
        if !effective.contains(&c.sha256) {
            problems.push(format!(
                "'{}' (sha256 {}) is not in {}",
                c.subject,
                c.fingerprint(),
                bundle.display()
            ));
        }
    }
    for c in removed {
        if effective.contains(&c.sha256) {
            problems.push(format!(
                "'{}' (sha256 {}) is still in {}",
                c.subject,
                c.fingerprint(),
                bundle.display()
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "the hook `{}` exited 0 but did not take effect: {}",
        out.argv.join(" "),
        problems.join("; ")
    );
    let output = format!("{}{}", out.stdout, out.stderr);
    if !output.trim().is_empty() {
        msg.push_str(&format!("\nhook output:\n{}", output.trim_end()));
    }
    Err(Error::Failed {
        msg,
        path: Some(bundle),
        hint: "run `anchorage doctor` to inspect the trust store".into(),
    })
}

fn normalize_fingerprint(s: &str) -> Option<String> {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn remove(
    root: &Path,
    platform: PlatformArg,
    n: &NssOpts,
    selectors: &[String],
    opts: &ChangeOpts,
) -> std::result::Result<Report, Failure> {
    // Resolve selectors that are files first: any failure reading them happens before a write.
    let mut shas: Vec<(String, HashSet<String>)> = Vec::new();
    let password = password(opts)?;
    for sel in selectors {
        let path = Path::new(sel);
        let set: HashSet<String> = if sel == "-" || path.exists() {
            let loaded = source::load(&[PathBuf::from(sel)], password.as_deref(), Missing::Error)?;
            loaded.certs.iter().map(|s| s.cert.fingerprint()).collect()
        } else if let Some(hex) = normalize_fingerprint(sel) {
            HashSet::from([hex])
        } else if sel.contains('/') {
            return Err(Error::NoInput {
                path: path.to_path_buf(),
            }
            .into());
        } else {
            HashSet::new()
        };
        shas.push((sel.clone(), set));
    }
    let target = Target::open(root, platform)?;
    let nss = nss::context(&target, n)?;
    let mut report = target.empty_report(opts.check);
    let _lock = if opts.check {
        None
    } else {
        Some(fsx::lock_tree(&target.root)?)
    };
    let stores = if opts.debian_conf {
        vec![target.store(true)?]
    } else {
        target.all_stores()?
    };
    let mut plans: Vec<(SystemStore, Vec<Managed>)> = Vec::new();
    let mut matched: HashSet<String> = HashSet::new();
    for store in stores {
        let managed = store.managed()?;
        let selected: Vec<Managed> = managed
            .into_iter()
            .filter(|m| {
                let fp = m.cert.as_ref().map(Certificate::fingerprint);
                let hit = shas.iter().find(|(sel, set)| {
                    fp.as_ref().is_some_and(|f| set.contains(f)) || *sel == m.name
                });
                if let Some((sel, _)) = hit {
                    matched.insert(sel.clone());
                }
                hit.is_some()
            })
            .collect();
        plans.push((store, selected));
    }
    // NSS entries go by the same fingerprints and names (plus those of the system matches).
    let mut nss_shas: HashSet<String> = shas.iter().flat_map(|(_, s)| s.iter().cloned()).collect();
    let mut nss_names: HashSet<String> = selectors.iter().cloned().collect();
    for (_, selected) in &plans {
        for m in selected {
            nss_names.insert(m.name.clone());
            if let Some(c) = &m.cert {
                nss_shas.insert(c.fingerprint());
            }
        }
    }
    let system_changes = plans.iter().any(|(_, s)| !s.is_empty());
    if opts.check || !system_changes {
        if opts.check {
            for (_, sel) in &plans {
                report
                    .certificates
                    .extend(sel.iter().map(|m| removal_report(m, Action::WouldRemove)));
            }
            report.changed = system_changes;
        }
        if let Some(n) = &nss {
            let hit = nss::remove(n, &nss_shas, &nss_names, opts.check, &mut report)?;
            matched.extend(
                shas.iter()
                    .filter(|(sel, set)| hit.contains(sel) || set.iter().any(|s| hit.contains(s)))
                    .map(|(sel, _)| sel.clone()),
            );
        }
        warn_unmatched(&shas, &matched, &mut report);
        return Ok(report);
    }
    let mut done = Report {
        changed: false,
        ..report.clone()
    };
    // Delete from every store first, then run the hook once and judge the effect once: on
    // Debian both modes feed the same bundle.
    let mut hook: Option<(&SystemStore, Vec<std::ffi::OsString>)> = None;
    for (store, selected) in &plans {
        if selected.is_empty() {
            continue;
        }
        if !opts.no_update && hook.is_none() {
            hook = Some((store, store.hook_command(true)?));
        }
        let result = (|| -> Result<()> {
            store.prepare()?;
            let removals: Vec<&Managed> = selected.iter().collect();
            let outcome = store.delete_all(&removals);
            let gone = outcome.as_ref().err().map_or(removals.len(), |(n, _)| *n);
            for m in &removals[..gone] {
                done.changed = true;
                done.certificates.push(removal_report(m, Action::Removed));
            }
            outcome.map_err(|(_, e)| e)
        })();
        if let Err(error) = result {
            return Err(Failure {
                error,
                partial: Some(Box::new(done)),
            });
        }
    }
    if let Some((store, argv)) = hook {
        let removed: Vec<&Certificate> = plans
            .iter()
            .flat_map(|(_, s)| s.iter().filter_map(|m| m.cert.as_ref()))
            .collect();
        if let Err(error) = run_and_verify(store, &argv, opts, &[], &removed, &mut done) {
            return Err(Failure {
                error,
                partial: Some(Box::new(done)),
            });
        }
    }
    if let Some(n) = &nss {
        match nss::remove(n, &nss_shas, &nss_names, false, &mut done) {
            Ok(hit) => matched.extend(
                shas.iter()
                    .filter(|(sel, set)| hit.contains(sel) || set.iter().any(|s| hit.contains(s)))
                    .map(|(sel, _)| sel.clone()),
            ),
            Err(error) => {
                return Err(Failure {
                    error,
                    partial: Some(Box::new(done)),
                })
            }
        }
    }
    warn_unmatched(&shas, &matched, &mut done);
    Ok(done)
}

fn warn_unmatched(
    shas: &[(String, HashSet<String>)],
    matched: &HashSet<String>,
    report: &mut Report,
) {
    for (sel, _) in shas {
        if !matched.contains(sel) {
            report
                .warnings
                .push(format!("nothing managed by anchorage matches '{sel}'"));
        }
    }
}

/// Managed anchors, problems reading them, and the effective bundle's digests.
type Listing = (Vec<ListEntry>, Vec<String>, Option<HashSet<[u8; 32]>>);

fn list_entries(target: &Target) -> Result<Listing> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut effective = None;
    for store in target.all_stores()? {
        if effective.is_none() {
            effective = store.effective()?;
        }
        for m in store.managed()? {
            match &m.cert {
                Some(c) => entries.push(ListEntry {
                    name: m.name.clone(),
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    sha256: c.fingerprint(),
                    not_after: c.not_after_rfc3339(),
                    stores: vec!["system".into()],
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
    Ok((entries, warnings, effective))
}

fn list(root: &Path, platform: PlatformArg, n: &NssOpts) -> Result<ListReport> {
    let target = Target::open(root, platform)?;
    let (mut certificates, mut warnings, _) = list_entries(&target)?;
    if let Some(ctx) = nss::context(&target, n)? {
        warnings.extend(ctx.notes.iter().cloned());
        nss::annotate(&ctx, &mut certificates)?;
    }
    Ok(ListReport {
        platform: target.platform_name(),
        root: target.root.display().to_string(),
        certificates,
        warnings,
    })
}

fn doctor(root: &Path, platform: PlatformArg, n: &NssOpts, warn_days: i64) -> Result<DoctorReport> {
    let target = Target::open(root, platform)?;
    let store = target.store(false)?;
    let (mut managed, warnings, effective) = list_entries(&target)?;
    let mut problems = Vec::new();
    let mut doc_warnings = Vec::new();
    if let Some(ctx) = nss::context(&target, n)? {
        doc_warnings.extend(ctx.notes.iter().cloned());
        problems.extend(nss::annotate(&ctx, &mut managed)?);
    }
    let hook = match store.hook_command(false) {
        Ok(argv) => DoctorHook {
            command: display(&argv),
            found: true,
        },
        Err(e) => {
            problems.push(format!("update hook: {e}"));
            DoctorHook {
                command: vec![store.layout.hook_path.to_string()],
                found: false,
            }
        }
    };
    if effective.is_none() {
        problems.push(format!(
            "the effective bundle {} does not exist",
            store.bundle_path().display()
        ));
    }
    for w in &warnings {
        problems.push(format!("broken managed file: {w}"));
    }
    let now = cert::now();
    let mut missing = Vec::new();
    let mut expiring = Vec::new();
    let mut expired = Vec::new();
    for m in &managed {
        if !m.in_bundle && m.stores.iter().any(|s| s == "system") {
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
    let conf =
        (target.detected.id == PlatformId::Debian).then(|| store.conf_path().display().to_string());
    Ok(DoctorReport {
        ok: problems.is_empty(),
        platform: target.platform_name(),
        evidence: target.detected.evidence.clone(),
        root: target.root.display().to_string(),
        paths: DoctorPaths {
            anchors: store.dir().display().to_string(),
            bundle: store.bundle_path().display().to_string(),
            bundle_exists: effective.is_some(),
            conf,
        },
        hook,
        managed,
        missing_from_bundle: missing,
        expiring,
        expired,
        problems,
        warnings: doc_warnings,
    })
}
