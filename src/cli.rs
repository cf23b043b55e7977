//! Command-line definitions (clap derive only). `request::Request::from_cli` turns these into
//! a validated request; nothing else in the crate sees the parsed values. `--platform` takes
//! the platform table's own enum (`PlatformChoice`), so there is no hand-mapped copy of it;
//! `Format` and `OnError` are defined here and re-exported by `request`.

use std::path::PathBuf;

use clap::{Arg, Args, Parser, Subcommand, ValueEnum};

use crate::platform::PlatformChoice;

#[derive(Debug, Parser)]
#[command(
    name = "anchorage",
    version = env!("ANCHORAGE_LONG_VERSION"),
    about = "Install CA certificates as trust anchors: any encoding, any distro, idempotent, proven.",
    long_about = "anchorage reads CA certificates in any encoding (PEM, DER, PKCS#7, PKCS#12), detects the \
platform's trust store, installs only what is missing, runs the platform's update hook and proves the CA \
reached the effective bundle.",
    after_help = "Examples:\n  sudo anchorage install myNewCa.crt\n  anchorage sync --check --format json /etc/anchorage/cas/\n  anchorage doctor"
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputOpts,
    #[command(flatten)]
    pub tree: TreeOpts,
    #[command(flatten)]
    pub nss: NssOpts,
    #[command(flatten)]
    pub java: JavaOpts,
    #[command(subcommand)]
    pub command: Command,
}

// Which options each subcommand shows.
//
// The three groups below are `global`: they are accepted before the subcommand and after it
// (`anchorage --root T install X`, `anchorage install X --root T`, the Ansible module's
// `anchorage --format json --nssdb D install ...`) and from their environment variables, with
// clap's precedence (command line over environment over default) no matter where they are
// given. Making them per-subcommand options instead would break the first form, or need a
// second copy on `Cli` and hand-written merging of the two. So they stay global, and a
// subcommand they do not apply to gets a hidden *twin*: the same argument (same id, parser,
// environment variable), hidden. clap propagates a global argument only to subcommands that
// do not define its id themselves, so the twin replaces the visible copy there, and the
// parsed value still reaches `Cli` (global values are merged by id). Result: the help and
// the man pages show each subcommand's options only, and every command line accepted before
// is accepted now, with the same meaning (an option that does not apply is ignored, as it
// always was). The subcommands' own flattened options that one of them ignores
// (`env --check`, `remove --name`) are hidden the same way (`mut_args = hide(..)`). A twin can
// also carry its own help text: `exec --format` (the report goes to stderr there).

