//! The container startup step. `exec`: sync the mounted sources into the system store (a
//! no-op start costs milliseconds: no hook), then `execvp` PROGRAM so it keeps our PID (PID 1
//! stays the agent). When the system store cannot be written (not root, read-only root file
//! system) it builds a combined bundle in a private place and points TLS clients at it through
//! the environment instead. `env` prints those variables as `export` lines.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::change::{converge, desired};
use crate::error::{Error, Result};
use crate::input::source::Missing;
use crate::plan::Mode;
use crate::platform::{self, Target};
use crate::policy::Candidate;
use crate::report::{EnvBundle, ExecOutcome, Failure, Header, Report};
use crate::request::{EnvRequest, ExecRequest, Global, OnError};
use crate::store::nss;

mod bundle_dir;
pub mod env_rules;
mod java_env;

/// The variables that make OpenSSL, curl, Python requests, Node.js and git use our bundle.
pub const ENV_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
];

pub const BUNDLE_NAME: &str = "anchorage-ca-bundle.pem";

/// Sources: the arguments, else $ANCHORAGE_SOURCES split on ':'. None at all is a usage error
/// unless `allow_empty`: `exec` syncs, so an empty set would remove every managed anchor (a
/// forgotten variable must not do that), and `env` would export the system CAs alone.
pub fn sources(args: &[PathBuf], allow_empty: bool, command: &str) -> Result<Vec<PathBuf>> {
    let found: Vec<PathBuf> = if args.is_empty() {
        std::env::var_os("ANCHORAGE_SOURCES")
            .map(|s| {
                std::env::split_paths(&s)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        args.to_vec()
    };
    if found.is_empty() && !allow_empty {
        let effect = if command == "exec" {
            "it would remove every anchor anchorage manages"
        } else {
            "the bundle would hold the system CAs alone"
        };
        return Err(Error::usage_hint(
            format!("{command}: no SOURCE given and ANCHORAGE_SOURCES is unset or empty ({effect})"),
            format!(
                "name the certificate files or directories (`anchorage {command} /run/cas ...`), set ANCHORAGE_SOURCES, or pass --allow-empty if that is what you want"
            ),
        ));
    }
    Ok(found)
}

fn is_unwritable(e: &Error) -> bool {
    match e {
        Error::Permission { .. } => true,
        Error::Io { source, .. } => matches!(
            source.raw_os_error(),
            Some(nix::libc::EROFS) | Some(nix::libc::EACCES) | Some(nix::libc::EPERM)
        ),
        _ => false,
    }
}

pub fn exec(global: &Global, req: &ExecRequest) -> ExecOutcome {
    exec_in(global, req, None)
}

/// `exec`, with the environment bundle written into `reuse` when given (`exec --watch`'s
/// re-syncs: the directory of the first start).
fn exec_in(global: &Global, req: &ExecRequest, reuse: Option<&Path>) -> ExecOutcome {
    let mut plan = ExecOutcome {
        report: None,
        error: None,
        program: req.program.clone(),
        env: Vec::new(),
        notice: None,
        bundle: None,
    };
    // A usage error starts no PROGRAM, even with --on-error=continue (as clap's own do not).
    // `--on-change` (shared with install/sync) is not honoured here: exec replaces itself with
    // PROGRAM, and under --watch a reload is what --reload is for. Ignored, it would look
    // like a hook that never fired.
    if !req.opts.on_change.is_empty() {
        plan.error = Some(Error::usage_hint(
            "exec: --on-change applies to install/sync/remove/watch",
            "with exec --watch use --reload=restart or --reload=signal:NAME to tell PROGRAM",
        ));
        return plan;
    }
    let srcs = match sources(&req.sources, req.allow_empty, "exec") {
        Ok(s) => s,
        Err(e) => {
            plan.error = Some(e);
            return plan;
        }
    };
    match step(global, req, &srcs, reuse, &mut plan) {
        Ok(report) => plan.report = Some(report),
        Err(f) => {
            plan.report = f.partial.map(|b| *b);
            if req.on_error == OnError::Continue {
                plan.notice = Some(format!(
                    "anchorage: error: {} (continuing: --on-error=continue)",
                    f.error
                ));
            } else {
                plan.error = Some(f.error);
            }
        }
    }
    plan
}

/// Sync the sources; when the system store cannot be written, fall back to the environment
/// bundle (and say so in `plan`).
fn step(
    global: &Global,
    req: &ExecRequest,
    srcs: &[PathBuf],
    reuse: Option<&Path>,
    plan: &mut ExecOutcome,
) -> std::result::Result<Report, Failure> {
    let opts = &req.opts;
    let wanted = desired(srcs, opts, Mode::Sync, Missing::Empty)?;
    let target = Target::open(&global.root, global.platform)?;
    let nss = nss::open(&target, &global.nss)?;
    let java = crate::store::java::open(&target, &global.java)?;
    match converge(&target, nss, java, &wanted, Mode::Sync, opts) {
        Err(f) if is_unwritable(&f.error) && !f.partial.as_ref().is_some_and(|p| p.changed) => {
            let wanted = &wanted.accepted;
            let policy = env_rules::Policy::new(req.keep_env, req.override_env);
            let (fb, dir_note) = fallback(&target, wanted, policy, reuse).map_err(Failure::from)?;
            let kept = kept_text(&fb.kept);
            plan.env = fb.env.clone();
            plan.bundle = fb.dir.clone().map(|dir| EnvBundle {
                dir,
                digest: fb.digest,
            });
            // The variables pointed at the combined bundle (the others have a note of their own).
            let shown_bundle = fb.bundle.as_ref().map(|p| p.display().to_string());
            let names: Vec<&str> = fb
                .env
                .iter()
                .filter(|(_, v)| Some(v) == shown_bundle.as_ref())
                .map(|(k, _)| k.as_str())
                .collect();
            let (notice, note) = match &fb.bundle {
                None if fb.env.is_empty() => (
                    format!(
                        "anchorage: system trust store not writable ({}); {} source certificate(s) not exported: no environment bundle written{kept}",
                        f.error,
                        wanted.len(),
                    ),
                    "environment bundle: not written (every variable kept)".to_string(),
                ),
                None => (
                    format!(
                        "anchorage: system trust store not writable ({}); {} source certificate(s) in the bundles the notes name{kept}",
                        f.error,
                        wanted.len(),
                    ),
                    "environment bundle: only the bundles the notes name".to_string(),
                ),
                Some(path) => (
                    format!(
                        "anchorage: system trust store not writable ({}); {} source certificate(s) in {} via {}{kept}",
                        f.error,
                        wanted.len(),
                        path.display(),
                        names.join(", "),
                    ),
                    format!("environment bundle: {}", path.display()),
                ),
            };
            plan.notice = Some(notice);
            let header = Header {
                platform: target.platform_name().to_string(),
                root: target.root.display().to_string(),
                check: opts.check,
            };
            // Where the bundle went is information, not a problem: a `note:` in text.
            let notes = std::iter::once(note)
                .chain(fb.lines.iter().cloned())
                .chain(dir_note)
                .collect();
            let mut report = crate::report::build(header, &[], &[], &[], None, notes);
            report.notes = report.warnings.clone();
            Ok(report)
        }
        Ok(report) => {
            // The system store holds the anchors now: Node.js reads it only through these.
            if !opts.check && !global.nss.no_system {
                plan.env = node_env(&target);
            }
            Ok(report)
        }
        other => other,
    }
}

/// `anchorage env`: build the bundle and return the `export` lines.
pub fn env(global: &Global, req: &EnvRequest) -> Result<String> {
    let srcs = sources(&req.sources, req.allow_empty, "env")?;
    let wanted = desired(&srcs, &req.opts, Mode::Sync, Missing::Empty)?;
    let target = Target::open(&global.root, global.platform)?;
    let policy = env_rules::Policy::new(req.keep_env, req.override_env);
    let (fb, note) = fallback(&target, &wanted.accepted, policy, None)?;
    let mut out: String = fb
        .env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
        .collect();
    // Comments for the shell that evaluates these lines: one line each, whatever the path.
    for line in fb.lines.iter().chain(&note) {
        out.push_str(&format!(
            "# note: {}\n",
            line.replace(char::is_control, "?")
        ));
    }
    for (k, why) in &fb.kept {
        out.push_str(&format!(
            "# {k} is already set; not overridden ({}; use --override-env)\n",
            why.replace(char::is_control, "?")
        ));
    }
    Ok(out)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The system effective bundle (as is) + the source anchors not already in it, and the
/// variables pointed at it or at the other files `env_rules` writes; plus a note when
/// `$XDG_RUNTIME_DIR` was passed over (see `bundle_dir`). `reuse`: write into this directory
/// again (`exec --watch`), unless it is no longer usable (then a new one, and a warning).
fn fallback(
    target: &Target,
    wanted: &[Candidate],
    policy: env_rules::Policy,
    reuse: Option<&Path>,
) -> Result<(env_rules::Outcome, Option<String>)> {
    let system = platform::in_root(&target.root, target.layout().bundle);
    let bytes = match std::fs::read(&system) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("cannot read the system bundle", &system, e)),
    };
    let combined = env_rules::append_sources(bytes, wanted);
    let mut note = None;
    // No variable to point at a bundle: build none (nothing is left behind in /tmp).
    let out = env_rules::apply(policy, &combined, &system, wanted, || {
        if let Some(path) = reuse {
            match bundle_dir::reopen(path) {
                Ok(dir) => return Ok(dir),
                Err(e) => tracing::warn!(
                    "exec --watch: the bundle directory cannot be used again ({}); a new one is made (PROGRAM's variables change with it)",
                    crate::text_safe::escape(&e.to_string())
                ),
            }
        }
        let mut dir = bundle_dir::open_dir()?;
        note = dir.note.take();
        Ok(dir)
    })?;
    Ok((out, note))
}

/// " (already set, kept: A, B; …)" for the notice, or nothing.
fn kept_text(kept: &[(&str, String)]) -> String {
    if kept.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = kept.iter().map(|(k, _)| *k).collect();
    format!(
        " (already set, kept: {}; use --override-env)",
        names.join(", ")
    )
}

/// After the system store took the anchors: `NODE_EXTRA_CA_CERTS` (read once at Node's start)
/// names the effective bundle and `NODE_USE_SYSTEM_CA=1` (Node >= 22.15/23.8) — each only
/// when unset.
fn node_env(target: &Target) -> Vec<(String, String)> {
    let bundle = platform::in_root(&target.root, target.layout().bundle);
    [
        ("NODE_EXTRA_CA_CERTS", bundle.display().to_string()),
        ("NODE_USE_SYSTEM_CA", "1".to_string()),
    ]
    .into_iter()
    .filter(|(k, _)| std::env::var_os(k).is_none_or(|v| v.is_empty()))
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// After `report::render` said to start PROGRAM: `exec --watch` supervises it
/// (`supervise`), plain `exec` replaces this process with it.
pub fn start(
    request: &crate::request::Request,
    program: &[OsString],
    env: &[(String, String)],
    bundle: Option<EnvBundle>,
) -> u8 {
    if let crate::request::Command::Exec(req) = &request.command {
        if let Some(watch) = &req.watch {
            return crate::supervise::supervise(&request.global, req, watch, program, env, bundle);
        }
    }
    replace_process(program, env)
}

/// `exec --watch`, after a change: the same step again, printed like the first start and
/// recorded; whether it changed what PROGRAM trusts, and PROGRAM's environment when the step
/// succeeded. `bundle`: the environment bundle of the last good step. In the fallback the
/// bundle is rewritten in its directory (same paths: PROGRAM's variables stay valid, and
/// `--reload=none` really updates what it reads), and a different content counts as a change
/// (the system store did not change, so the report alone would never say so).
pub fn resync(
    global: &Global,
    req: &ExecRequest,
    bundle: &mut Option<EnvBundle>,
) -> (bool, Option<Vec<(String, String)>>) {
    let reuse = bundle.as_ref().map(|b| b.dir.clone());
    let mut outcome = exec_in(global, req, reuse.as_deref());
    outcome.error = outcome.error.map(|e| e.in_root(&global.root));
    let continued = outcome
        .notice
        .as_ref()
        .is_some_and(|n| n.starts_with("anchorage: error:"));
    let ok = outcome.error.is_none() && !continued;
    let store_changed = outcome.report.as_ref().is_some_and(|r| r.changed);
    let bundle_changed =
        ok && outcome.bundle.as_ref().map(|b| &b.digest) != bundle.as_ref().map(|b| &b.digest);
    let changed = store_changed || bundle_changed;
    if ok {
        *bundle = outcome.bundle.clone();
    }
    crate::last_run::record(&global.root, "exec", ok, changed);
    let env = ok.then(|| outcome.env.clone());
    // An error is printed, never fatal here: PROGRAM keeps running on the last good state.
    let _ = crate::report::render(
        Ok(crate::report::Outcome::Exec(outcome)),
        global.format,
        global.quiet,
    );
    (changed, env)
}

/// PROGRAM's environment: ours without our secrets (the PKCS#12 password is not PROGRAM's
/// business), with the fallback variables set.
pub fn program_env(env: &[(String, String)]) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !crate::run::is_secret(k))
        .filter(|(k, _)| !env.iter().any(|(e, _)| k.as_bytes() == e.as_bytes()))
        .collect();
    vars.extend(
        env.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    vars
}

/// Replace the process with PROGRAM (PATH lookup, environment passed through plus `env`).
/// Returns only on failure: 127 not found, 126 not executable.
pub fn replace_process(program: &[OsString], env: &[(String, String)]) -> u8 {
    // No set_var: execvpe takes the new environment explicitly.
    let vars = program_env(env);
    let envp: Vec<CString> = vars
        .iter()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let args: Vec<CString> = match program.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("anchorage: error: PROGRAM contains a NUL byte");
            return 2;
        }
    };
    let Some(first) = args.first() else {
        eprintln!("anchorage: error: no PROGRAM after --");
        return 2;
    };
    let err = match nix::unistd::execvpe(first, &args, &envp) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    cannot_run(&first.to_string_lossy(), err)
}

/// PROGRAM could not be started: the message, the hint and the exit code (127 not found, 126
/// not executable).
pub fn cannot_run(program: &str, err: nix::errno::Errno) -> u8 {
    eprintln!("anchorage: error: cannot run {program}: {err}");
    let (hint, code) = match err {
        nix::errno::Errno::ENOENT => (
            format!("{program} is not in PATH: give its full path after `--`, or install it"),
            127,
        ),
        nix::errno::Errno::EACCES => (
            format!("{program} is not executable: check its mode and the file system's noexec"),
            126,
        ),
        _ => ("check PROGRAM after `--`".to_string(), 126),
    };
    eprintln!("  hint: {hint}");
    code
}
