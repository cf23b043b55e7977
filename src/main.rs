//! Thin entry point: parse → `Request::from_cli` → `commands::run` → `report::render` → exit
//! code (decided in `render`, the one place).

use std::process::ExitCode;

use anchorage::cli::Cli;
use anchorage::commands;
use anchorage::error::code;
use anchorage::report::{self, Next};
use anchorage::request::Request;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                code::USAGE
            } else {
                code::OK
            });
        }
    };
    let request = Request::from_cli(cli);
    let global = &request.global;
    init_logging(global.verbose, global.quiet);
    match report::render(commands::run(&request), global.format, global.quiet) {
        Next::Exit(code) => ExitCode::from(code),
        Next::Exec(program, env, bundle) => {
            ExitCode::from(commands::exec::start(&request, &program, &env, bundle))
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = std::env::var("ANCHORAGE_LOG").unwrap_or_else(|_| format!("anchorage={default}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .try_init();
}
