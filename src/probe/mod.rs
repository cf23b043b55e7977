//! `anchorage verify`: is a TLS server trusted by this tree's effective bundle right now?
//!
//! Connect (directly or through an HTTP CONNECT proxy), handshake with rustls (ring provider)
//! while only recording the presented chain (`net`), then judge the chain with rustls'
//! `WebPkiServerVerifier` built from the effective bundle of the platform under `--root` (or
//! `--ca-file`) and refine its error into one stable reason with the fix (`judge`). Installs
//! nothing; `--save-chain` only writes the presented certificates.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::cert;
use crate::error::{Error, Result};
use crate::platform::Target;
use crate::request::{Global, VerifyRequest};

mod bundle;
mod diagnosis;
mod facts;
mod judge;
mod net;
mod target;
mod text;
mod verdict;

use bundle::{ca_file, effective_bundle, managed};
use facts::Facts;
use judge::Reason;
use text::{diagnosis_text, trusted_line};

/// The result of `verify`. JSON: exactly `trusted`, `reason`, `chain`, `anchor`, `host`, `port`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub trusted: bool,
    /// `trusted`, `unknown_issuer`, `expired`, `not_yet_valid`, `name_mismatch`,
    /// `incomplete_chain`, `self_signed` or `other`.
    pub reason: String,
    /// The certificates as the server presented them, end entity first.
    pub chain: Vec<ChainEntry>,
    /// The bundle certificate that validated the chain (`null` unless trusted).
    pub anchor: Option<AnchorEntry>,
    pub host: String,
    pub port: u16,
    /// The human report (diagnosis and fix), printed by `to_text`.
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainEntry {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub is_ca: bool,
    pub sha256: String,
    pub self_signed: bool,
    /// subjectAltName entries ("DNS:…", "IP:…").
    pub names: Vec<String>,
    /// Authority Information Access caIssuers URLs.
    pub ca_issuers: Vec<String>,
    /// Where `--save-chain` wrote it.
    pub file: Option<String>,
    /// Set when the certificate cannot be parsed (then only `sha256` is meaningful).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnchorEntry {
    /// The managed name when anchorage manages it, else the subject's common name.
    pub name: String,
    pub subject: String,
    pub sha256: String,
    pub managed: bool,
    pub not_after: String,
}

impl VerifyReport {
    pub fn to_text(&self) -> String {
        self.text.clone()
    }
}

pub fn verify(global: &Global, args: &VerifyRequest) -> Result<VerifyReport> {
    let (root, platform) = (&global.root, global.platform);
    let endpoint = target::parse_target(&args.target)?;
    let proxy = args.proxy.as_deref().map(target::parse_proxy).transpose()?;
    let name = target::server_name(args.servername.as_deref().unwrap_or(&endpoint.host))?;
    if args.timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1 second"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algs = provider.signature_verification_algorithms;

    // Everything local first: a broken --root or --ca-file fails before any connection.
    let (tree, mut bundle) = match &args.ca_file {
        // The tree is only consulted for "managed" then: it need not be a detectable platform.
        Some(file) => (Target::open(root, platform).ok(), ca_file(file, &algs)?),
        None => {
            let t = Target::open(root, platform)?;
            let b = effective_bundle(&t, &algs)?;
            (Some(t), b)
        }
    };
    let managed = match &tree {
        Some(t) => managed(t, &mut bundle.notes),
        None => Vec::new(),
    };

    let hs = net::handshake(
        &provider,
        &endpoint,
        &name,
        proxy.as_ref(),
        Duration::from_secs(args.timeout),
    )?;
    let facts: Vec<std::result::Result<Facts, String>> =
        hs.chain.iter().map(|c| Facts::parse(c, &algs)).collect();
    let saved = match &args.save_chain {
        Some(dir) => save_chain(dir, &hs.chain, &facts)?,
        None => Vec::new(),
    };
    let saved_by_sha: Vec<([u8; 32], String)> = hs
        .chain
        .iter()
        .map(|c| cert::sha256(c))
        .zip(saved.iter().cloned())
        .collect();
    let now = cert::now();
    let ctx = judge::Context {
        name: &name,
        explicit_name: args.servername.is_some(),
        via_proxy: proxy.is_some(),
        saved: &saved_by_sha,
        now,
    };
    let verdict = judge::judge(&provider, &hs.chain, &facts, &bundle.certs, &ctx);

    let chain: Vec<ChainEntry> = hs
        .chain
        .iter()
        .zip(&facts)
        .enumerate()
        .map(|(i, (der, f))| chain_entry(der, f, saved.get(i)))
        .collect();
    let anchor = verdict
        .anchor
        .filter(|_| verdict.reason == Reason::Trusted)
        .map(|i| {
            let c = &bundle.certs[i].cert;
            let managed_name = managed
                .iter()
                .find(|(_, sha)| *sha == c.sha256)
                .map(|(n, _)| n.clone());
            AnchorEntry {
                managed: managed_name.is_some(),
                name: managed_name.unwrap_or_else(|| c.common_name.clone()),
                subject: c.subject.clone(),
                sha256: c.fingerprint(),
                not_after: c.not_after_rfc3339(),
            }
        });

    let mut where_ = endpoint.authority();
    if args.servername.is_some() {
        where_.push_str(&format!(
            " (name {})",
            args.servername.as_deref().unwrap_or_default()
        ));
    }
    if let Some(p) = &proxy {
        where_.push_str(&format!(" via proxy {}", p.authority()));
    }
    let text = if verdict.reason == Reason::Trusted {
        trusted_line(
            &where_,
            &facts,
            anchor.as_ref(),
            &saved,
            hs.late_error.as_deref(),
            now,
        )
    } else {
        diagnosis_text(&where_, &bundle, &chain, &hs, &verdict, now)
    };
    Ok(VerifyReport {
        trusted: verdict.reason == Reason::Trusted,
        reason: verdict.reason.code().into(),
        chain,
        anchor,
        host: endpoint.host.clone(),
        port: endpoint.port,
        text,
    })
}

