//! The one error type of anchorage. Every variant maps to exactly one documented exit code
//! (see `Error::exit_code` and the README's "Exit codes" table); messages name the path
//! and the cause, and `hint` gives the fix.

use std::path::{Path, PathBuf};

/// Exit codes (sysexits.h values where one fits). Documented in the README.
pub mod code {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATAERR: u8 = 65;
    pub const NOINPUT: u8 = 66;
    pub const UNAVAILABLE: u8 = 69;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const NOPERM: u8 = 77;
}

/// How a program anchorage ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signalled,
    TimedOut,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exit {c}"),
            Status::Signalled => f.write_str("killed by a signal"),
            Status::TimedOut => f.write_str("timed out"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong combination of options or arguments.
    #[error("{msg}")]
    Usage { msg: String, hint: Option<String> },

    /// A source exists but cannot be used: unparseable, no certificate, wrong password,
    /// policy refusal, too large, not a regular file.
    #[error("{}: {msg}", path.display())]
    BadInput {
        path: PathBuf,
        msg: String,
        hint: Option<String>,
    },

    /// A source does not exist.
    #[error("{}: no such file or directory", path.display())]
    NoInput { path: PathBuf },

    /// A program anchorage needs is not installed.
    #[error("{program} not found{}", in_tree.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    MissingProgram {
        program: String,
        in_tree: Option<PathBuf>,
        hint: Option<String>,
    },

    /// Reading or writing a file failed.
    #[error("{what}: {}: {}", path.display(), describe_io(source))]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },

    /// Connecting to or talking with a server (`verify`) failed; `endpoint` is `host:port`.
    #[error("{what}: {endpoint}: {}", describe_io(source))]
    Network {
        what: String,
        endpoint: String,
        source: std::io::Error,
    },

    /// A write was refused for safety (symlink, path outside the root).
    #[error("{msg}: {}", path.display())]
    Unsafe { path: PathBuf, msg: String },

    /// A directory anchorage writes into for the caller (the `env`/`exec` bundle directory) is
    /// not private: another user could replace what is written there. Exit 77 like `Unsafe`.
    #[error("{msg}: {}", path.display())]
    NotPrivate {
        path: PathBuf,
        msg: String,
        hint: String,
    },

    /// Not allowed to read or write `path`; `access` says what kind of path it is (the remedy
    /// differs).
    #[error("permission denied: {}", path.display())]
    Permission { path: PathBuf, access: Access },

    /// A program anchorage ran (hook, certutil) failed: its argv, how it ended, its stderr.
    #[error("`{}` failed ({status}){}", argv.join(" "), stderr_suffix(stderr))]
    Command {
        argv: Vec<String>,
        status: Status,
        stderr: String,
        hint: Option<String>,
    },

    /// A program anchorage ran (the hook) failed because a file system is full: its stderr
    /// says so, or the file system of `path` (the effective bundle's directory) has no free
    /// block left.
    #[error("`{}` failed ({status}): {}: disk full (no space left on device){}", argv.join(" "), path.display(), stderr_suffix(stderr))]
    CommandDiskFull {
        argv: Vec<String>,
        status: Status,
        stderr: String,
        path: PathBuf,
    },

    /// Another anchorage run held the tree's lock (`path`) for longer than `--lock-timeout`
    /// (`waited` seconds); `holder`: its pid when known.
    #[error("{}: another anchorage run{} holds the lock; gave up after {waited} s", path.display(), holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        path: PathBuf,
        holder: Option<u32>,
        waited: u64,
    },

    /// A step ran but did not produce the expected effect, or a conflict stops the run.
    #[error("{msg}")]
    Failed {
        msg: String,
        path: Option<PathBuf>,
        hint: Option<String>,
    },
}

/// What a refused path is, for the hint of `Error::Permission`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A file the user named (a SOURCE, the password file): reading it was refused.
    Source,
    /// A path of the target tree; `root` is the `--root` tree when one other than `/` was
    /// given (set by `Error::in_root`).
    Tree { root: Option<PathBuf> },
}

fn stderr_suffix(stderr: &str) -> String {
    let err = stderr.trim();
    if err.is_empty() {
        String::new()
    } else {
        format!(": {err}")
    }
}

fn describe_io(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(nix::libc::ENOSPC) {
        "disk full (no space left on device)".into()
    } else if e.raw_os_error() == Some(nix::libc::EROFS) {
        "read-only file system".into()
    } else {
        e.to_string()
    }
}

