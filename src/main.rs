//! Thin entry point: parse arguments, run the app, print the report, map errors to exit codes
//! in one place.

use std::io::Write;
use std::process::ExitCode;

use anchorage::app::{self, Failure, Outcome};
use anchorage::cli::{Cli, Format};
use anchorage::error::code;
use anchorage::report::{ErrorInfo, FailureReport};
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
    init_logging(cli.verbose, cli.quiet);
    let format = cli.format;
    let quiet = cli.quiet;
    match app::run(cli) {
        Ok(outcome) => print_outcome(outcome, format, quiet),
        Err(failure) => print_failure(failure, format),
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

fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Pretty JSON straight into a buffered stdout (a 10,000-certificate report is megabytes: no
/// intermediate String).
fn emit_json<T: serde::Serialize>(value: &T) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if serde_json::to_writer_pretty(&mut out, value).is_ok() {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .unwrap_or_default()
}

fn warn_all(warnings: &[String], quiet: bool) {
    if quiet {
        return;
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn print_outcome(outcome: Outcome, format: Format, quiet: bool) -> ExitCode {
    match outcome {
        Outcome::Change(report) => {
            let report = std::mem::ManuallyDrop::new(report);
            // ManuallyDrop: the process ends right after; freeing a 10,000-entry report one
            // string at a time would only delay the exit.
            match format {
                Format::Json => emit_json(&*report),
                Format::Text => {
                    warn_all(&report.warnings, quiet);
                    for c in &report.certificates {
                        warn_all(
                            &c.warnings
                                .iter()
                                .map(|w| format!("{}: {w}", c.name))
                                .collect::<Vec<_>>(),
                            quiet,
                        );
                    }
                    emit(&report.to_text(quiet));
                }
            }
            ExitCode::from(code::OK)
        }
        Outcome::Text(bytes) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&bytes);
            let _ = out.flush();
            ExitCode::from(code::OK)
        }
        Outcome::Verify(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => emit(&report.to_text()),
            }
            ExitCode::from(if report.trusted {
                code::OK
            } else {
                code::FAILURE
            })
        }
        Outcome::Env(lines) => {
            emit(&lines);
            ExitCode::from(code::OK)
        }
        Outcome::Exec(plan) => {
            // stdout belongs to PROGRAM: our report goes to stderr.
            if let Some(report) = &plan.report {
                match format {
                    Format::Json => eprint!("{}", json(report)),
                    Format::Text if !quiet => {
                        warn_all(&report.warnings, quiet);
                        eprint!("{}", report.to_text(true));
                    }
                    Format::Text => {}
                }
            }
            if let Some(notice) = &plan.notice {
                eprintln!("{notice}");
            }
            if let Some(error) = plan.error {
                return print_failure(
                    Failure {
                        error,
                        partial: None,
                    },
                    Format::Text,
                );
            }
            ExitCode::from(app::exec::replace_process(&plan.program, &plan.env))
        }
        Outcome::List(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => {
                    warn_all(&report.warnings, quiet);
                    emit(&report.to_text());
                }
            }
            ExitCode::from(code::OK)
        }
        Outcome::Doctor(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => emit(&report.to_text()),
            }
            ExitCode::from(if report.ok { code::OK } else { code::FAILURE })
        }
    }
}

fn print_failure(failure: Failure, format: Format) -> ExitCode {
    let Failure { error, partial } = failure;
    eprintln!("anchorage: error: {error}");
    if let Some(hint) = error.hint() {
        eprintln!("  hint: {hint}");
    }
    if let Some(p) = &partial {
        for c in &p.certificates {
            eprintln!("note: {} {} before the failure", c.action.as_str(), c.name);
        }
    }
    if format == Format::Json {
        let report = FailureReport {
            changed: partial.as_ref().is_some_and(|p| p.changed),
            failed: true,
            msg: match error.hint() {
                Some(h) => format!("{error} ({h})"),
                None => error.to_string(),
            },
            error: ErrorInfo {
                kind: error.kind().into(),
                path: error.path().map(|p| p.display().to_string()),
            },
            certificates: partial.map(|p| p.certificates),
        };
        emit_json(&report);
    }
    ExitCode::from(error.exit_code())
}
