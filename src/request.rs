//! Validated, clap-free requests: the only place that reads the values clap parsed
//! (`Request::from_cli`). Everything after `main` works on these types.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ChangeArgs, ChangeOpts, Cli, Command as CliCommand};
pub use crate::cli::{Format, OnError, Refresh, Reload, RuntimesMode};
use crate::platform::PlatformId;
use crate::policy::Allow;

/// Options every subcommand shares.
#[derive(Debug, Clone)]
pub struct Global {
    pub root: PathBuf,
    /// `None`: detect from the tree.
    pub platform: Option<PlatformId>,
    pub format: Format,
    pub verbose: u8,
    pub quiet: bool,
    pub nss: NssRequest,
    pub java: JavaRequest,
}

/// Which Java truststores to manage besides the system store (`store::java`).
#[derive(Debug, Clone, Default)]
pub struct JavaRequest {
    pub paths: Vec<String>,
    pub password_file: Option<PathBuf>,
    pub discover: bool,
}

/// Which NSS databases to manage besides the system store.
#[derive(Debug, Clone, Default)]
pub struct NssRequest {
    pub dirs: Vec<String>,
    pub owner: Option<String>,
    pub discover: bool,
    /// `--no-system`: the system store is neither read nor written (issue 16).
    pub no_system: bool,
    /// Java truststores are named or discovered: under `--no-system` they are stores to
    /// manage, so no NSS database is needed.
    pub java_too: bool,
}

/// install / sync: the desired set is read from `sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Add missing anchors; never remove.
    Install,
    /// Make the managed set equal to the desired one.
    Sync,
}

/// How a change is carried out (install, sync, remove, exec, env).
#[derive(Debug, Clone)]
pub struct ChangeOptions {
    /// Plan, do not apply.
    pub check: bool,
    /// Do not run the platform's update command.
    pub no_update: bool,
    /// Debian: the ca-certificates.conf store instead of the local directory.
    pub debian_conf: bool,
    pub name: Option<String>,
    pub password_file: Option<PathBuf>,
    pub allow: Allow,
    pub hook_timeout: Duration,
    /// How long to wait for another run's tree lock.
    pub lock_timeout: Duration,
    /// Debian family: native refresh, the hook, or auto.
    pub refresh: Refresh,
    /// `--on-change` commands (argv each), run after a run that changed something.
    pub on_change: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub mode: Mode,
    pub sources: Vec<PathBuf>,
    pub opts: ChangeOptions,
}

#[derive(Debug, Clone)]
pub struct RemoveRequest {
    pub selectors: Vec<String>,
    pub opts: ChangeOptions,
}

#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub sources: Vec<PathBuf>,
    /// No source at all is accepted (`--allow-empty`).
    pub allow_empty: bool,
    pub opts: ChangeOptions,
    pub on_error: OnError,
    pub override_env: bool,
    /// `--keep-env`: never change a variable that is already set.
    pub keep_env: bool,
    pub program: Vec<OsString>,
    /// `--watch`: supervise PROGRAM and re-sync on change (`None`: execve as before).
    pub watch: Option<ExecWatch>,
}

/// `exec --watch` settings.
#[derive(Debug, Clone)]
pub struct ExecWatch {
    pub reload: Reload,
    pub grace: Duration,
    pub debounce: Duration,
}

/// `anchorage watch`.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub sources: Vec<PathBuf>,
    pub opts: ChangeOptions,
    pub debounce: Duration,
    /// Write the metrics here after every sync.
    pub metrics: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct EnvRequest {
    pub sources: Vec<PathBuf>,
    /// No source at all is accepted (`--allow-empty`).
    pub allow_empty: bool,
    pub opts: ChangeOptions,
    pub override_env: bool,
    /// `--keep-env`: never change a variable that is already set.
    pub keep_env: bool,
}

