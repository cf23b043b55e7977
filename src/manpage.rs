//! The man pages, generated from the clap definitions: `anchorage(1)` (clap_mangen's sections
//! plus EXIT STATUS, ENVIRONMENT and SEE ALSO) and one `anchorage-SUBCOMMAND(1)` per
//! subcommand, which the main page's SUBCOMMANDS section refers to.

use std::fs;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::cli::Cli;
use crate::commands::exec::ENV_VARS;
use crate::error::{code, Error, Result};

/// EXIT STATUS: README "Exit codes".
const EXIT_STATUS: &[(u8, &str)] = &[
    (
        code::OK,
        "Success, changed or not (doctor: healthy; verify: trusted; exec: PROGRAM's own code; \
         watch: ended by SIGTERM or SIGINT).",
    ),
    (
        code::FAILURE,
        "Anything else: a hook that failed, timed out or did not put the anchor into the \
         effective bundle; an NSS nickname or Java alias conflict; a hook-maintained Java \
         truststore without the anchor after the hook; certutil failed; an --on-change command \
         failed (the change stays); doctor found a problem; verify: not trusted.",
    ),
    (code::USAGE, "Usage error."),
    (
        code::DATAERR,
        "Bad input: unparseable, no certificate found, only keys, wrong PKCS#12 password, a Java \
         truststore that does not verify with its password, policy refusal, too large, not a \
         regular file.",
    ),
    (code::NOINPUT, "A source does not exist."),
    (
        code::UNAVAILABLE,
        "A required program is missing (the message names the package: ca-certificates, \
         libnss3-tools, nss-tools, mozilla-nss-tools, ...).",
    ),
    (
        code::IOERR,
        "I/O failure (read-only file system, disk full, also when the update hook fails on a \
         full disk, ...; verify: connection refused, DNS, timeout).",
    ),
    (
        code::TEMPFAIL,
        "Another anchorage run held the tree's lock (var/lib/anchorage/lock) for longer than \
         --lock-timeout.",
    ),
    (
        code::NOPERM,
        "Permission denied (run as root or use --root), or a write refused for safety (a \
         symbolic link, a path outside --root).",
    ),
    (126, "exec: PROGRAM cannot be run."),
    (127, "exec: PROGRAM was not found."),
    (
        128,
        "exec --watch: 128 + N when PROGRAM was killed by signal N (143: SIGTERM); otherwise \
         PROGRAM's own exit code.",
    ),
];

/// ENVIRONMENT entries that are not an option's default (those come from clap).
fn other_variables() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        (
            "ANCHORAGE_PASSWORD",
            "PKCS#12 password when --password-file is not given.",
        ),
        (
            "ANCHORAGE_JAVA_PASSWORD",
            "Java truststores' password when --java-password-file is not given (default changeit).",
        ),
        (
            "ANCHORAGE_SOURCES",
            "exec and env: the SOURCEs when none are given (colon-separated).",
        ),
        (
            "ANCHORAGE_BUNDLE_DIR",
            "exec and env: where the environment bundle is written (default: $XDG_RUNTIME_DIR, \
             else a fresh 0700 directory under /tmp).",
        ),
        (
            "XDG_RUNTIME_DIR",
            "exec and env: where the environment bundle is written when ANCHORAGE_BUNDLE_DIR is \
             not set.",
        ),
        (
            "ANCHORAGE_LOG",
            "Log filter for stderr (tracing syntax, e.g. anchorage=debug); overrides -v and -q.",
        ),
        ("NO_COLOR", "No colours in the log output."),
        (
            "ANCHORAGE_NO_OPENAT2",
            "1: resolve paths under --root by the O_NOFOLLOW walk even where the kernel has \
             openat2 (to test the fallback kernels before 5.6 take).",
        ),
        (
            "PATH",
            "Where certutil (for NSS databases) and exec's PROGRAM are looked up. The platform's \
             update hook runs with a fixed safe PATH.",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    v.push((
        ENV_VARS.join(", "),
        "Set for PROGRAM by exec when it falls back to the environment bundle (the system store \
         cannot be written), and printed as export lines by env. A variable already set to the \
         system bundle (or to a subset of the combined bundle) is replaced; one naming a custom \
         bundle gets a combined copy of that file plus the sources; SSL_CERT_DIR, when set, gets \
         a hashed directory of the sources prepended. --keep-env keeps every set variable, \
         --override-env points all at the combined bundle."
            .to_string(),
    ));
    v
}

