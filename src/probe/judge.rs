//! Judging a presented chain against a bundle: rustls' `WebPkiServerVerifier` decides, and its
//! error is refined into one stable reason with a diagnosis and the fix (see `judge`; the
//! wording of each reason is in `diagnosis`, the certificate facts in `facts`).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, Der, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, RootCertStore};

use super::diagnosis::{
    describe_other, expired, name_mismatch, not_yet_valid, self_signed, unknown_issuer,
};
use super::facts::{find_anchor, top, Facts};
pub use super::verdict::{Context, Reason, Verdict};

/// Judge `chain` (as presented, end entity first; `facts[i]` is `chain[i]` parsed, or the
/// parse error) against `bundle`.
pub fn judge(
    provider: &Arc<CryptoProvider>,
    chain: &[CertificateDer<'static>],
    facts: &[Result<Facts, String>],
    bundle: &[Facts],
    ctx: &Context<'_>,
) -> Verdict {
    let algs = &provider.signature_verification_algorithms;
    let Some(Ok(leaf)) = facts.first() else {
        let why = match facts.first() {
            Some(Err(e)) => e.clone(),
            _ => "no certificate".into(),
        };
        return Verdict::new(
            Reason::Other,
            format!("the server certificate cannot be read: {why}"),
        )
        .fix("fix the server's certificate configuration");
    };
    let parsed: Vec<&Facts> = facts.iter().filter_map(|f| f.as_ref().ok()).collect();
    // The context's clock, so that the verdict and the dates in the text agree (and tests can
    // move it).
    let now = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(ctx.now).unwrap_or(0)));
    let result = webpki_verdict(provider, chain, bundle, ctx.name, now);
    let leaf_in_bundle = bundle.iter().any(|b| b.cert.sha256 == leaf.cert.sha256);
    let mut v = match result {
        Ok(()) => {
            let mut v = Verdict::new(
                Reason::Trusted,
                "the presented chain validates against the bundle",
            );
            v.anchor = find_anchor(&parsed, bundle, algs);
            v
        }
        Err(rustls::Error::InvalidCertificate(e)) => match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                expired(&parsed, ctx)
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                not_yet_valid(&parsed, ctx)
            }
            CertificateError::NotValidForName => name_mismatch(leaf, &leaf.names, ctx),
            CertificateError::NotValidForNameContext { presented, .. } => {
                // Our own "DNS:…"/"IP:…" rendering of subjectAltName; rustls' list as a fallback.
                let names = if leaf.names.is_empty() {
                    presented
                } else {
                    leaf.names.clone()
                };
                name_mismatch(leaf, &names, ctx)
            }
            CertificateError::UnknownIssuer => unknown_issuer(&parsed, bundle, algs, ctx),
            other if leaf.self_signed && !leaf_in_bundle => {
                let mut v = self_signed(leaf, ctx);
                v.notes.push(format!(
                    "rustls also reports: {}",
                    describe_other(&other, leaf)
                ));
                v
            }
            other => Verdict::new(Reason::Other, describe_other(&other, leaf)).fix(
                "fix the server's certificate (or its chain); installing CAs does not help here",
            ),
        },
        Err(other) => Verdict::new(
            Reason::Other,
            format!("the chain cannot be validated: {other}"),
        ),
    };
    // Validity is checked before the issuer: say whether the chain would otherwise reach an anchor.
    if matches!(v.reason, Reason::Expired | Reason::NotYetValid) {
        match find_anchor(&parsed, bundle, algs) {
            Some(i) => v.notes.push(format!(
                "the chain does lead to the anchor '{}' in the bundle: only the validity dates are wrong",
                bundle[i].cert.common_name
            )),
            None => v.notes.push(format!(
                "in addition, the issuer '{}' of the chain is not in the bundle",
                top(&parsed, algs).cert.issuer
            )),
        }
    }
    v
}

/// rustls' own verdict with the ring provider, the bundle as roots and no revocation data.
fn webpki_verdict(
    provider: &Arc<CryptoProvider>,
    chain: &[CertificateDer<'static>],
    bundle: &[Facts],
    name: &ServerName<'static>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(
        bundle
            .iter()
            .map(|f| CertificateDer::from(f.cert.der.clone())),
    );
    if roots.is_empty() {
        // rustls refuses to build a verifier without roots; an anchor whose subject no
        // certificate can name (real names are DER SETs, 0x31…) keeps every answer honest:
        // the issuer is simply unknown.
        roots.roots.push(TrustAnchor {
            subject: Der::from_slice(b"anchorage: the bundle has no certificates"),
            subject_public_key_info: Der::from_slice(b""),
            name_constraints: None,
        });
    }
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or(rustls::Error::NoCertificatesPresented)?;
    verifier
        .verify_server_cert(leaf, intermediates, name, &[], now)
        .map(|_| ())
}

#[cfg(test)]
mod tests;