/// `--format`, `-v`, `-q`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// Output format of the report on stdout.
    #[arg(
        long,
        global = true,
        env = "ANCHORAGE_FORMAT",
        default_value = "text",
        value_enum
    )]
    pub format: Format,

    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr; no text report lines for unchanged anchors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--root`, `--platform`: the tree and its trust-store layout.
#[derive(Debug, Args)]
#[command(next_help_heading = "Tree")]
pub struct TreeOpts {
    /// Operate on the tree at DIR (image trees, chroots, tests).
    #[arg(
        long,
        global = true,
        env = "ANCHORAGE_ROOT",
        default_value = "/",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// Trust-store layout; auto reads /etc/os-release inside --root.
    #[arg(
        long,
        global = true,
        env = "ANCHORAGE_PLATFORM",
        default_value = "auto",
        value_parser = PlatformChoice::parser()
    )]
    pub platform: PlatformChoice,
}

/// `--nssdb`, `--nss-owner`, `--nss-discover`, `--no-system`.
#[derive(Debug, Args)]
#[command(next_help_heading = "NSS databases")]
pub struct NssOpts {
    /// Also manage the NSS database at DIR (inside --root); repeatable.
    #[arg(
        long,
        global = true,
        env = "ANCHORAGE_NSSDB",
        value_delimiter = ':',
        value_name = "DIR"
    )]
    pub nssdb: Vec<String>,

    /// Give --nssdb databases (and the parents anchorage created) to USER[:GROUP] of the tree.
    #[arg(long, global = true, value_name = "USER[:GROUP]")]
    pub nss_owner: Option<String>,

    /// Also manage existing NSS databases of the tree's users (Chromium, Firefox, /etc/pki/nssdb).
    #[arg(long, global = true)]
    pub nss_discover: bool,

    /// Leave the system store alone: manage only the named databases (works as a normal user
    /// on their own files, e.g. `--nssdb ~/.pki/nssdb`).
    #[arg(long, global = true)]
    pub no_system: bool,
}

/// `--java-truststore`, `--java-password-file`, `--java-discover`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Java truststores")]
pub struct JavaOpts {
    /// Also manage the Java truststore (JKS or PKCS#12) at PATH (inside --root); repeatable.
    #[arg(
        long,
        global = true,
        env = "ANCHORAGE_JAVA_TRUSTSTORE",
        value_delimiter = ':',
        value_name = "PATH"
    )]
    pub java_truststore: Vec<String>,

    /// The Java truststores' password, first line of FILE (else $ANCHORAGE_JAVA_PASSWORD, else changeit).
    #[arg(long, global = true, value_name = "FILE")]
    pub java_password_file: Option<PathBuf>,

    /// Also manage the truststores of the JVMs found in the tree (/usr/lib/jvm, /opt, /etc/ssl/certs/java).
    #[arg(long, global = true)]
    pub java_discover: bool,
}

const OUTPUT: &[&str] = &["format", "verbose", "quiet"];
const TREE: &[&str] = &["root", "platform"];
const NSS: &[&str] = &["nssdb", "nss_owner", "nss_discover", "no_system"];
const JAVA: &[&str] = &["java_truststore", "java_password_file", "java_discover"];

/// A global option as defined in its group (for a twin).
fn global(id: &str) -> Arg {
    let groups = JavaOpts::augment_args(NssOpts::augment_args(TreeOpts::augment_args(
        OutputOpts::augment_args(clap::Command::new("anchorage")),
    )));
    let arg = groups.get_arguments().find(|a| a.get_id() == id).cloned();
    arg.unwrap_or_else(|| panic!("no global option {id}"))
}

/// Hidden twins of the global options in `groups` (see above). Without their help heading:
/// the order of the headings follows the first argument of each, hidden or not.
fn hidden(groups: &[&[&str]]) -> Vec<Arg> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|id| global(id).hide(true).help_heading(None))
        .collect()
}

/// Hide a subcommand's own options `ids` (accepted and ignored; or refused by the command
/// where ignoring them would mislead: `watch --check`, `exec --on-change`).
fn hide(ids: &'static [&'static str]) -> impl FnMut(Arg) -> Arg {
    move |a| {
        if ids.contains(&a.get_id().as_str()) {
            a.hide(true)
        } else {
            a
        }
    }
}

/// Output format of reports on stdout (also the `--format` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `--refresh`: how the Debian family's `update-ca-certificates` effect is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Refresh {
    /// Native when the tree's script is a version native refresh was proven against, else the hook.
    Auto,
    /// anchorage writes the links, hash links and bundle itself, then runs the update.d hooks.
    Native,
    /// Run the platform's update hook.
    Hook,
}

/// `exec --on-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Print the reason and exit non-zero without starting PROGRAM.
    Fail,
    /// Print the reason and start PROGRAM anyway.
    Continue,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add trust anchors; never removes anything.
    #[command(
        after_help = "Example:\n  sudo anchorage install myNewCa.crt bundle.p7b truststore.p12 --password-file pw.txt"
    )]
    Install(ChangeArgs),
    /// Remove anchors that anchorage installed (by fingerprint, managed name or source file).
    #[command(
        after_help = "Example:\n  sudo anchorage remove myNewCa_Test_Root\n  sudo anchorage remove 3f:a1:...:9c"
    )]
    #[command(mut_args = hide(&["name", "allow_intermediate", "allow_leaf", "allow_expired"]))]
    Remove(RemoveArgs),
    /// Make the managed set equal to SOURCEs (adds new, removes managed ones not listed).
    #[command(after_help = "Example:\n  sudo anchorage sync /etc/anchorage/cas/")]
    Sync(ChangeArgs),
    /// List managed anchors: name, subject, sha256, not_after, where installed.
    #[command(
        after_help = "Example:\n  anchorage list --format json",
        args = hidden(&[&["nss_owner"]])
    )]
    List,
    /// Container startup step: sync SOURCEs (default $ANCHORAGE_SOURCES), then replace this
    /// process with PROGRAM (same PID, signals and exit code go to PROGRAM); with --watch,
    /// supervise PROGRAM instead and re-sync when the sources change.
    #[command(
        after_help = "Examples:\n  ENTRYPOINT [\"anchorage\", \"exec\", \"/usr/local/share/ca-certificates/custom\", \"--\"]\n  anchorage exec /run/cas -- /usr/bin/agent --config /etc/agent.yaml\n  ANCHORAGE_SOURCES=/certs anchorage exec -- curl https://collector:8443/\n  anchorage exec --watch --reload=restart /run/cas -- /usr/bin/agent",
        arg = global("format").help(
            "Output format of the report, on stderr (stdout belongs to PROGRAM)"
        ),
        mut_args = hide(&["on_change"])
    )]
    Exec(ExecArgs),
    /// Print `export` lines pointing TLS clients at a bundle of the system CAs plus SOURCEs.
    #[command(
        after_help = "Example:\n  eval \"$(anchorage env /run/cas)\" && exec agent",
        arg = global("format").help(
            "Output format of a failure report on stdout (the export lines are shell either way)"
        ),
        args = hidden(&[NSS, JAVA]),
        mut_args = hide(&["check", "no_update", "debian_conf", "hook_timeout", "lock_timeout", "refresh", "on_change"])
    )]
    Env(EnvArgs),
    /// Prove that a TLS server is trusted now; if not, say which CA is missing.
    #[command(
        after_help = "Examples:\n  anchorage verify collector.example.net:8443\n  anchorage verify --proxy http://proxy:3128 https://api.thousandeyes.com/\n  anchorage verify --save-chain /tmp/chain 10.0.0.5:443",
        args = hidden(&[NSS, JAVA])
    )]
    Verify(VerifyArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  anchorage completions bash > /etc/bash_completion.d/anchorage",
        args = hidden(&[OUTPUT, TREE, NSS, JAVA])
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); with --dir, write every page (anchorage.1, anchorage-SUB.1).
    #[command(
        after_help = "Examples:\n  anchorage man | gzip > /usr/share/man/man1/anchorage.1.gz\n  anchorage man --dir /usr/share/man/man1",
        args = hidden(&[OUTPUT, TREE, NSS, JAVA])
    )]
    Man(ManArgs),
    /// Check the platform, paths, hook, managed anchors in the effective bundle, expiry.
    #[command(after_help = "Example:\n  anchorage doctor --warn-days 90")]
    Doctor(DoctorArgs),
    /// Print the state as Prometheus/OpenMetrics text (for node_exporter's textfile collector).
    #[command(
        after_help = "Examples:\n  anchorage metrics\n  anchorage metrics --output /var/lib/prometheus/node-exporter/anchorage.prom",
        args = hidden(&[&["format"]])
    )]
    Metrics(MetricsArgs),
    /// Sync SOURCEs, then watch them (inotify) and sync again on every change; runs
    /// --on-change commands (and CMD after `--`) when a sync changed something.
    #[command(
        after_help = "Examples:\n  anchorage watch /etc/anchorage/cas --on-change 'systemctl restart te-agent'\n  anchorage watch --root /host --metrics /host/var/lib/prometheus/node-exporter/anchorage.prom /etc/anchorage/cas\n  anchorage watch /run/cas -- sv restart te-agent",
        mut_args = hide(&["check"])
    )]
    Watch(WatchArgs),
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Files, directories (walked recursively) or `-` for stdin.
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ChangeOpts,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// sha256 fingerprint (hex, colons optional), managed name, or a source file.
    #[arg(value_name = "SELECTOR", required = true)]
    pub selectors: Vec<String>,
    #[command(flatten)]
    pub opts: ChangeOpts,
}