/// The command as the help shows it (globals propagated, twins in place), without the `help`
/// subcommand (no page of its own).
fn built() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Options' environment variables (`env = ...` in cli.rs), each once, with the option.
fn option_variables(cmd: &clap::Command) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let subs = cmd.get_subcommands();
    for arg in cmd
        .get_arguments()
        .chain(subs.flat_map(|s| s.get_arguments()))
    {
        let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let var = var.to_string_lossy().into_owned();
        if out.iter().any(|(v, _)| *v == var) {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        out.push((var, format!("Default for --{long}: {help}")));
    }
    out
}

fn extra_sections(cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (status, meaning) in EXIT_STATUS {
        roff.control("TP", []);
        roff.text([bold(status.to_string())]);
        roff.text([roman(*meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, meaning) in option_variables(cmd).into_iter().chain(other_variables()) {
        roff.control("TP", []);
        roff.text([bold(var)]);
        roff.text([roman(meaning)]);
    }
    roff
}

fn see_also(pages: &[String]) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page.as_str()));
        line.push(roman("(1)"));
    }
    roff.text(line);
    roff
}

fn io(e: std::io::Error) -> Error {
    Error::io("cannot render the man page", "-", e)
}

/// `anchorage(1)`.
pub fn main_page() -> Result<Vec<u8>> {
    let cmd = built();
    let pages: Vec<String> = subcommands(&cmd)
        .map(|s| format!("anchorage-{}", s.get_name()))
        .collect();
    let man = Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf).map_err(io)?;
    man.render_name_section(&mut buf).map_err(io)?;
    man.render_synopsis_section(&mut buf).map_err(io)?;
    man.render_description_section(&mut buf).map_err(io)?;
    man.render_options_section(&mut buf).map_err(io)?;
    man.render_subcommands_section(&mut buf).map_err(io)?;
    man.render_extra_section(&mut buf).map_err(io)?;
    extra_sections(&cmd).to_writer(&mut buf).map_err(io)?;
    see_also(&pages).to_writer(&mut buf).map_err(io)?;
    man.render_version_section(&mut buf).map_err(io)?;
    Ok(buf)
}

fn subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// `anchorage-SUB(1)`.
fn sub_page(sub: &clap::Command) -> Result<Vec<u8>> {
    let source = format!("anchorage {}", env!("CARGO_PKG_VERSION"));
    let mut buf = Vec::new();
    Man::new(sub.clone())
        .source(source)
        .render(&mut buf)
        .map_err(io)?;
    see_also(&["anchorage".to_string()])
        .to_writer(&mut buf)
        .map_err(io)?;
    Ok(buf)
}

/// `man --dir DIR`: every page as `DIR/NAME.1` (0644, never through a symbolic link at the
/// file name). Returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>> {
    let cmd = built();
    let mut pages = vec![("anchorage".to_string(), main_page()?)];
    for sub in subcommands(&cmd) {
        pages.push((format!("anchorage-{}", sub.get_name()), sub_page(sub)?));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create the --dir directory", dir, e))?;
    let mut written = Vec::new();
    for (name, bytes) in pages {
        let path = dir.join(format!("{name}.1"));
        crate::fsx::write_output(&path, &bytes, "cannot write the man page")?;
        written.push(path);
    }
    Ok(written)
}
