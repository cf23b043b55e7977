//! Rendering: each outcome to stdout (text or JSON) with warnings on stderr, failures as
//! `anchorage: error: …` plus a hint (and the Ansible-shaped failure object under JSON), and
//! the exit code decided in this one place.

use std::ffi::OsString;
use std::io::Write;

use super::{ErrorInfo, ExecOutcome, Failure, FailureReport, Outcome};
use crate::error::code;
use crate::request::Format;
use crate::text_safe::escape;

/// What `main` does after rendering.
pub enum Next {
    Exit(u8),
    /// `exec`: replace this process with the program (and these extra variables); the
    /// environment bundle's state for `exec --watch`.
    Exec(
        Vec<OsString>,
        Vec<(String, String)>,
        Option<crate::report::EnvBundle>,
    ),
}

pub fn render(result: Result<Outcome, Failure>, format: Format, quiet: bool) -> Next {
    match result {
        Ok(outcome) => outcome_(outcome, format, quiet),
        Err(failure) => Next::Exit(failure_(failure, format)),
    }
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

fn warn_all<'a>(warnings: impl IntoIterator<Item = &'a String>, quiet: bool) {
    notify_all(warnings, &[], quiet);
}

/// Warnings on stderr; those that are among `notes` (informational) as `note:`.
fn notify_all<'a>(warnings: impl IntoIterator<Item = &'a String>, notes: &[String], quiet: bool) {
    if quiet {
        return;
    }
    let notes: std::collections::HashSet<&str> = notes.iter().map(String::as_str).collect();
    for w in warnings {
        let kind = if notes.contains(w.as_str()) {
            "note"
        } else {
            "warning"
        };
        eprintln!("{kind}: {}", escape(w));
    }
}

fn outcome_(outcome: Outcome, format: Format, quiet: bool) -> Next {
    let code = match outcome {
        Outcome::Change(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => {
                    notify_all(&report.warnings, &report.notes, quiet);
                    let per_cert: Vec<String> = report
                        .certificates
                        .iter()
                        .flat_map(|c| c.warnings.iter().map(move |w| format!("{}: {w}", c.name)))
                        .collect();
                    warn_all(&per_cert, quiet);
                    emit(&report.to_text(quiet));
                }
            }
            // The process ends right after; freeing a 10,000-entry report one string at a
            // time would only delay the exit.
            std::mem::forget(report);
            code::OK
        }
        Outcome::Text(bytes) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&bytes);
            let _ = out.flush();
            code::OK
        }
        Outcome::Verify(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => emit(&report.to_text()),
            }
            if report.trusted {
                code::OK
            } else {
                code::FAILURE
            }
        }
        Outcome::Exit(code) => code,
        Outcome::Env(lines) => {
            emit(&lines);
            code::OK
        }
        Outcome::Exec(plan) => return exec(plan, format, quiet),
        Outcome::List(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => {
                    notify_all(&report.warnings, &report.notes, quiet);
                    emit(&report.to_text());
                }
            }
            code::OK
        }
        Outcome::Doctor(report) => {
            match format {
                Format::Json => emit_json(&report),
                Format::Text => emit(&report.to_text()),
            }
            if report.ok {
                code::OK
            } else {
                code::FAILURE
            }
        }
    };
    Next::Exit(code)
}

/// `exec`: stdout belongs to PROGRAM, so our report goes to stderr.
fn exec(plan: ExecOutcome, format: Format, quiet: bool) -> Next {
    if let Some(report) = &plan.report {
        match format {
            Format::Json => eprint!("{}", json(report)),
            Format::Text if !quiet => {
                notify_all(&report.warnings, &report.notes, quiet);
                eprint!("{}", report.to_text_brief());
            }
            Format::Text => {}
        }
    }
    if let Some(notice) = &plan.notice {
        eprintln!("{}", escape(notice));
    }
    if let Some(error) = plan.error {
        let failure = Failure {
            error,
            partial: None,
        };
        return Next::Exit(failure_(failure, Format::Text));
    }
    Next::Exec(plan.program, plan.env, plan.bundle)
}

fn failure_(failure: Failure, format: Format) -> u8 {
    let Failure { error, partial } = failure;
    // One line each, whatever the message quotes (subjects, hook output): a certificate's
    // text cannot start a line of its own.
    eprintln!("anchorage: error: {}", escape(&error.to_string()));
    if let Some(hint) = error.hint() {
        eprintln!("  hint: {}", escape(&hint));
    }
    if let Some(p) = &partial {
        for c in &p.certificates {
            eprintln!(
                "note: {} {} before the failure",
                c.action.as_str(),
                escape(&c.name)
            );
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
                path: error.location(),
            },
            certificates: partial.map(|p| p.certificates),
        };
        emit_json(&report);
    }
    error.exit_code()
}