impl Error {
    pub fn bad_input(
        path: impl AsRef<Path>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::BadInput {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage {
            msg: msg.into(),
            hint: None,
        }
    }

    pub fn usage_hint(msg: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            msg: msg.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn failed(msg: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Failed {
            msg: msg.into(),
            path: None,
            hint: Some(hint.into()),
        }
    }

    pub fn network(
        what: impl Into<String>,
        endpoint: impl Into<String>,
        source: std::io::Error,
    ) -> Self {
        Error::Network {
            what: what.into(),
            endpoint: endpoint.into(),
            source,
        }
    }

    /// Wrap an I/O error on a path of the target tree, turning EACCES/EPERM into
    /// `Permission` so the caller gets 77.
    pub fn io(what: impl Into<String>, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::io_on(what, path, source, Access::Tree { root: None })
    }

    /// `io` for a file the user named (a SOURCE, the password file).
    pub fn io_source(
        what: impl Into<String>,
        path: impl AsRef<Path>,
        source: std::io::Error,
    ) -> Self {
        Self::io_on(what, path, source, Access::Source)
    }

    fn io_on(
        what: impl Into<String>,
        path: impl AsRef<Path>,
        source: std::io::Error,
        access: Access,
    ) -> Self {
        let path = path.as_ref().to_path_buf();
        match source.raw_os_error() {
            Some(nix::libc::EACCES) | Some(nix::libc::EPERM) => Error::Permission { path, access },
            Some(nix::libc::ELOOP) => Error::Unsafe {
                path,
                msg: "refusing to follow a symbolic link".into(),
            },
            _ => Error::Io {
                what: what.into(),
                path,
                source,
            },
        }
    }

    /// Say which `--root` tree a refused tree path belongs to (`/` is no tree of its own).
    pub fn in_root(self, root: &Path) -> Self {
        match self {
            Error::Permission {
                path,
                access: Access::Tree { root: None },
            } if root != Path::new("/") => Error::Permission {
                path,
                access: Access::Tree {
                    root: Some(root.to_path_buf()),
                },
            },
            other => other,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => code::USAGE,
            Error::BadInput { .. } => code::DATAERR,
            Error::NoInput { .. } => code::NOINPUT,
            Error::MissingProgram { .. } => code::UNAVAILABLE,
            Error::Io { .. } | Error::Network { .. } | Error::CommandDiskFull { .. } => code::IOERR,
            Error::Busy { .. } => code::TEMPFAIL,
            Error::Unsafe { .. } | Error::NotPrivate { .. } | Error::Permission { .. } => {
                code::NOPERM
            }
            Error::Command { .. } | Error::Failed { .. } => code::FAILURE,
        }
    }

    /// Stable machine-readable kind for the JSON `error.kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "usage",
            Error::BadInput { .. } => "bad_input",
            Error::NoInput { .. } => "no_input",
            Error::MissingProgram { .. } => "missing_program",
            Error::Io { .. } | Error::Network { .. } | Error::CommandDiskFull { .. } => "io",
            Error::Busy { .. } => "busy",
            Error::Unsafe { .. } | Error::NotPrivate { .. } => "unsafe_path",
            Error::Permission { .. } => "permission_denied",
            Error::Command { .. } | Error::Failed { .. } => "failed",
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::BadInput { path, .. }
            | Error::NoInput { path }
            | Error::Io { path, .. }
            | Error::Unsafe { path, .. }
            | Error::NotPrivate { path, .. }
            | Error::Permission { path, .. }
            | Error::CommandDiskFull { path, .. }
            | Error::Busy { path, .. } => Some(path),
            Error::MissingProgram { in_tree, .. } => in_tree.as_deref(),
            Error::Failed { path, .. } => path.as_deref(),
            Error::Usage { .. } | Error::Network { .. } | Error::Command { .. } => None,
        }
    }

    /// Where it failed, for the JSON `error.path` field: a path, or the `host:port` of a
    /// network error.
    pub fn location(&self) -> Option<String> {
        match self {
            Error::Network { endpoint, .. } => Some(endpoint.clone()),
            other => other.path().map(|p| p.display().to_string()),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::BadInput { hint, .. }
            | Error::Usage { hint, .. }
            | Error::MissingProgram { hint, .. }
            | Error::Command { hint, .. }
            | Error::Failed { hint, .. } => hint.clone(),
            Error::NotPrivate { hint, .. } => Some(hint.clone()),
            Error::NoInput { .. } => {
                Some("check the path; use `-` to read from standard input".into())
            }
            Error::Permission { access, .. } => Some(match access {
                Access::Source => {
                    "make the file readable by this user (its mode, owner and directories), or run as root"
                        .into()
                }
                Access::Tree { root: None } => {
                    "run as root, or use --root DIR for a tree this user can write".into()
                }
                Access::Tree { root: Some(r) } => format!(
                    "run as root, or as a user who can write the tree {}",
                    r.display()
                ),
            }),
            Error::Unsafe { .. } => Some(
                "anchorage never writes through symbolic links or outside --root; remove the link"
                    .into(),
            ),
            Error::Io { source, .. } if source.raw_os_error() == Some(nix::libc::ENOSPC) => {
                Some("free some space; the previous trust store was left intact".into())
            }
            Error::Io { source, .. } if source.raw_os_error() == Some(nix::libc::EROFS) => Some(
                "the file system is read-only; use `anchorage exec` (environment bundle) or --root on a writable tree"
                    .into(),
            ),
            Error::CommandDiskFull { path, .. } => Some(format!(
                "free some space on the file system of {} (the anchor files were written), then run anchorage again",
                path.display()
            )),
            Error::Busy { holder, .. } => Some(format!(
                "wait for the other run{} to finish, or raise --lock-timeout (ANCHORAGE_LOCK_TIMEOUT)",
                holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
            )),
            Error::Io { .. } | Error::Network { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
