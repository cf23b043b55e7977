//! The `--format json` reports, typed and strict, so the schema cannot drift unnoticed: every
//! struct denies unknown fields, a missing field fails, and a field that may be `null` must
//! still be present (`present`). The shapes are those of src/report.rs (the change, failure,
//! list and doctor reports) and src/app/verify.rs (the verify report).
//!
//! Tests read only some fields; the others are here to pin the schema.
#![allow(dead_code)]

use std::process::Output;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{code, stderr};

/// A nullable field that must be present: serde accepts a missing `Option` field as `None`
/// unless the field has its own deserializer.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// The change report of install, sync, remove and exec (src/report.rs `Report`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub changed: bool,
    pub check: bool,
    pub platform: String,
    pub root: String,
    pub certificates: Vec<Cert>,
    #[serde(deserialize_with = "present")]
    pub hook: Option<Hook>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cert {
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub name: String,
    pub action: String,
    pub stores: Vec<String>,
    pub warnings: Vec<String>,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub command: Vec<String>,
    pub ran: bool,
    #[serde(deserialize_with = "present")]
    pub exit_code: Option<i32>,
    /// Native refresh: the update.d hooks it ran (absent when none).
    #[serde(default)]
    pub update_d: Vec<UpdateD>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateD {
    pub name: String,
    #[serde(deserialize_with = "present")]
    pub exit_code: Option<i32>,
}

/// The failure report of any command (src/report.rs `FailureReport`); `certificates` (what was
/// done before the failure) is the one field that may be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub changed: bool,
    pub failed: bool,
    pub msg: String,
    pub error: ErrorInfo,
    #[serde(default)]
    pub certificates: Option<Vec<Cert>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    pub kind: String,
    #[serde(deserialize_with = "present")]
    pub path: Option<String>,
}

/// `list` (src/report.rs `ListReport`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    pub platform: String,
    pub root: String,
    pub certificates: Vec<ListEntry>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// `doctor` (src/report.rs `DoctorReport`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doctor {
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
    pub shadowing: Vec<String>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// `--runtimes` only (absent without it).
    #[serde(default)]
    pub runtimes: Option<Vec<RuntimeRow>>,
}

/// One row of `doctor --runtimes` (src/runtimes `RuntimeRow`; issue 16's contract).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeRow {
    pub runtime: String,
    pub path: String,
    pub trusts: bool,
    pub missing: Vec<String>,
    pub fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorPaths {
    pub anchors: String,
    pub bundle: String,
    pub bundle_exists: bool,
    #[serde(deserialize_with = "present")]
    pub conf: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorHook {
    pub command: Vec<String>,
    pub found: bool,
}

/// `verify` (src/app/verify.rs `VerifyReport`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub trusted: bool,
    pub reason: String,
    pub chain: Vec<ChainEntry>,
    #[serde(deserialize_with = "present")]
    pub anchor: Option<Anchor>,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainEntry {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub is_ca: bool,
    pub sha256: String,
    pub self_signed: bool,
    pub names: Vec<String>,
    pub ca_issuers: Vec<String>,
    #[serde(deserialize_with = "present")]
    pub file: Option<String>,
    #[serde(deserialize_with = "present")]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub name: String,
    pub subject: String,
    pub sha256: String,
    pub managed: bool,
    pub not_after: String,
}

/// `bytes` parsed strictly as a `T` (what names the kind of report in the panic message).
pub fn parse<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> T {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("bad JSON {what} ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A whole report as a `serde_json::Value`, for tests that assert on it that way, after
/// checking that it also parses strictly as a `T` (the schema).
pub fn value<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Value {
    let _: T = parse(std::any::type_name::<T>(), bytes);
    serde_json::from_slice(bytes).expect("JSON")
}

/// The change report of a successful run (exit 0).
pub fn report(o: &Output) -> Report {
    assert_eq!(code(o), 0, "expected success, stderr: {}", stderr(o));
    parse("report", &o.stdout)
}

pub fn failure(o: &Output) -> Failure {
    parse("failure", &o.stdout)
}