#[derive(Debug, Args, Clone)]
pub struct ChangeOpts {
    /// Change nothing; report what would change.
    #[arg(long)]
    pub check: bool,
    /// Do not run the platform's update command.
    #[arg(long)]
    pub no_update: bool,
    /// Debian: store under /usr/share/ca-certificates/anchorage/ and register in /etc/ca-certificates.conf.
    #[arg(long)]
    pub debian_conf: bool,
    /// File base name for a single certificate (default: derived from the subject).
    #[arg(long, value_name = "NAME", value_parser = crate::policy::NameParser)]
    pub name: Option<String>,
    /// File holding the PKCS#12 password (first line). Or set ANCHORAGE_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Allow a CA certificate that is not self-signed.
    #[arg(long)]
    pub allow_intermediate: bool,
    /// Allow an end-entity certificate signed by someone else.
    #[arg(long)]
    pub allow_leaf: bool,
    /// Allow expired certificates.
    #[arg(long)]
    pub allow_expired: bool,
    /// Seconds before the update hook is killed.
    #[arg(
        long,
        env = "ANCHORAGE_HOOK_TIMEOUT",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub hook_timeout: u64,
    /// Seconds to wait for another anchorage run on the same tree before giving up (exit 75).
    #[arg(
        long,
        env = "ANCHORAGE_LOCK_TIMEOUT",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub lock_timeout: u64,
    /// Debian family: produce update-ca-certificates' result natively, run the hook, or pick (auto).
    #[arg(
        long,
        env = "ANCHORAGE_REFRESH",
        default_value = "auto",
        value_enum,
        value_name = "MODE"
    )]
    pub refresh: Refresh,
    /// Run CMD when the run changed something (after the hook and the effect check); split
    /// like a shell's words, run without a shell; repeatable. Never under --check.
    #[arg(long, value_name = "CMD", value_parser = parse_command)]
    pub on_change: Vec<CommandLine>,
}

