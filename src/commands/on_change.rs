//! `--on-change CMD`: the commands run after a run that changed something (the vendor guides'
//! `systemctl restart te-browserbot`, `sv restart te-agent`), after the hook and the effect
//! check succeeded, through `run` (argv, no shell, no secrets, the hook timeout; the program
//! found in the caller's PATH, then the safe PATH, and run with the safe PATH).
//! A failure is exit 1 with the command's output; the change itself stays (reported).

use std::ffi::OsString;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::text_safe::escape;

/// Run every command in order; stop at the first failure. Their output goes to stderr
/// (stdout belongs to the report).
pub fn run_all(commands: &[Vec<String>], timeout: Duration) -> Result<()> {
    for argv in commands {
        let mut args: Vec<OsString> = argv.iter().map(OsString::from).collect();
        // The program is looked up in the caller's PATH (as a shell would; the command is the
        // caller's own), then in the safe PATH hooks get; it runs with the safe PATH.
        if let Some(first) = args.first_mut() {
            let name = first.to_string_lossy().into_owned();
            if !name.contains('/') {
                let path = std::env::var("PATH").unwrap_or_default();
                if let Some(found) = crate::run::find_in(&name, &path)
                    .or_else(|| crate::run::find_in(&name, crate::run::SAFE_PATH))
                {
                    *first = found.into_os_string();
                }
            }
        }
        let shown = argv.join(" ");
        tracing::debug!("on-change: {shown}");
        let out = crate::run::run(&args, timeout).map_err(|e| Error::Failed {
            msg: format!("--on-change `{shown}`: {e}"),
            path: None,
            hint: Some(
                "the trust store was changed; fix the command (a full path, or a program in PATH) and run it by hand".into(),
            ),
        })?;
        if !out.success() {
            let mut combined = out.stdout.clone();
            if !combined.is_empty() && !out.stderr.is_empty() && !combined.ends_with('\n') {
                combined.push('\n');
            }
            combined.push_str(&out.stderr);
            let status = out.status();
            return Err(Error::Command {
                argv: out.argv,
                status,
                stderr: combined,
                hint: Some(
                    "--on-change: the trust store was changed, but the command failed; fix it and run it by hand".into(),
                ),
            });
        }
        for line in out.stdout.lines().chain(out.stderr.lines()) {
            eprintln!("{}", escape(line));
        }
    }
    Ok(())
}

/// After a change run: the on-change commands when the report says something changed (and it
/// was not `--check`); a failure keeps the report as the partial result.
pub fn after(
    report: crate::report::Report,
    opts: &crate::request::ChangeOptions,
) -> std::result::Result<crate::report::Report, crate::report::Failure> {
    if opts.check || !report.changed || opts.on_change.is_empty() {
        return Ok(report);
    }
    match run_all(&opts.on_change, opts.hook_timeout) {
        Ok(()) => Ok(report),
        Err(error) => Err(crate::report::Failure {
            error,
            partial: Some(Box::new(report)),
        }),
    }
}
