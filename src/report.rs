//! Reports: serde structs for `--format json` (the documented, stable schema) and their text
//! rendering for humans. No global state; `main` prints what `app` returns.

use serde::Serialize;

use crate::cert::Certificate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Added,
    Unchanged,
    Removed,
    Skipped,
    WouldAdd,
    WouldRemove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Unchanged => "unchanged",
            Action::Removed => "removed",
            Action::Skipped => "skipped",
            Action::WouldAdd => "would_add",
            Action::WouldRemove => "would_remove",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertReport {
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub name: String,
    pub action: Action,
    pub stores: Vec<String>,
    pub warnings: Vec<String>,
    pub source: String,
}

impl CertReport {
    pub fn new(cert: &Certificate, name: &str, action: Action, source: &str) -> Self {
        CertReport {
            sha256: cert.fingerprint(),
            subject: cert.subject.clone(),
            issuer: cert.issuer.clone(),
            not_after: cert.not_after_rfc3339(),
            name: name.to_string(),
            action,
            stores: Vec::new(),
            warnings: Vec::new(),
            source: source.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HookReport {
    pub command: Vec<String>,
    pub ran: bool,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub changed: bool,
    pub check: bool,
    pub platform: String,
    pub root: String,
    pub certificates: Vec<CertReport>,
    pub hook: Option<HookReport>,
    pub warnings: Vec<String>,
}

/// The failure object (the shape Ansible expects from a module).
#[derive(Debug, Serialize)]
pub struct FailureReport {
    pub changed: bool,
    pub failed: bool,
    pub msg: String,
    pub error: ErrorInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<CertReport>>,
}

#[derive(Debug, Serialize)]
pub struct ErrorInfo {
    pub kind: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    pub name: String,
    pub subject: String,
    pub issuer: String,
    pub sha256: String,
    pub not_after: String,
    pub stores: Vec<String>,
    pub paths: Vec<String>,
    pub in_bundle: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub platform: String,
    pub root: String,
    pub certificates: Vec<ListEntry>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub ok: bool,
    pub platform: String,
    pub evidence: Vec<String>,
    pub root: String,
    pub paths: DoctorPaths,
    pub hook: DoctorHook,
    pub managed: Vec<ListEntry>,
    pub missing_from_bundle: Vec<String>,
    pub expiring: Vec<String>,
    pub expired: Vec<String>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorPaths {
    pub anchors: String,
    pub bundle: String,
    pub bundle_exists: bool,
    pub conf: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorHook {
    pub command: Vec<String>,
    pub found: bool,
}

pub fn short(sha: &str) -> &str {
    sha.get(..16).unwrap_or(sha)
}

impl Report {
    pub fn to_text(&self, quiet: bool) -> String {
        let mut out = String::new();
        let mut counts = std::collections::BTreeMap::new();
        for c in &self.certificates {
            *counts.entry(c.action.as_str()).or_insert(0) += 1;
            if quiet && c.action == Action::Unchanged {
                continue;
            }
            let stores = if c.stores.is_empty() {
                String::new()
            } else {
                format!(" [{}]", c.stores.join(", "))
            };
            out.push_str(&format!(
                "{:<12} {}  {}  sha256:{}…{}\n",
                c.action.as_str(),
                c.name,
                c.subject,
                short(&c.sha256),
                stores
            ));
        }
        if let Some(h) = &self.hook {
            if h.ran {
                out.push_str(&format!(
                    "hook: {} (exit {})\n",
                    h.command.join(" "),
                    h.exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "none".into())
                ));
            }
        }
        if !quiet {
            let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let prefix = if self.check { "check: " } else { "" };
            let summary = if summary.is_empty() {
                "nothing to do".to_string()
            } else {
                summary.join(", ")
            };
            out.push_str(&format!(
                "{prefix}{summary} ({}; root {})\n",
                self.platform, self.root
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
                self.platform, self.root
            );
        }
        let mut out = String::new();
        for c in &self.certificates {
            out.push_str(&format!(
                "{}\n  subject:   {}\n  sha256:    {}\n  not_after: {}\n  stores:    {}\n  paths:     {}\n  in bundle: {}\n",
                c.name,
                c.subject,
                c.sha256,
                c.not_after,
                c.stores.join(", "),
                c.paths.join(", "),
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
            self.evidence.join("; "),
            self.root,
            self.paths.anchors,
            self.paths.bundle,
            if self.paths.bundle_exists {
                ""
            } else {
                " (missing)"
            }
        );
        if let Some(conf) = &self.paths.conf {
            out.push_str(&format!("conf:      {conf}\n"));
        }
        out.push_str(&format!(
            "hook:      {} ({})\nmanaged:   {} anchor(s)\n",
            self.hook.command.join(" "),
            if self.hook.found {
                "found"
            } else {
                "NOT FOUND"
            },
            self.managed.len()
        ));
        for p in &self.problems {
            out.push_str(&format!("problem: {p}\n"));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(if self.ok { "ok\n" } else { "problems found\n" });
        out
    }
}
