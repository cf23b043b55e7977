//! `exec --watch`: anchorage stays PID 1 as a minimal supervisor instead of replacing itself.
//! PROGRAM runs as our child (same process group, environment as `exec` gives it); every
//! signal we can catch is forwarded to it; every child that ends is reaped (orphans re-parented
//! to PID 1 included); when PROGRAM ends we exit with its code (128 + signal when it was
//! killed). Between signals the sources are watched (`watcher::Loop`); after a debounced
//! change `exec`'s step runs again, and when it changed the store `--reload` applies: `none`
//! (the store is updated, nothing else), `signal:SIG` (sent to PROGRAM) or `restart` (SIGTERM,
//! `--grace` seconds, SIGKILL, start again). A failed re-sync is reported and keeps PROGRAM
//! and the last good state. In the environment-bundle fallback (not root, read-only root) the
//! re-sync rewrites the bundle in the first start's directory (PROGRAM's variables stay
//! valid) and a bundle whose content changed counts as a change.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::request::{ExecRequest, ExecWatch, Global, Reload};
use crate::watcher::{Loop, Wake};

/// The signals forwarded to PROGRAM (every catchable one but SIGCHLD, which is ours, and the
/// synchronous fault signals, which concern only the process that faults).
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGWINCH,
    Signal::SIGURG,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
];

/// Signals after which a pending restart is not done: PROGRAM is being stopped.
fn stops(sig: Signal) -> bool {
    matches!(sig, Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT)
}

struct Child {
    pid: Pid,
}

/// Run PROGRAM under supervision; the exit code to end with.
pub fn supervise(
    global: &Global,
    req: &ExecRequest,
    watch: &ExecWatch,
    program: &[OsString],
    env: &[(String, String)],
    mut bundle: Option<crate::report::EnvBundle>,
) -> u8 {
    let sources = match crate::commands::exec::sources(&req.sources, req.allow_empty, "exec") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("anchorage: error: {e}");
            return crate::error::code::USAGE;
        }
    };
    let mut signals: Vec<Signal> = FORWARDED.to_vec();
    signals.push(Signal::SIGCHLD);
    let mut events = match Loop::new(&sources, &signals, watch.debounce) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "anchorage: error: exec --watch: {}",
                crate::text_safe::escape(&e.to_string())
            );
            return e.exit_code();
        }
    };
    let mut env = env.to_vec();
    let mut child = match spawn(program, &env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    loop {
        let wake = match events.next(None) {
            Ok(Some(w)) => w,
            Ok(None) => continue,
            Err(e) => {
                // The watch failed (poll): keep supervising without it would need another
                // loop; stop PROGRAM the way `docker stop` would and report.
                eprintln!("anchorage: error: exec --watch: {e}");
                let _ = kill(child.pid, Signal::SIGTERM);
                return wait_for(&child);
            }
        };
        match wake {
            Wake::Signal(Signal::SIGCHLD) => {
                if let Some(code) = reap(&child) {
                    return code;
                }
            }
            Wake::Signal(sig) => {
                let _ = kill(child.pid, sig);
            }
            Wake::Sync => {
                tracing::info!("exec --watch: the sources changed; syncing");
                let (changed, new_env) = crate::commands::exec::resync(global, req, &mut bundle);
                if let Some(e) = new_env {
                    env = e;
                }
                if !changed {
                    continue;
                }
                match &watch.reload {
                    Reload::None => {}
                    Reload::Signal(n) => {
                        if let Ok(sig) = Signal::try_from(*n) {
                            let _ = kill(child.pid, sig);
                        }
                    }
                    Reload::Restart => match restart(&mut events, &child, watch.grace) {
                        Restarted::Stopped(code) => return code,
                        Restarted::Ended { changed_meanwhile } => {
                            match spawn(program, &env) {
                                Ok(c) => child = c,
                                Err(code) => return code,
                            }
                            // The sources changed again while PROGRAM was stopping: that
                            // change is synced now (after the debounce), not lost.
                            if changed_meanwhile {
                                events.requeue();
                            }
                        }
                    },
                }
            }
        }
    }
}

enum Restarted {
    /// PROGRAM ended for the restart: start it again; and sync again when the sources
    /// changed during the restart.
    Ended { changed_meanwhile: bool },
    /// A stop signal came during the restart: exit with this code.
    Stopped(u8),
}

