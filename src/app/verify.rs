//! `anchorage verify` (placeholder being implemented).

use std::path::Path;

use serde::Serialize;

use crate::cli::{PlatformArg, VerifyArgs};
use crate::error::{Error, Result};

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub trusted: bool,
    pub reason: String,
    pub chain: Vec<serde_json::Value>,
    pub anchor: Option<serde_json::Value>,
    pub host: String,
    pub port: u16,
}

impl VerifyReport {
    pub fn to_text(&self) -> String {
        format!("{}\n", self.reason)
    }
}

pub fn verify(_root: &Path, _platform: PlatformArg, _args: &VerifyArgs) -> Result<VerifyReport> {
    Err(Error::failed("verify is not implemented yet", ""))
}
