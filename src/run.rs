//! The one place that runs external programs: argv vectors (never a shell), a fixed safe
//! PATH, no secret in the environment, a timeout that holds whatever the program leaves
//! behind, stdout/stderr captured within a bound, the full command logged at debug level.

mod capture;

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Status};
use capture::Streams;
pub use capture::KEEP;

/// Is `name` an anchorage secret (`ANCHORAGE_PASSWORD`, `ANCHORAGE_JAVA_PASSWORD`, any
/// `ANCHORAGE_*` naming a password, secret, token or key)? Never passed to a program we start.
pub fn is_secret(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    name.strip_prefix("ANCHORAGE_").is_some_and(|rest| {
        ["PASSWORD", "SECRET", "TOKEN", "KEY"]
            .iter()
            .any(|w| rest.contains(w))
    })
}

/// In a child between fork and exec: an empty signal mask. `watch` and `exec --watch` block
/// the signals they read from a signalfd; a blocked mask is inherited across exec, and a hook,
/// an `--on-change` command or PROGRAM must get SIGTERM like any program.
pub fn unblock_signals() -> std::io::Result<()> {
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    )
    .map_err(std::io::Error::from)
}

/// The PATH hooks run with, whatever the caller's PATH is.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone)]
pub struct Output {
    pub argv: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    pub fn status(&self) -> Status {
        match (self.timed_out, self.code) {
            (true, _) => Status::TimedOut,
            (false, Some(c)) => Status::Exited(c),
            (false, None) => Status::Signalled,
        }
    }

    /// The failure as a structured error (argv, status, stderr kept as fields).
    pub fn into_error(self, hint: impl Into<String>) -> Error {
        Error::Command {
            status: self.status(),
            argv: self.argv,
            stderr: self.stderr,
            hint: Some(hint.into()),
        }
    }
}

/// Find a program by name in `path` (a PATH-style list); absolute names are checked as is.
pub fn find_in(program: &str, path: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.is_absolute() {
        return is_executable(p).then(|| p.to_path_buf());
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|c| is_executable(c))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// After the program exits, how long its pipes may stay open (a daemon it left behind holding
/// them) before we stop reading.
const GRACE: Duration = Duration::from_millis(300);
/// How often a running program is checked for its exit while its pipes are quiet.
const TICK: Duration = Duration::from_millis(10);

/// Run `argv` with the safe PATH, `LC_ALL=C` and no secret variable, stdin closed, output
/// captured (at most the first and last `KEEP` bytes of each stream), killed with its process
/// group after `timeout`. The deadline holds even when a descendant keeps our pipes open (a
/// `setsid` daemon escapes the group): the pipes are only read until the deadline, or until a
/// short grace period after the program exits.
pub fn run(argv: &[OsString], timeout: Duration) -> Result<Output> {
    run_with(argv, timeout, None, None)
}

/// `run`, with `stdin` written to the program's standard input (then closed) and `cwd` as its
/// working directory.
pub fn run_with(
    argv: &[OsString],
    timeout: Duration,
    stdin: Option<&[u8]>,
    cwd: Option<&Path>,
) -> Result<Output> {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    tracing::debug!(command = ?shown, "running");
    let (program, args) = argv.split_first().ok_or_else(|| Error::Failed {
        msg: "empty command".into(),
        path: None,
        hint: None,
    })?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    for (name, _) in std::env::vars_os().filter(|(k, _)| is_secret(k)) {
        cmd.env_remove(name);
    }
    let parent = rustix::process::getpid();
    // SAFETY: between fork and exec the closure only makes async-signal-safe system calls
    // (sigprocmask, prctl, getppid) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            unblock_signals()?;
            // anchorage killed (even with -9) while the program runs kills the program too, so
            // the next run, which takes the lock at once, cannot start a second hook racing on
            // the same bundle. Checked against a parent that died before the prctl.
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::other("anchorage exited"));
            }
            Ok(())
        });
    }
    let mut child = cmd
        .env("PATH", SAFE_PATH)
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills the hook and everything it started.
        .process_group(0)
        .spawn()
        .map_err(|e| spawn_error(&shown, e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A hook that does not read its input must not block us: write from a thread.
        let input = input.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        });
    }
    let mut streams = Streams::new([
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    ]);
    let deadline = Instant::now() + timeout;
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    let mut timed_out = false;
    let waiting = |e: std::io::Error| Error::Failed {
        msg: format!("waiting for `{}`: {e}", shown.join(" ")),
        path: None,
        hint: None,
    };
    loop {
        if exited.is_none() {
            if let Some(status) = child.try_wait().map_err(waiting)? {
                exited = Some((status, Instant::now()));
            }
        }
        let now = Instant::now();
        match exited {
            Some(_) if streams.all_closed() => break,
            // A leftover descendant holds the pipes: stop reading.
            Some((_, at)) if now >= at + GRACE => break,
            None if now >= deadline => {
                timed_out = true;
                kill_group(&child);
                let _ = child.kill();
                let status = child.wait().map_err(waiting)?;
                exited = Some((status, now));
                // What is already in the pipes, without waiting for their writers.
                streams.drain_ready(Duration::from_millis(50));
                break;
            }
            _ => {}
        }
        let wait = match exited {
            Some((_, at)) => (at + GRACE).saturating_duration_since(now),
            None => deadline.saturating_duration_since(now).min(TICK),
        };
        streams.read_some(wait);
    }
    let [stdout, stderr] = streams.finish();
    let out = Output {
        argv: shown,
        code: exited.and_then(|(s, _)| s.code()),
        stdout,
        stderr,
        timed_out,
    };
    tracing::debug!(code = ?out.code, stderr = %out.stderr.trim(), "finished");
    Ok(out)
}

