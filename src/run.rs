//! The one place that runs external programs: argv vectors (never a shell), a fixed safe
//! PATH, a timeout, stdout/stderr captured, the full command logged at debug level.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Status};

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

/// Run `argv` with the safe PATH and `LC_ALL=C`, stdin closed, output captured, killed after
/// `timeout`.
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
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .args(args)
        .env("PATH", SAFE_PATH)
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills the hook and everything it started (a
        // grandchild holding our pipes open would otherwise keep us waiting).
        .process_group(0)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingProgram {
                    program: shown[0].clone(),
                    in_tree: None,
                    hint: Some(format!(
                        "install the package that provides {} (looked up in {SAFE_PATH})",
                        shown[0]
                    )),
                }
            } else {
                Error::Failed {
                    msg: format!("cannot run `{}`: {e}", shown.join(" ")),
                    path: None,
                    hint: Some(format!(
                        "check that {} is an executable the current user may run",
                        shown[0]
                    )),
                }
            }
        })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A hook that does not read its input must not block us: write from a thread.
        let input = input.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        });
    }
    let out_reader = child.stdout.take().map(spawn_reader);
    let err_reader = child.stderr.take().map(spawn_reader);
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                timed_out = true;
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                return Err(Error::Failed {
                    msg: format!("waiting for `{}`: {e}", shown.join(" ")),
                    path: None,
                    hint: None,
                })
            }
        }
    };
    let stdout = out_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    let out = Output {
        argv: shown,
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        timed_out,
    };
    tracing::debug!(code = ?out.code, stderr = %out.stderr.trim(), "finished");
    Ok(out)
}

fn spawn_reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}