/// One `--on-change` command: its argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine(pub Vec<String>);

/// `--on-change CMD`: split like a POSIX shell's words (quotes, backslashes), never run by one.
fn parse_command(s: &str) -> Result<CommandLine, String> {
    match shlex::split(s) {
        Some(argv) if !argv.is_empty() => Ok(CommandLine(argv)),
        Some(_) => Err("empty command".into()),
        None => Err("unbalanced quotes or a trailing backslash".into()),
    }
}

/// A duration in seconds (`--debounce`, `--grace`): plain seconds, decimals allowed (`2`,
/// `0.5`), or with a unit, `s` or `ms` (`2s`, `500ms`); at least 0, at most a day.
fn parse_secs(s: &str) -> Result<f64, String> {
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    // f64's parser takes "inf", "NaN" and "1e3" too: only digits and one dot here.
    let plain = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    match number.parse::<f64>() {
        Ok(v) if plain && (0.0..=86_400.0).contains(&(v / scale)) => Ok(v / scale),
        _ => Err("expected seconds between 0 and 86400: 2, 1.5, 2s or 500ms".into()),
    }
}

/// `exec --reload`: what to do to PROGRAM after a re-sync changed the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// Nothing: only the store is updated.
    None,
    /// Send this signal (its number) to PROGRAM.
    Signal(i32),
    /// SIGTERM, wait `--grace` seconds (then SIGKILL), start PROGRAM again.
    Restart,
}

