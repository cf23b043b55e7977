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
use crate::report::{ExecOutcome, Failure, Header, Report};
use crate::request::{EnvRequest, ExecRequest, Global, OnError};
use crate::store::{bundle, nss};
use crate::text_safe::escape;

mod bundle_dir;

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
    let mut plan = ExecOutcome {
        report: None,
        error: None,
        program: req.program.clone(),
        env: Vec::new(),
        notice: None,
    };
    // A usage error starts no PROGRAM, even with --on-error=continue (as clap's own do not).
    let srcs = match sources(&req.sources, req.allow_empty, "exec") {
        Ok(s) => s,
        Err(e) => {
            plan.error = Some(e);
            return plan;
        }
    };
    match step(global, req, &srcs, &mut plan) {
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
    plan: &mut ExecOutcome,
) -> std::result::Result<Report, Failure> {
    let opts = &req.opts;
    let wanted = desired(srcs, opts, Mode::Sync, Missing::Empty)?;
    let target = Target::open(&global.root, global.platform)?;
    let nss = nss::open(&target, &global.nss)?;
    match converge(&target, nss, &wanted, Mode::Sync, opts) {
        Err(f) if is_unwritable(&f.error) && !f.partial.as_ref().is_some_and(|p| p.changed) => {
            let wanted = &wanted.accepted;
            let names = vars_to_set(req.override_env);
            let kept: Vec<&str> = ENV_VARS
                .iter()
                .copied()
                .filter(|k| !names.contains(k))
                .collect();
            let kept = if kept.is_empty() {
                String::new()
            } else {
                format!(
                    " (already set, kept: {}; use --override-env)",
                    kept.join(", ")
                )
            };
            // No variable to point at a bundle: build none (nothing is left behind in /tmp).
            let mut dir_note = None;
            let (notice, warning) = if names.is_empty() {
                (
                    format!(
                        "anchorage: system trust store not writable ({}); {} source certificate(s) not exported: no environment bundle written{kept}",
                        f.error,
                        wanted.len(),
                    ),
                    "environment bundle: not written (every variable already set)".to_string(),
                )
            } else {
                let (path, note) = fallback_bundle(&target, wanted).map_err(Failure::from)?;
                dir_note = note;
                plan.env = env_for(&path, &names);
                (
                    format!(
                        "anchorage: system trust store not writable ({}); {} source certificate(s) in {} via {}{kept}",
                        f.error,
                        wanted.len(),
                        path.display(),
                        names.join(", "),
                    ),
                    format!("environment bundle: {}", path.display()),
                )
            };
            plan.notice = Some(notice);
            let header = Header {
                platform: target.platform_name().to_string(),
                root: target.root.display().to_string(),
                check: opts.check,
            };
            // Where the bundle went is information, not a problem: a `note:` in text.
            let notes = std::iter::once(warning).chain(dir_note).collect();
            let mut report = crate::report::build(header, &[], &[], &[], None, notes);
            report.notes = report.warnings.clone();
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
    let names = vars_to_set(req.override_env);
    // Nothing to export: no bundle, so no private directory is created (or left behind).
    let (vars, note) = if names.is_empty() {
        (Vec::new(), None)
    } else {
        let (path, note) = fallback_bundle(&target, &wanted.accepted)?;
        (env_for(&path, &names), note)
    };
    let mut out: String = vars
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
        .collect();
    if let Some(note) = note {
        // A comment for the shell that evaluates these lines: one line, whatever the path.
        out.push_str(&format!(
            "# note: {}\n",
            note.replace(char::is_control, "?")
        ));
    }
    for k in ENV_VARS
        .iter()
        .filter(|k| !vars.iter().any(|(e, _)| e == *k))
    {
        out.push_str(&format!(
            "# {k} is already set; not overridden (use --override-env)\n"
        ));
    }
    Ok(out)
}

/// The variables we would set: all of them with --override-env, else those not already set.
fn vars_to_set(override_env: bool) -> Vec<&'static str> {
    ENV_VARS
        .iter()
        .copied()
        .filter(|k| override_env || std::env::var_os(k).is_none_or(|v| v.is_empty()))
        .collect()
}

fn env_for(path: &Path, names: &[&str]) -> Vec<(String, String)> {
    let value = path.display().to_string();
    names
        .iter()
        .map(|k| (k.to_string(), value.clone()))
        .collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// System effective bundle (as is) + the source anchors not already in it; its path, and a
/// note when `$XDG_RUNTIME_DIR` was passed over (see `bundle_dir`).
fn fallback_bundle(target: &Target, wanted: &[Candidate]) -> Result<(PathBuf, Option<String>)> {
    let system = platform::in_root(&target.root, target.layout().bundle);
    let mut bytes = match std::fs::read(&system) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("cannot read the system bundle", &system, e)),
    };
    let present = bundle::digests(&bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    for c in wanted.iter().filter(|c| !present.contains(&c.cert.sha256)) {
        // The comment is one line whatever the subject or file name holds: a newline there
        // would let the certificate's own text add a PEM block (a hidden anchor) to the bundle.
        let comment = format!(
            "# anchorage: {} (from {})\n",
            escape(&c.cert.subject),
            escape(&c.source)
        );
        bytes.extend_from_slice(comment.as_bytes());
        bytes.extend_from_slice(c.cert.to_pem().as_bytes());
    }
    let mut dir = bundle_dir::open_dir()?;
    let note = dir.note.take();
    // A failed write removes a fresh directory again (dropped without being kept).
    Ok((dir.write(&bytes)?, note))
}

/// After `report::render` said to start PROGRAM: `exec --watch` supervises it
/// (`supervise`), plain `exec` replaces this process with it.
pub fn start(
    request: &crate::request::Request,
    program: &[OsString],
    env: &[(String, String)],
) -> u8 {
    if let crate::request::Command::Exec(req) = &request.command {
        if let Some(watch) = &req.watch {
            return crate::supervise::supervise(&request.global, req, watch, program, env);
        }
    }
    replace_process(program, env)
}

/// `exec --watch`, after a change: the same step again, printed like the first start and
/// recorded; whether it changed the store, and PROGRAM's environment when the step succeeded.
pub fn resync(global: &Global, req: &ExecRequest) -> (bool, Option<Vec<(String, String)>>) {
    let mut outcome = exec(global, req);
    outcome.error = outcome.error.map(|e| e.in_root(&global.root));
    let changed = outcome.report.as_ref().is_some_and(|r| r.changed);
    let continued = outcome
        .notice
        .as_ref()
        .is_some_and(|n| n.starts_with("anchorage: error:"));
    let ok = outcome.error.is_none() && !continued;
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
