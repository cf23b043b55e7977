//! Reports: serde structs for `--format json` (the documented, stable schema), a pure `build`
//! from the plans and what was applied, and the renderers (`render`: text and JSON, and the
//! exit code). No global state; `main` renders what `commands::run` returns.

use std::ffi::OsString;

use serde::Serialize;

use crate::cert::Certificate;
use crate::error::Error;
use crate::store::StoreId;

mod build;
mod render;
mod text;

pub use build::{build, Header, StoreRun};
pub use render::{render, Next};

/// What a command returns for `render`.
pub enum Outcome {
    Change(Report),
    Exec(ExecOutcome),
    Env(String),
    /// Text to print as is (completions, man page).
    Text(Vec<u8>),
    Verify(crate::probe::VerifyReport),
    List(ListReport),
    Doctor(DoctorReport),
    /// Already printed (`watch`, which renders each sync itself): just this exit code.
    Exit(u8),
}

/// A failed run, with what it had already changed (reported truthfully).
pub struct Failure {
    pub error: Error,
    pub partial: Option<Box<Report>>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            partial: None,
        }
    }
}

/// `exec`: what to print, then the program to replace this process with.
pub struct ExecOutcome {
    pub report: Option<Report>,
    pub error: Option<Error>,
    pub program: Vec<OsString>,
    /// Variables to set for PROGRAM (the environment-bundle fallback).
    pub env: Vec<(String, String)>,
    pub notice: Option<String>,
    /// The environment-bundle fallback's directory and content, when it wrote one: `exec
    /// --watch` re-syncs into the same directory and compares the content.
    pub bundle: Option<EnvBundle>,
}

/// Where the environment-bundle fallback wrote, and a digest of what (every file's name and
/// bytes, and the variables): equal digests mean PROGRAM would see the same trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvBundle {
    pub dir: std::path::PathBuf,
    pub digest: [u8; 32],
}

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
    pub stores: Vec<StoreId>,
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
    /// The full argv (JSON `hook.command`).
    pub command: Vec<String>,
    /// The hook's file name (`update-ca-certificates`, also under chroot): the text report's.
    #[serde(skip)]
    pub program: String,
    pub ran: bool,
    pub exit_code: Option<i32>,
    /// Native refresh: the tree's update.d hooks it ran (absent when none ran).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub update_d: Vec<UpdateDReport>,
}

/// One `/etc/ca-certificates/update.d` hook a native refresh ran.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateDReport {
    /// Its path in the tree.
    pub name: String,
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
    /// The informational lines among `warnings`: `note:` in text, still `warnings` in JSON.
    #[serde(skip)]
    pub notes: Vec<String>,
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
    pub stores: Vec<StoreId>,
    pub paths: Vec<String>,
    pub in_bundle: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub platform: String,
    pub root: String,
    pub certificates: Vec<ListEntry>,
    pub warnings: Vec<String>,
    /// As `Report::notes`.
    #[serde(skip)]
    pub notes: Vec<String>,
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
    /// Managed names that take the link name of a certificate that is not anchorage's
    /// (Debian: `/etc/ssl/certs/NAME.pem`), so that certificate's hash link is gone.
    pub shadowing: Vec<String>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// As `Report::notes`.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// `--runtimes`: one row per runtime found (absent without the flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<crate::runtimes::RuntimeRow>>,
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
    /// The hook's file name (for the text report's hint).
    #[serde(skip)]
    pub program: String,
    pub found: bool,
}