fn chain_entry(
    der: &[u8],
    f: &std::result::Result<Facts, String>,
    file: Option<&String>,
) -> ChainEntry {
    match f {
        Ok(f) => ChainEntry {
            subject: f.cert.subject.clone(),
            issuer: f.cert.issuer.clone(),
            not_before: cert::rfc3339(f.cert.not_before),
            not_after: f.cert.not_after_rfc3339(),
            is_ca: f.cert.is_ca,
            sha256: f.cert.fingerprint(),
            self_signed: f.self_signed,
            names: f.names.clone(),
            ca_issuers: f.ca_issuers.clone(),
            file: file.cloned(),
            error: None,
        },
        Err(e) => ChainEntry {
            subject: String::new(),
            issuer: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            is_ca: false,
            sha256: hex::encode(cert::sha256(der)),
            self_signed: false,
            names: Vec::new(),
            ca_issuers: Vec::new(),
            file: file.cloned(),
            error: Some(e.clone()),
        },
    }
}

/// A file-name-safe form of a certificate's common name (`crate::policy::safe_name`), with
/// "certificate" when there is none or nothing of it is safe.
fn safe_name(cn: Option<&str>) -> String {
    match cn.map(crate::policy::safe_name) {
        Some(name) if !name.is_empty() => name,
        _ => "certificate".into(),
    }
}

/// `--save-chain DIR`: each presented certificate as `NN-<name>.pem`, mode 0644. Never a key,
/// never anything else, never through a symbolic link at the file name.
fn save_chain(
    dir: &Path,
    chain: &[rustls::pki_types::CertificateDer<'static>],
    facts: &[std::result::Result<Facts, String>],
) -> Result<Vec<String>> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::io("cannot create the --save-chain directory", dir, e))?;
    let mut written = Vec::new();
    for (i, (der, f)) in chain.iter().zip(facts).enumerate() {
        let path: PathBuf = dir.join(format!(
            "{i:02}-{}.pem",
            safe_name(f.as_ref().ok().map(|f| f.cert.common_name.as_str()))
        ));
        let pem = cert::pem_encode("CERTIFICATE", der);
        crate::fsx::write_output(
            &path,
            pem.as_bytes(),
            "cannot save the presented certificate",
        )?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name(Some("myNewCa Test Root")), "myNewCa_Test_Root");
        assert_eq!(safe_name(Some("127.0.0.1")), "127.0.0.1");
        assert_eq!(safe_name(Some("../../etc/passwd")), "etc_passwd");
        assert_eq!(safe_name(Some("*.example.com")), "example.com");
        assert_eq!(safe_name(Some("Ünïcode  CA / 2")), "n_code_CA_2");
        assert_eq!(safe_name(Some("...")), "certificate");
        assert_eq!(safe_name(None), "certificate");
        assert_eq!(safe_name(Some(&"x".repeat(200))).len(), 64);
        // policy::safe_name's rules: '-' is trimmed too, and so is a separator left at the cut.
        assert_eq!(safe_name(Some("-Test CA-")), "Test_CA");
        assert_eq!(
            safe_name(Some(&format!("{}_y", "x".repeat(63)))),
            "x".repeat(63)
        );
    }
}
