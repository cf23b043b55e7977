//! Text rendering of the reports, for humans.

use super::{Action, DoctorReport, ListReport, Report};
use crate::store::StoreId;
use crate::text_safe::escape;

fn join(stores: &[StoreId]) -> String {
    stores
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn short(sha: &str) -> &str {
    sha.get(..16).unwrap_or(sha)
}

impl Report {
    /// The text report: a line per certificate, the hook (by its name: the full argv is in
    /// `-v` and the JSON), the summary. `quiet` keeps only the changes.
    pub fn to_text(&self, quiet: bool) -> String {
        let mut out = self.lines(quiet);
        if !quiet {
            out.push_str(&self.hook_line());
            out.push_str(&self.summary());
        }
        out
    }

    /// exec's report on stderr: the changes and the hook, no summary.
    pub fn to_text_brief(&self) -> String {
        let mut out = self.lines(true);
        out.push_str(&self.hook_line());
        out
    }

    fn hook_line(&self) -> String {
        match &self.hook {
            Some(h) if h.ran => format!(
                "hook: {} (exit {})\n",
                h.program,
                h.exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none".into())
            ),
            _ => String::new(),
        }
    }

    fn summary(&self) -> String {
        let mut counts = std::collections::BTreeMap::new();
        for c in &self.certificates {
            *counts.entry(c.action.as_str()).or_insert(0) += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let prefix = if self.check { "check: " } else { "" };
        let summary = if summary.is_empty() {
            "nothing to do".to_string()
        } else {
            summary.join(", ")
        };
        format!(
            "{prefix}{summary} ({}; root {})\n",
            self.platform,
            escape(&self.root)
        )
    }

    fn lines(&self, quiet: bool) -> String {
        let mut out = String::new();
        for c in &self.certificates {
            if quiet && c.action == Action::Unchanged {
                continue;
            }
            let stores = if c.stores.is_empty() {
                String::new()
            } else {
                format!(" [{}]", join(&c.stores))
            };
            out.push_str(&format!(
                "{:<12} {}  {}  sha256:{}…{}\n",
                c.action.as_str(),
                escape(&c.name),
                escape(&c.subject),
                short(&c.sha256),
                stores
            ));
        }
        out
    }
}

impl ListReport {
    pub fn to_text(&self) -> String {
        if self.certificates.is_empty() {
            return format!(
                "no anchors managed by anchorage ({}; root {})\n",
                self.platform,
                escape(&self.root)
            );
        }
        let mut out = String::new();
        for c in &self.certificates {
            out.push_str(&format!(
                "{}\n  subject:   {}\n  sha256:    {}\n  not_after: {}\n  stores:    {}\n  paths:     {}\n  in bundle: {}\n",
                escape(&c.name),
                escape(&c.subject),
                c.sha256,
                c.not_after,
                escape(&join(&c.stores)),
                escape(&c.paths.join(", ")),
                if c.in_bundle { "yes" } else { "no" }
            ));
        }
        out
    }
}

impl DoctorReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "platform:  {} ({})\nroot:      {}\nanchors:   {}\nbundle:    {}{}\n",
            self.platform,
            escape(&self.evidence.join("; ")),
            escape(&self.root),
            escape(&self.paths.anchors),
            escape(&self.paths.bundle),
            if self.paths.bundle_exists {
                ""
            } else {
                " (missing)"
            }
        );
        if let Some(conf) = &self.paths.conf {
            out.push_str(&format!("conf:      {}\n", escape(conf)));
        }
        out.push_str(&format!(
            "hook:      {} ({})\nmanaged:   {} anchor(s)\n",
            escape(&self.hook.command.join(" ")),
            if self.hook.found {
                "found"
            } else {
                "NOT FOUND"
            },
            self.managed.len()
        ));
        for r in self.runtimes.iter().flatten() {
            out.push_str(&runtime_line(r));
        }
        for p in &self.problems {
            out.push_str(&format!("problem: {}\n", escape(p)));
        }
        for w in &self.warnings {
            let kind = if self.notes.contains(w) {
                "note"
            } else {
                "warning"
            };
            out.push_str(&format!("{kind}: {}\n", escape(w)));
        }
        out.push_str(if self.ok { "ok\n" } else { "problems found\n" });
        if let Some(hint) = self.hint() {
            out.push_str(&format!("hint: {}\n", escape(&hint)));
        }
        out
    }

    /// What to run for the fixable problems (from the report's fields, never its wording).
    fn hint(&self) -> Option<String> {
        let tree = if self.root == "/" { "" } else { " in the tree" };
        if !self.hook.found {
            return Some(format!(
                "install the package that provides `{}`{tree} (ca-certificates), then run it",
                self.hook.program
            ));
        }
        if !self.paths.bundle_exists {
            return Some(format!(
                "run `{}`{tree}, or `anchorage install CA` (it runs the hook)",
                self.hook.program
            ));
        }
        if let Some(name) = self.shadowing.first() {
            return Some(format!(
                "give it a name of its own: `anchorage remove {}`, then `anchorage install` its source again (anchorage now picks a name no distribution certificate uses; the hook restores the other link)",
                escape(name)
            ));
        }
        if !self.missing_from_bundle.is_empty() {
            return Some(format!(
                "run `{}`{tree}, or `anchorage install` the missing anchors again (it re-registers them and runs the hook)",
                self.hook.program
            ));
        }
        (!self.expired.is_empty()).then(|| {
            "replace the expired anchors: `anchorage install NEW-CA`, then `anchorage remove NAME`"
                .to_string()
        })
    }
}

/// `doctor --runtimes`: one line per runtime.
fn runtime_line(r: &crate::runtimes::RuntimeRow) -> String {
    if r.trusts {
        format!(
            "runtime:   {} {}: trusts every managed anchor\n",
            r.runtime,
            escape(&r.path)
        )
    } else {
        format!(
            "runtime:   {} {}: does not trust {} managed anchor(s) ({}); fix: {}\n",
            r.runtime,
            escape(&r.path),
            r.missing.len(),
            r.missing
                .iter()
                .map(|m| m.get(..16).unwrap_or(m))
                .collect::<Vec<_>>()
                .join(", "),
            escape(&r.fix)
        )
    }
}
