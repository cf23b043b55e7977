//! One function per subcommand, dispatched from a validated `Request`. Each returns an
//! `Outcome` for `report::render` (or a `Failure` with what it had already changed).

use crate::report::{Failure, Outcome};
use crate::request::{Command, Request};

pub mod change;
pub mod exec;
pub mod inspect;
mod no_system;
mod runtimes;

pub fn run(request: &Request) -> Result<Outcome, Failure> {
    let root = &request.global.root;
    match dispatch(request) {
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

fn dispatch(request: &Request) -> Result<Outcome, Failure> {
    let global = &request.global;
    match &request.command {
        Command::Change(req) => change::change(global, req).map(Outcome::Change),
        Command::Remove(req) => change::remove(global, req).map(Outcome::Change),
        Command::Exec(req) => Ok(Outcome::Exec(exec::exec(global, req))),
        Command::Env(req) => Ok(Outcome::Env(exec::env(global, req)?)),
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
