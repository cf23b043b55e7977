//! `anchorage verify`: is a TLS server trusted by this tree's effective bundle right now?
//!
//! Connect (directly or through an HTTP CONNECT proxy), handshake with rustls (ring provider)
//! while only recording the presented chain (`net`), then judge the chain with rustls'
//! `WebPkiServerVerifier` built from the effective bundle of the platform under `--root` (or
//! `--ca-file`) and refine its error into one stable reason with the fix (`judge`). Installs
//! nothing; `--save-chain` only writes the presented certificates.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::cert;
use crate::error::{Error, Result};
use crate::input::source::{self, Missing};
use crate::platform::Target;
use crate::request::{Global, VerifyRequest};
use crate::store::system::SystemStore;

mod judge;
mod net;
mod target;

use judge::{Facts, Reason};

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

/// Where the anchors came from, for messages.
struct Bundle {
    label: String,
    certs: Vec<Facts>,
    notes: Vec<String>,
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

fn ca_file(file: &Path, algs: &rustls::crypto::WebPkiSupportedAlgorithms) -> Result<Bundle> {
    let loaded = source::load(&[file.to_path_buf()], None, Missing::Error)?;
    let mut notes = loaded.warnings;
    let mut certs = Vec::new();
    for s in &loaded.certs {
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

fn effective_bundle(
    t: &Target,
    algs: &rustls::crypto::WebPkiSupportedAlgorithms,
) -> Result<Bundle> {
    let path = crate::platform::in_root(&t.root, t.layout().bundle);
    let mut notes = Vec::new();
    let certs = match fs::read(&path) {
        Ok(bytes) => {
            let (certs, skipped) = judge::read_pem_bundle(&bytes, algs);
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
fn managed(t: &Target, notes: &mut Vec<String>) -> Vec<(String, [u8; 32])> {
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

/// A file-name-safe form of a certificate's common name.
fn safe_name(cn: Option<&str>) -> String {
    let cn = cn.unwrap_or("certificate");
    let mut out = String::new();
    for ch in cn.chars() {
        let ch = if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_') {
            ch
        } else {
            '_'
        };
        if !(ch == '_' && out.ends_with('_')) {
            out.push(ch);
        }
    }
    let out: String = out
        .trim_matches(|c| c == '_' || c == '.')
        .chars()
        .take(64)
        .collect();
    if out.is_empty() {
        "certificate".into()
    } else {
        out
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
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io("cannot save the presented certificate", &path, e))?;
        file.write_all(cert::pem_encode("CERTIFICATE", der).as_bytes())
            .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o644)))
            .map_err(|e| Error::io("cannot save the presented certificate", &path, e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn trusted_line(
    where_: &str,
    facts: &[std::result::Result<Facts, String>],
    anchor: Option<&AnchorEntry>,
    saved: &[String],
    late_error: Option<&str>,
    now: i64,
) -> String {
    let Some(Ok(leaf)) = facts.first() else {
        return format!("trusted: {where_}\n");
    };
    let anchor = match anchor {
        Some(a) => format!(
            "anchor {} (sha256 {}, {})",
            a.name,
            a.sha256,
            if a.managed {
                "managed by anchorage"
            } else {
                "not managed by anchorage"
            }
        ),
        None => "anchor not identified".into(),
    };
    let days = leaf.cert.days_left(now);
    let mut line = format!(
        "trusted: {where_}: {} issued by {}; {anchor}; expires in {}",
        leaf.cert.subject,
        leaf.cert.issuer,
        plural(usize::try_from(days).unwrap_or(0), "day")
    );
    if !saved.is_empty() {
        line.push_str(&format!(
            "; saved {} to {}",
            plural(saved.len(), "certificate"),
            parent_of(&saved[0])
        ));
    }
    if let Some(e) = late_error {
        line.push_str(&format!("; note: the handshake then failed: {e}"));
    }
    line.push('\n');
    line
}

fn parent_of(file: &str) -> String {
    Path::new(file)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn diagnosis_text(
    where_: &str,
    bundle: &Bundle,
    chain: &[ChainEntry],
    hs: &net::Handshake,
    verdict: &judge::Verdict,
    now: i64,
) -> String {
    let mut out = format!("not trusted: {where_}, checked against {}\n", bundle.label);
    out.push_str(&format!(
        "presented chain ({}{}):\n",
        plural(chain.len(), "certificate"),
        hs.protocol
            .as_deref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default()
    ));
    for (i, c) in chain.iter().enumerate() {
        if let Some(e) = &c.error {
            out.push_str(&format!(
                "  [{i}] unreadable certificate: {e}\n      sha256: {}\n",
                c.sha256
            ));
        } else {
            let state = match (cert_time(&c.not_before), cert_time(&c.not_after)) {
                (Some(nb), _) if nb > now => "NOT YET VALID".to_string(),
                (_, Some(na)) if na < now => "EXPIRED".to_string(),
                (_, Some(na)) => format!(
                    "{} left",
                    plural(usize::try_from((na - now) / 86_400).unwrap_or(0), "day")
                ),
                _ => String::new(),
            };
            out.push_str(&format!("  [{i}] {}\n", c.subject));
            out.push_str(&format!("      issuer:   {}\n", c.issuer));
            out.push_str(&format!(
                "      validity: {} .. {} ({state})\n",
                c.not_before, c.not_after
            ));
            out.push_str(&format!(
                "      CA: {}{}   sha256: {}\n",
                if c.is_ca { "yes" } else { "no" },
                if c.self_signed { ", self-signed" } else { "" },
                c.sha256
            ));
            if i == 0 && !c.names.is_empty() {
                out.push_str(&format!("      names:    {}\n", c.names.join(", ")));
            }
        }
        if let Some(f) = &c.file {
            out.push_str(&format!("      saved as: {f}\n"));
        }
    }
    out.push_str(&format!(
        "reason: {}: {}\n",
        verdict.reason.code(),
        verdict.diagnosis
    ));
    for f in &verdict.fixes {
        out.push_str(&format!("fix: {f}\n"));
    }
    for n in verdict.notes.iter().chain(&bundle.notes) {
        out.push_str(&format!("note: {n}\n"));
    }
    if let Some(e) = &hs.late_error {
        out.push_str(&format!(
            "note: the handshake failed after the server sent its certificates: {e}\n"
        ));
    }
    if !chain.iter().any(|c| c.file.is_some()) {
        out.push_str("(--save-chain DIR writes the presented certificates as PEM files to inspect; it installs nothing)\n");
    }
    out
}

fn cert_time(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
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
    }
}
