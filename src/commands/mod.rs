//! One function per subcommand, dispatched from a validated `Request`. Each returns an
//! `Outcome` for `report::render` (or a `Failure` with what it had already changed).

use crate::report::{Failure, Outcome};
use crate::request::{Command, Request};

pub mod change;
pub mod exec;
pub mod inspect;
mod no_system;
pub mod on_change;
mod runtimes;
pub mod watch;

pub fn run(request: &Request) -> Result<Outcome, Failure> {
    let root = &request.global.root;
    let result = dispatch(request);
    record(request, &result);
    match result {
        // A refused tree path says which --root tree it is in (the hint depends on it).
        Ok(Outcome::Exec(mut o)) => {
            o.error = o.error.map(|e| e.in_root(root));
            Ok(Outcome::Exec(o))
        }
        Ok(o) => Ok(o),
        Err(mut f) => {
            f.error = f.error.in_root(root);
            Err(f)
        }
    }
}

/// The last-run state file (for `anchorage metrics`) after install, sync, remove and exec —
/// not after `--check` (it changes nothing) nor after a usage error (nothing ran).
fn record(request: &Request, result: &Result<Outcome, Failure>) {
    use crate::error::Error;
    let (command, check) = match &request.command {
        Command::Change(req) => (
            match req.mode {
                crate::request::Mode::Install => "install",
                crate::request::Mode::Sync => "sync",
            },
            req.opts.check,
        ),
        Command::Remove(req) => ("remove", req.opts.check),
        Command::Exec(req) => ("exec", req.opts.check),
        _ => return,
    };
    if check {
        return;
    }
    let (success, changed) = match result {
        Ok(Outcome::Change(r)) => (true, r.changed),
        Ok(Outcome::Exec(o)) => {
            if matches!(o.error, Some(Error::Usage { .. })) {
                return;
            }
            let continued = o
                .notice
                .as_ref()
                .is_some_and(|n| n.starts_with("anchorage: error:"));
            (
                o.error.is_none() && !continued,
                o.report.as_ref().is_some_and(|r| r.changed),
            )
        }
        Ok(_) => return,
        Err(f) if matches!(f.error, Error::Usage { .. }) => return,
        Err(f) => (false, f.partial.as_ref().is_some_and(|p| p.changed)),
    };
    crate::last_run::record(&request.global.root, command, success, changed);
}

fn dispatch(request: &Request) -> Result<Outcome, Failure> {
    let global = &request.global;
    match &request.command {
        Command::Change(req) => change::change(global, req).map(Outcome::Change),
        Command::Remove(req) => change::remove(global, req).map(Outcome::Change),
        Command::Exec(req) => Ok(Outcome::Exec(exec::exec(global, req))),
        Command::Env(req) => Ok(Outcome::Env(exec::env(global, req)?)),
        Command::Watch(req) => Ok(Outcome::Exit(watch::watch(global, req)?)),
        Command::Metrics { output } => {
            let text = crate::metrics::metrics(global)?;
            match output {
                Some(path) => {
                    crate::fsx::write_atomic(path, text.as_bytes(), "cannot write the metrics")?;
                    Ok(Outcome::Text(Vec::new()))
                }
                None => Ok(Outcome::Text(text.into_bytes())),
            }
        }
        Command::Verify(req) => Ok(Outcome::Verify(crate::probe::verify(global, req)?)),
        Command::List => Ok(Outcome::List(inspect::list(global)?)),
        Command::Doctor {
            warn_days,
            runtimes,
        } => Ok(Outcome::Doctor(inspect::doctor(
            global, *warn_days, *runtimes,
        )?)),
        Command::Completions(shell) => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "anchorage", &mut buf);
            Ok(Outcome::Text(buf))
        }
        Command::Man { dir: None } => Ok(Outcome::Text(crate::manpage::main_page()?)),
        Command::Man { dir: Some(dir) } => {
            let written = crate::manpage::write_all(dir)?;
            let lines: String = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            Ok(Outcome::Text(lines.into_bytes()))
        }
    }
}