/// SIGTERM to PROGRAM, `grace` to end, then SIGKILL; signals keep being forwarded meanwhile.
fn restart(events: &mut Loop, child: &Child, grace: Duration) -> Restarted {
    let _ = kill(child.pid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut killed = false;
    let mut stopping = false;
    let mut changed_meanwhile = false;
    let ended = |stopping: bool, code: u8, changed_meanwhile: bool| {
        if stopping {
            Restarted::Stopped(code)
        } else {
            Restarted::Ended { changed_meanwhile }
        }
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = if killed { None } else { Some(left) };
        match events.next(limit) {
            Err(e) => {
                // The watch broke: end PROGRAM without it (a poll error must not spin).
                tracing::warn!("exec --watch: {e}; SIGKILL");
                let _ = kill(child.pid, Signal::SIGKILL);
                let code = wait_for(child);
                return ended(stopping, code, changed_meanwhile);
            }
            Ok(None) => {
                if !killed {
                    tracing::warn!(
                        "exec --watch: PROGRAM still running {:.1} s after SIGTERM; SIGKILL",
                        grace.as_secs_f64()
                    );
                    let _ = kill(child.pid, Signal::SIGKILL);
                    killed = true;
                }
            }
            Ok(Some(Wake::Signal(Signal::SIGCHLD))) => {
                if let Some(code) = reap(child) {
                    return ended(stopping, code, changed_meanwhile);
                }
            }
            Ok(Some(Wake::Signal(sig))) => {
                stopping |= stops(sig);
                let _ = kill(child.pid, sig);
            }
            // A change during the restart: synced after the new start (see `requeue`).
            Ok(Some(Wake::Sync)) => changed_meanwhile = true,
        }
    }
}

/// Reap every ended child; PROGRAM's exit code when it is among them.
fn reap(child: &Child) -> Option<u8> {
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(status) => {
                if status.pid() == Some(child.pid) {
                    code = exit_code(status);
                }
            }
        }
    }
}

/// Block until PROGRAM ends (the failure path).
fn wait_for(child: &Child) -> u8 {
    loop {
        match waitpid(child.pid, None) {
            Ok(status) => {
                if let Some(c) = exit_code(status) {
                    return c;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return crate::error::code::FAILURE,
        }
    }
}

fn exit_code(status: WaitStatus) -> Option<u8> {
    match status {
        WaitStatus::Exited(_, c) => Some(u8::try_from(c & 0xff).unwrap_or(1)),
        WaitStatus::Signaled(_, sig, _) => Some(128u8.wrapping_add(sig as i32 as u8)),
        _ => None,
    }
}

/// Start PROGRAM with `exec`'s environment; on failure the exit code (127 not found, 126 not
/// executable) after the same messages `exec` prints.
fn spawn(program: &[OsString], env: &[(String, String)]) -> Result<Child, u8> {
    let Some((first, args)) = program.split_first() else {
        eprintln!("anchorage: error: no PROGRAM after --");
        return Err(crate::error::code::USAGE);
    };
    let vars = crate::commands::exec::program_env(env);
    let mut cmd = std::process::Command::new(first);
    cmd.args(args).env_clear().envs(vars);
    // SAFETY: only async-signal-safe system calls (sigprocmask, prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // The signals we block (to read them from the signalfd) must not stay blocked in
            // PROGRAM: std's spawn does not reset the mask it inherits.
            crate::run::unblock_signals()?;
            // The supervisor killed (even with -9) takes PROGRAM with it: SIGKILL, as for the
            // hooks (`run`), since an agent that ignores or traps SIGTERM would otherwise
            // outlive us unsupervised. PROGRAM's graceful stop is the forwarded SIGTERM of a
            // supervisor that is itself stopped, not this.
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(c) => {
            let pid = Pid::from_raw(c.id() as i32);
            tracing::debug!("exec --watch: PROGRAM started, pid {pid}");
            // Reaped by `reap` (waitpid), not by std's Child.
            std::mem::forget(c);
            Ok(Child { pid })
        }
        Err(e) => {
            let errno = e
                .raw_os_error()
                .map(nix::errno::Errno::from_raw)
                .unwrap_or(nix::errno::Errno::EINVAL);
            let name = String::from_utf8_lossy(first.as_bytes()).into_owned();
            Err(crate::commands::exec::cannot_run(&name, errno))
        }
    }
}
