//! `anchorage metrics`: the state as Prometheus text (the exposition format node_exporter's
//! textfile collector reads; also valid OpenMetrics text apart from the `# EOF` marker, which
//! the textfile collector does not want). Built from what `doctor` judges (managed anchors,
//! effective bundle, problems) and the last-run state file; no network, no daemon. With
//! `--output` the file is replaced atomically (`fsx::write_atomic`), so a scrape never sees
//! half of it.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::error::Result;
use crate::last_run::{self, LastRun};
use crate::report::DoctorReport;
use crate::request::Global;
use crate::text_safe::escape;

/// A runtime `doctor --runtimes` found, and whether it trusts the managed anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTrust {
    pub runtime: String,
    pub path: String,
    pub trusts: bool,
}

/// The runtimes `doctor --runtimes` finds (issue 16), with whether each trusts every managed
/// anchor: one `anchorage_runtime_trusts{runtime,path}` series each.
pub fn runtime_trusts(doctor: &DoctorReport) -> Vec<RuntimeTrust> {
    doctor
        .runtimes
        .iter()
        .flatten()
        .map(|r| RuntimeTrust {
            runtime: r.runtime.clone(),
            path: r.path.clone(),
            trusts: r.trusts,
        })
        .collect()
}

/// Build the metrics text for the tree of `global`.
pub fn metrics(global: &Global) -> Result<String> {
    // Runtime gaps as warnings: they are their own series, not doctor problems.
    let doctor =
        crate::commands::inspect::doctor(global, 60, Some(crate::request::RuntimesMode::Warn))?;
    let tree = crate::tree::Tree::pin(&global.root)?;
    let last = last_run::read(&tree);
    Ok(render(&doctor, &runtime_trusts(&doctor), last.as_ref()))
}

/// A label value escaped per the exposition format (`\` → `\\`, `"` → `\"`, newline → `\n`),
/// after `text_safe::escape` made every other control character visible: certificate text
/// cannot end the label, the line or the file.
pub fn label(value: &str) -> String {
    let safe = escape(value);
    let mut out = String::with_capacity(safe.len() + 2);
    for c in safe.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Family {
    name: &'static str,
    help: &'static str,
    samples: BTreeSet<String>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: BTreeSet::new(),
        }
    }

    /// One sample; `labels` as (name, raw value). A duplicate series is kept once.
    fn push(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let mut line = self.name.to_string();
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            line.push('{');
            line.push_str(&inner.join(","));
            line.push('}');
        }
        let _ = write!(line, " {value}");
        self.samples.insert(line);
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} gauge", self.name);
        for s in &self.samples {
            out.push_str(s);
            out.push('\n');
        }
    }
}

fn unix(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The text (pure: unit-tested).
pub fn render(doctor: &DoctorReport, runtimes: &[RuntimeTrust], last: Option<&LastRun>) -> String {
    let mut info = Family::new(
        "anchorage_anchor_info",
        "A trust anchor anchorage manages, one series per store holding it (always 1).",
    );
    let mut not_after = Family::new(
        "anchorage_anchor_not_after_seconds",
        "Expiry of a managed anchor (Unix time).",
    );
    let mut effective = Family::new(
        "anchorage_anchor_in_effective_bundle",
        "1 when the managed anchor is in the platform's effective bundle (judged by effect), else 0.",
    );
    for m in &doctor.managed {
        for store in &m.stores {
            let store = store.to_string();
            info.push(
                &[
                    ("name", &m.name),
                    ("sha256", &m.sha256),
                    ("subject", &m.subject),
                    ("store", &store),
                ],
                1,
            );
        }
        if let Some(t) = unix(&m.not_after) {
            not_after.push(&[("name", &m.name), ("sha256", &m.sha256)], t);
        }
        effective.push(
            &[("name", &m.name), ("sha256", &m.sha256)],
            u8::from(m.in_bundle),
        );
    }
    let mut runtime = Family::new(
        "anchorage_runtime_trusts",
        "1 when the runtime (doctor --runtimes) trusts the managed anchors, else 0.",
    );
    for r in runtimes {
        runtime.push(
            &[("runtime", &r.runtime), ("path", &r.path)],
            u8::from(r.trusts),
        );
    }
    let mut problems = Family::new(
        "anchorage_doctor_problems",
        "Number of problems anchorage doctor reports (0: healthy).",
    );
    problems.push(&[], doctor.problems.len());
    let mut families = vec![info, not_after, effective, runtime, problems];
    if let Some(last) = last {
        let mut f = Family::new(
            "anchorage_last_run_timestamp_seconds",
            "When the last install/sync/remove/exec/watch run ended (Unix time).",
        );
        f.push(&[], last.timestamp);
        families.push(f);
        let mut f = Family::new(
            "anchorage_last_run_success",
            "1 when the last run succeeded, else 0.",
        );
        f.push(&[], u8::from(last.success));
        families.push(f);
        let mut f = Family::new(
            "anchorage_last_run_changed",
            "1 when the last run changed a store, else 0.",
        );
        f.push(&[], u8::from(last.changed));
        families.push(f);
    }
    let mut out = String::new();
    for f in &families {
        f.write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_per_the_exposition_format() {
        assert_eq!(label(r#"CN=a"b\c"#), r#"CN=a\"b\\c"#);
        // A newline is made visible by text_safe first (`\n`, two characters), then its
        // backslash is escaped: the label stays on one line whatever the subject holds.
        let l = label("CN=x\n} 1\nanchorage_doctor_problems 0");
        assert!(!l.contains('\n'));
        assert!(!l.contains("\"") || l.contains("\\\""));
    }
}
