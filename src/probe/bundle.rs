//! The anchors `verify` checks against: the effective bundle of the platform under `--root`
//! (or the `--ca-file` certificates), read leniently, and the managed anchors of the tree (to
//! tell whether the validating anchor is anchorage's).

use std::fs;
use std::path::Path;

use rustls::crypto::WebPkiSupportedAlgorithms;

use super::facts::{read_pem_bundle, Facts};
use crate::error::{Error, Result};
use crate::input::source::{self, Missing};
use crate::platform::Target;
use crate::store::system::SystemStore;

/// Where the anchors came from, for messages.
pub(super) struct Bundle {
    pub(super) label: String,
    pub(super) certs: Vec<Facts>,
    pub(super) notes: Vec<String>,
}

pub(super) fn ca_file(file: &Path, algs: &WebPkiSupportedAlgorithms) -> Result<Bundle> {
    let loaded = source::load(&[file.to_path_buf()], None, Missing::Error)?;
    let mut notes = loaded.warnings;
    let mut certs = Vec::new();
    for s in &loaded.certs {
        // As OpenSSL does with -CAfile: trust settings that refuse TLS servers are honoured.
        if let Some((file, why)) = &s.refused {
            notes.push(format!("{file}: skipped a certificate: {why}"));
            continue;
        }
        match Facts::parse(&s.cert.der, algs) {
            Ok(f) => certs.push(f),
            Err(e) => notes.push(format!("{}: skipped a certificate: {e}", s.source)),
        }
    }
    Ok(Bundle {
        label: format!(
            "--ca-file {} ({} certificates)",
            file.display(),
            certs.len()
        ),
        certs,
        notes,
    })
}

pub(super) fn effective_bundle(t: &Target, algs: &WebPkiSupportedAlgorithms) -> Result<Bundle> {
    let path = crate::platform::in_root(&t.root, t.layout().bundle);
    let mut notes = Vec::new();
    let certs = match fs::read(&path) {
        Ok(bytes) => {
            let (certs, skipped) = read_pem_bundle(&bytes, algs);
            if skipped > 0 {
                notes.push(format!(
                    "{}: skipped {skipped} unreadable certificate block(s)",
                    path.display()
                ));
            }
            certs
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            notes.push(format!(
                "the effective bundle {} does not exist: nothing is trusted (install a CA with `anchorage install`)",
                path.display()
            ));
            Vec::new()
        }
        Err(e) => return Err(Error::io("cannot read the effective bundle", &path, e)),
    };
    Ok(Bundle {
        label: format!("{} ({} certificates)", path.display(), certs.len()),
        certs,
        notes,
    })
}

/// Managed anchors of the tree (name, sha256): the platform's store and, on Debian, conf mode.
pub(super) fn managed(t: &Target, notes: &mut Vec<String>) -> Vec<(String, [u8; 32])> {
    let mut out = Vec::new();
    let stores = match SystemStore::all(&t.root, t.layout()) {
        Ok(s) => s,
        Err(e) => {
            notes.push(format!("cannot list managed anchors: {e}"));
            return out;
        }
    };
    for store in stores {
        match store.managed() {
            Ok(list) => out.extend(
                list.into_iter()
                    .filter_map(|m| m.cert.map(|c| (m.name, c.sha256))),
            ),
            Err(e) => notes.push(format!("cannot list managed anchors: {e}")),
        }
    }
    out
}