#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub target: String,
    pub ca_file: Option<PathBuf>,
    pub servername: Option<String>,
    pub proxy: Option<String>,
    /// Seconds (validated by the probe: at least 1).
    pub timeout: u64,
    pub save_chain: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Change(ChangeRequest),
    Remove(RemoveRequest),
    List,
    Doctor {
        warn_days: i64,
        /// `--runtimes[=strict]`.
        runtimes: Option<RuntimesMode>,
    },
    Exec(ExecRequest),
    Env(EnvRequest),
    Watch(WatchRequest),
    /// `None`: print to stdout.
    Metrics {
        output: Option<PathBuf>,
    },
    Verify(VerifyRequest),
    Completions(clap_complete::Shell),
    /// `None`: print the main page; `Some(dir)`: write every page into `dir`.
    Man {
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct Request {
    pub global: Global,
    pub command: Command,
}

impl ChangeOptions {
    fn from_cli(o: ChangeOpts) -> ChangeOptions {
        ChangeOptions {
            check: o.check,
            no_update: o.no_update,
            debian_conf: o.debian_conf,
            name: o.name,
            password_file: o.password_file,
            allow: Allow {
                intermediate: o.allow_intermediate,
                leaf: o.allow_leaf,
                expired: o.allow_expired,
            },
            hook_timeout: Duration::from_secs(o.hook_timeout),
            lock_timeout: Duration::from_secs(o.lock_timeout),
            refresh: o.refresh,
            on_change: o.on_change.into_iter().map(|c| c.0).collect(),
        }
    }
}

impl Request {
    pub fn from_cli(cli: Cli) -> Request {
        let change = |mode: Mode, a: ChangeArgs| {
            Command::Change(ChangeRequest {
                mode,
                sources: a.sources,
                opts: ChangeOptions::from_cli(a.opts),
            })
        };
        let command = match cli.command {
            CliCommand::Install(a) => change(Mode::Install, a),
            CliCommand::Sync(a) => change(Mode::Sync, a),
            CliCommand::Remove(a) => Command::Remove(RemoveRequest {
                selectors: a.selectors,
                opts: ChangeOptions::from_cli(a.opts),
            }),
            CliCommand::List => Command::List,
            CliCommand::Doctor(a) => Command::Doctor {
                warn_days: a.warn_days,
                runtimes: a.runtimes,
            },
            CliCommand::Exec(a) => Command::Exec(ExecRequest {
                sources: a.sources,
                allow_empty: a.allow_empty,
                opts: ChangeOptions::from_cli(a.opts),
                on_error: a.on_error,
                override_env: a.override_env,
                keep_env: a.keep_env,
                program: a.program,
                watch: a.watch.then(|| ExecWatch {
                    reload: a.reload,
                    grace: Duration::from_secs_f64(a.grace),
                    debounce: Duration::from_secs_f64(a.debounce),
                }),
            }),
            CliCommand::Watch(a) => {
                // `--check` is kept: `watch::watch` refuses it (watching is for applying).
                let mut opts = ChangeOptions::from_cli(a.opts);
                // CMD after `--` is one more on-change command, taken as given (no splitting).
                if !a.command.is_empty() {
                    opts.on_change.push(
                        a.command
                            .iter()
                            .map(|s| s.to_string_lossy().into_owned())
                            .collect(),
                    );
                }
                Command::Watch(WatchRequest {
                    sources: a.sources,
                    opts,
                    debounce: Duration::from_secs_f64(a.debounce),
                    metrics: a.metrics,
                })
            }
            CliCommand::Metrics(a) => Command::Metrics { output: a.output },
            CliCommand::Env(a) => Command::Env(EnvRequest {
                sources: a.sources,
                allow_empty: a.allow_empty,
                opts: ChangeOptions::from_cli(a.opts),
                override_env: a.override_env,
                keep_env: a.keep_env,
            }),
            CliCommand::Verify(a) => Command::Verify(VerifyRequest {
                target: a.target,
                ca_file: a.ca_file,
                servername: a.servername,
                proxy: a.proxy,
                timeout: a.timeout,
                save_chain: a.save_chain,
            }),
            CliCommand::Completions { shell } => Command::Completions(shell),
            CliCommand::Man(a) => Command::Man { dir: a.dir },
        };
        Request {
            global: Global {
                root: cli.tree.root,
                platform: cli.tree.platform.0,
                format: cli.output.format,
                verbose: cli.output.verbose,
                quiet: cli.output.quiet,
                nss: NssRequest {
                    dirs: cli.nss.nssdb,
                    owner: cli.nss.nss_owner,
                    discover: cli.nss.nss_discover,
                    no_system: cli.nss.no_system,
                    java_too: cli.java.java_discover
                        || cli.java.java_truststore.iter().any(|p| !p.is_empty()),
                },
                java: JavaRequest {
                    paths: cli.java.java_truststore,
                    password_file: cli.java.java_password_file,
                    discover: cli.java.java_discover,
                },
            },
            command,
        }
    }
}