fn parse_reload(s: &str) -> Result<Reload, String> {
    match s {
        "none" => return Ok(Reload::None),
        "restart" => return Ok(Reload::Restart),
        _ => {}
    }
    let Some(name) = s.strip_prefix("signal:") else {
        return Err("expected none, restart or signal:NAME (signal:HUP)".into());
    };
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    match full.parse::<nix::sys::signal::Signal>() {
        Ok(sig)
            if !matches!(
                sig,
                nix::sys::signal::Signal::SIGKILL | nix::sys::signal::Signal::SIGSTOP
            ) =>
        {
            Ok(Reload::Signal(sig as i32))
        }
        _ => Err(format!(
            "unknown or unusable signal {name:?} (HUP, USR1, USR2, TERM, …)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Files or directories to sync (default: $ANCHORAGE_SOURCES, colon-separated). Missing or
    /// empty directories are fine: nothing mounted yet.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ChangeOpts,
    /// Accept no SOURCE and no $ANCHORAGE_SOURCES: sync to an empty set, removing every
    /// managed anchor (without it, that is a usage error).
    #[arg(long)]
    pub allow_empty: bool,
    /// What to do when installing fails.
    #[arg(long, env = "ANCHORAGE_ON_ERROR", default_value = "fail", value_enum)]
    pub on_error: OnError,
    /// In the environment-bundle fallback, point SSL_CERT_FILE & co. at the combined bundle
    /// even when they name a custom bundle.
    #[arg(long, conflicts_with = "keep_env")]
    pub override_env: bool,
    /// In the environment-bundle fallback, never change a variable that is already set.
    #[arg(long)]
    pub keep_env: bool,
    /// Stay as a minimal supervisor (PID 1): start PROGRAM as a child, forward every signal to
    /// it, reap zombies, re-sync when the sources change, exit with PROGRAM's code.
    #[arg(long)]
    pub watch: bool,
    /// With --watch, after a re-sync that changed the store: none, restart, signal:NAME.
    #[arg(long, default_value = "none", value_parser = parse_reload, value_name = "none|restart|signal:HUP", requires = "watch")]
    pub reload: Reload,
    /// With --reload=restart: time between SIGTERM and SIGKILL, in seconds (10, 2.5) or with
    /// a unit (5s, 500ms).
    #[arg(long, default_value = "10", value_parser = parse_secs, value_name = "SECS", requires = "watch")]
    pub grace: f64,
    /// With --watch: quiet time after a change before re-syncing, in seconds (2, 0.5) or with
    /// a unit (2s, 500ms).
    #[arg(long, default_value = "2", value_parser = parse_secs, value_name = "SECS", requires = "watch")]
    pub debounce: f64,
    /// The program to run, after `--`, looked up in PATH.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub program: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Files or directories to sync and watch (a Kubernetes ConfigMap/Secret volume too).
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ChangeOpts,
    /// Quiet time after a change before syncing, in seconds (2, 0.5) or with a unit (2s,
    /// 500ms).
    #[arg(long, default_value = "2", value_parser = parse_secs, value_name = "SECS")]
    pub debounce: f64,
    /// After every sync, write the metrics (as `anchorage metrics --output FILE`).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// A command to run after every sync that changed something (like --on-change, no splitting).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Write to FILE atomically (temporary file + rename, mode 0644) instead of stdout: the
    /// node_exporter textfile collector's contract.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Files or directories (default: $ANCHORAGE_SOURCES, colon-separated).
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ChangeOpts,
    /// Accept no SOURCE and no $ANCHORAGE_SOURCES: the bundle is the system CAs alone (without
    /// it, that is a usage error).
    #[arg(long)]
    pub allow_empty: bool,
    /// Point every variable at the combined bundle, even one naming a custom bundle.
    #[arg(long, conflicts_with = "keep_env")]
    pub override_env: bool,
    /// Never print a variable that is already set.
    #[arg(long)]
    pub keep_env: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// HOST[:PORT] (default port 443) or https://URL.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Validate against this PEM bundle instead of the platform's effective bundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Name to check the certificate against (default: the host of TARGET).
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// Connect through an HTTP proxy with CONNECT (the TLS-decrypting-proxy case).
    #[arg(long, value_name = "http://HOST:PORT")]
    pub proxy: Option<String>,
    /// Seconds for connecting and the handshake.
    #[arg(long, default_value_t = 10, value_name = "S")]
    pub timeout: u64,
    /// Write the presented certificates as PEM files into DIR (never installs anything).
    #[arg(long, value_name = "DIR")]
    pub save_chain: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write anchorage.1 and one anchorage-SUBCOMMAND.1 per subcommand into DIR (created if
    /// missing) instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Warn about anchors expiring within N days.
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub warn_days: i64,
    /// Also judge each TLS runtime of the tree (OpenSSL, GnuTLS, NSS, Python certifi, Node.js,
    /// Java truststores; with --no-system only the named stores);
    /// `--runtimes=strict` makes a runtime that misses an anchor a problem (exit 1).
    #[arg(
        long,
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "warn",
        value_name = "MODE"
    )]
    pub runtimes: Option<RuntimesMode>,
}

/// `doctor --runtimes[=strict]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimesMode {
    /// Runtime gaps are warnings.
    Warn,
    /// Runtime gaps are problems (exit 1).
    Strict,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Review of issue 17, 1.4: `--debounce 2s` and `--grace 500ms` were refused.
    #[test]
    fn durations_take_plain_seconds_or_s_and_ms() {
        for (text, secs) in [
            ("2", 2.0),
            ("1.5", 1.5),
            ("0", 0.0),
            (".5", 0.5),
            ("2s", 2.0),
            ("0.5s", 0.5),
            ("500ms", 0.5),
            ("1500ms", 1.5),
            ("86400", 86_400.0),
            ("86400000ms", 86_400.0),
        ] {
            assert_eq!(parse_secs(text), Ok(secs), "{text}");
        }
        for bad in [
            "", "s", "ms", "x", "2m", "2 s", "-1", "1e3", "inf", "NaN", "86401", "1.2.3", "2sms",
            "+2",
        ] {
            assert!(parse_secs(bad).is_err(), "{bad:?}");
        }
        // Both options, through clap.
        let cli = Cli::try_parse_from([
            "anchorage",
            "exec",
            "--watch",
            "--debounce",
            "500ms",
            "--grace",
            "5s",
            "--",
            "true",
        ])
        .expect("parses");
        let Command::Exec(a) = cli.command else {
            panic!("exec")
        };
        assert_eq!((a.debounce, a.grace), (0.5, 5.0));
        let cli =
            Cli::try_parse_from(["anchorage", "watch", "--debounce", "2s", "dir"]).expect("parses");
        let Command::Watch(a) = cli.command else {
            panic!("watch")
        };
        assert_eq!(a.debounce, 2.0);
    }

    #[test]
    fn twins_keep_the_global_options_values() {
        // A hidden twin (list --nss-owner) and a global given before the subcommand both
        // reach `Cli`.
        let cli = Cli::try_parse_from(["anchorage", "--nssdb", "a", "list", "--nss-owner", "u"])
            .expect("parses");
        assert_eq!(cli.nss.nssdb, ["a"]);
        assert_eq!(cli.nss.nss_owner.as_deref(), Some("u"));
        let cli = Cli::try_parse_from(["anchorage", "man", "--root", "/t", "--format", "json"])
            .expect("parses");
        assert_eq!(cli.tree.root, PathBuf::from("/t"));
        assert_eq!(cli.output.format, Format::Json);
    }
}