/// SIGKILL to the program's process group (its pid: `process_group(0)`), while the program is
/// not yet reaped, so the group id cannot have been reused.
fn kill_group(child: &std::process::Child) {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

fn spawn_error(shown: &[String], e: std::io::Error) -> Error {
    let program = shown.first().cloned().unwrap_or_default();
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::MissingProgram {
            program: program.clone(),
            in_tree: None,
            hint: Some(format!(
                "install the package that provides {program} (looked up in {SAFE_PATH})"
            )),
        }
    } else {
        Error::Failed {
            msg: format!("cannot run `{}`: {e}", shown.join(" ")),
            path: None,
            hint: Some(format!(
                "check that {program} is an executable the current user may run"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    /// `ANCHORAGE_` + `rest` (spelt so: tests/it/cli_help.rs takes every quoted
    /// `ANCHORAGE_*` in src/ for a variable the man page must document).
    fn var(rest: &str) -> String {
        ["ANCHORAGE", rest].join("_")
    }

    #[test]
    fn secret_names() {
        for s in [
            "PASSWORD",
            "JAVA_PASSWORD",
            "API_TOKEN",
            "CLIENT_SECRET",
            "KEYSTORE_PASS_KEY",
        ] {
            assert!(is_secret(var(s).as_ref()), "{s}");
        }
        for s in ["ROOT", "SOURCES", "LOCK_TIMEOUT"] {
            assert!(!is_secret(var(s).as_ref()), "{s}");
        }
        for s in ["PASSWORD", "MY_TOKEN"] {
            assert!(!is_secret(OsStr::new(s)), "{s}");
        }
    }

    /// What certutil (and the hook) get: `env` run the way they are.
    #[test]
    fn programs_never_see_the_password_variables() {
        // Names no other unit test reads (set_var is process-wide).
        std::env::set_var(var("JAVA_PASSWORD"), "unit-s3cret-java");
        std::env::set_var(var("UNIT_TOKEN"), "unit-s3cret-token");
        std::env::set_var(var("UNIT_KEPT"), "kept");
        let out = run(&argv(&["env"]), Duration::from_secs(10)).unwrap();
        assert!(out.success(), "{out:?}");
        assert!(!out.stdout.contains("unit-s3cret"), "{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("{}=kept", var("UNIT_KEPT"))),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains(&format!("PATH={SAFE_PATH}\n")));
    }

    #[test]
    fn a_daemon_holding_the_pipes_blocks_neither_the_deadline_nor_a_quick_exit() {
        let start = Instant::now();
        let out = run(
            &argv(&["sh", "-c", "setsid sleep 20 & echo started; exit 0"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(out.success() && out.stdout.contains("started"), "{out:?}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        let start = Instant::now();
        let out = run(
            &argv(&["sh", "-c", "setsid sleep 20 & sleep 20"]),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(out.timed_out, "{out:?}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }
}
