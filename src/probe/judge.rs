//! Judging a presented chain against a bundle: rustls' `WebPkiServerVerifier` decides, and its
//! error is refined into one stable reason with a diagnosis and the fix (see `judge`).

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, Der, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, RootCertStore};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cert::{self, Certificate};
use crate::input::asn1;

/// One certificate with the raw fields the chain logic compares.
#[derive(Debug, Clone)]
pub struct Facts {
    pub cert: Certificate,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    /// The issuer's common name (or the whole issuer name), for messages.
    pub issuer_cn: String,
    /// The DER SubjectPublicKeyInfo.
    spki: Vec<u8>,
    /// subjectAltName entries: "DNS:…", "IP:…".
    pub names: Vec<String>,
    /// Authority Information Access caIssuers URLs: where the issuer's certificate is published.
    pub ca_issuers: Vec<String>,
    /// Subject == issuer and the signature verifies with its own key (or cannot be checked).
    pub self_signed: bool,
}

impl Facts {
    pub fn parse(der: &[u8], algs: &WebPkiSupportedAlgorithms) -> Result<Facts, String> {
        let cert = Certificate::from_der(der, false)?;
        let (_, x509) = X509Certificate::from_der(der)
            .map_err(|e| format!("not an X.509 certificate ({e})"))?;
        let issuer_cn = x509
            .issuer()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| x509.issuer().to_string());
        let mut names = Vec::new();
        let mut ca_issuers = Vec::new();
        for ext in x509.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for n in &san.general_names {
                        match n {
                            GeneralName::DNSName(d) => names.push(format!("DNS:{d}")),
                            GeneralName::IPAddress(ip) => names.push(format!("IP:{}", ip_text(ip))),
                            _ => {}
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for d in aia.iter() {
                        if d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                            if let GeneralName::URI(u) = d.access_location {
                                ca_issuers.push(u.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut facts = Facts {
            subject_raw: x509.subject().as_raw().to_vec(),
            issuer_raw: x509.issuer().as_raw().to_vec(),
            issuer_cn,
            spki: x509.public_key().raw.to_vec(),
            names,
            ca_issuers,
            self_signed: false,
            cert,
        };
        facts.self_signed = facts.self_issued() && signed_by(&facts, &facts, algs) != Some(false);
        Ok(facts)
    }

    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    fn issued(&self, child: &Facts) -> bool {
        self.subject_raw == child.issuer_raw
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => hex::encode(bytes),
    }
}

/// Does `issuer`'s key verify `child`'s signature? `None` when it cannot be checked (an
/// algorithm the ring provider does not know, or an undecodable structure).
pub fn signed_by(child: &Facts, issuer: &Facts, algs: &WebPkiSupportedAlgorithms) -> Option<bool> {
    let (outer, _) = asn1::read(&child.cert.der, 0).ok()?;
    let parts = asn1::children(outer.content, 1).ok()?;
    let [tbs, sig_alg, sig] = parts.as_slice() else {
        return None;
    };
    let (&unused, signature) = sig.content.split_first()?;
    if sig.tag != 0x03 || unused != 0 {
        return None;
    }
    let (spki, _) = asn1::read(&issuer.spki, 0).ok()?;
    let key_parts = asn1::children(spki.content, 1).ok()?;
    let [key_alg, key_bits] = key_parts.as_slice() else {
        return None;
    };
    let (&unused, key) = key_bits.content.split_first()?;
    if key_bits.tag != 0x03 || unused != 0 {
        return None;
    }
    algs.all
        .iter()
        .find(|a| {
            a.signature_alg_id().as_ref() == sig_alg.content
                && a.public_key_alg_id().as_ref() == key_alg.content
        })
        .map(|a| a.verify_signature(key, tbs.raw, signature).is_ok())
}

/// The certificates of a PEM bundle, read leniently: a block that does not parse is skipped
/// (and counted) rather than failing the whole check.
pub fn read_pem_bundle(bytes: &[u8], algs: &WebPkiSupportedAlgorithms) -> (Vec<Facts>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for der in crate::store::bundle::certificates(bytes) {
        match der
            .ok_or_else(String::new)
            .and_then(|der| Facts::parse(&der, algs))
        {
            Ok(f) => out.push(f),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

/// The stable reason codes of `verify --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Trusted,
    UnknownIssuer,
    Expired,
    NotYetValid,
    NameMismatch,
    IncompleteChain,
    SelfSigned,
    Other,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::Trusted => "trusted",
            Reason::UnknownIssuer => "unknown_issuer",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::NameMismatch => "name_mismatch",
            Reason::IncompleteChain => "incomplete_chain",
            Reason::SelfSigned => "self_signed",
            Reason::Other => "other",
        }
    }
}

/// The judgement: the reason, what is wrong (human), how to fix it, and the anchor that
/// validated the chain (an index into the bundle) when trusted.
#[derive(Debug)]
pub struct Verdict {
    pub reason: Reason,
    pub diagnosis: String,
    pub fixes: Vec<String>,
    pub notes: Vec<String>,
    pub anchor: Option<usize>,
}

impl Verdict {
    fn new(reason: Reason, diagnosis: impl Into<String>) -> Verdict {
        Verdict {
            reason,
            diagnosis: diagnosis.into(),
            fixes: Vec::new(),
            notes: Vec::new(),
            anchor: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Verdict {
        self.fixes.push(fix.into());
        self
    }
}

/// What `judge` needs to know about the run, for the wording of the fix.
pub struct Context<'a> {
    pub name: &'a ServerName<'static>,
    /// `--servername` was given (else the name is the target's host).
    pub explicit_name: bool,
    pub via_proxy: bool,
    /// The files `--save-chain` wrote: (sha256 of the certificate, path).
    pub saved: &'a [([u8; 32], String)],
    pub now: i64,
}

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
    let result = webpki_verdict(provider, chain, bundle, ctx.name);
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
        .verify_server_cert(leaf, intermediates, name, &[], UnixTime::now())
        .map(|_| ())
}

/// The anchor that validated the chain: walk from the leaf, at each step preferring an anchor
/// of the bundle (named as the issuer and whose key verifies the signature) over the next
/// presented certificate, as webpki's path building does.
pub fn find_anchor(
    chain: &[&Facts],
    bundle: &[Facts],
    algs: &WebPkiSupportedAlgorithms,
) -> Option<usize> {
    let mut cur = *chain.first()?;
    let mut used = vec![false; chain.len()];
    used[0] = true;
    loop {
        let named: Vec<usize> = (0..bundle.len())
            .filter(|&i| bundle[i].issued(cur))
            .collect();
        if let Some(&i) = named
            .iter()
            .find(|&&i| signed_by(cur, &bundle[i], algs) == Some(true))
            .or_else(|| {
                named
                    .iter()
                    .find(|&&i| signed_by(cur, &bundle[i], algs).is_none())
            })
        {
            return Some(i);
        }
        let next = (0..chain.len()).find(|&j| {
            !used[j] && chain[j].issued(cur) && signed_by(cur, chain[j], algs) != Some(false)
        })?;
        used[next] = true;
        cur = chain[next];
    }
}

/// The top of the presented chain: follow issuers through the presented certificates, starting
/// at the leaf, until a self-issued certificate or one whose issuer was not sent.
fn top<'a>(chain: &[&'a Facts], algs: &WebPkiSupportedAlgorithms) -> &'a Facts {
    let mut cur = chain[0];
    let mut used = vec![false; chain.len()];
    used[0] = true;
    while !cur.self_issued() {
        let Some(next) = (0..chain.len()).find(|&j| {
            !used[j] && chain[j].issued(cur) && signed_by(cur, chain[j], algs) != Some(false)
        }) else {
            break;
        };
        used[next] = true;
        cur = chain[next];
    }
    cur
}

fn role(i: usize) -> &'static str {
    if i == 0 {
        "the server certificate"
    } else {
        "the presented CA certificate"
    }
}

fn saved_hint(ctx: &Context<'_>, f: &Facts) -> String {
    match ctx.saved.iter().find(|(sha, _)| *sha == f.cert.sha256) {
        Some((_, file)) => format!("`anchorage install {file}`"),
        None => "`anchorage install FILE`".into(),
    }
}

fn proxy_note(v: &mut Verdict, ca: &str, ctx: &Context<'_>) {
    if ctx.via_proxy {
        v.fixes.push(format!(
            "if this is your TLS-decrypting proxy, install your proxy's signing CA ('{ca}') with `anchorage install`"
        ));
    }
}

fn self_signed(leaf: &Facts, ctx: &Context<'_>) -> Verdict {
    let mut v = Verdict::new(
        Reason::SelfSigned,
        format!(
            "this is a self-signed server certificate ('{}'), and it is not in the bundle",
            leaf.cert.subject
        ),
    )
    .fix(format!(
        "install it itself with {} (it is an anchor), only if you trust this server",
        saved_hint(ctx, leaf)
    ));
    if leaf.cert.is_ca {
        v.notes.push(
            "it is a CA certificate (CA:TRUE) used as a server certificate: OpenSSL-based clients accept it once \
             installed, rustls/webpki-based clients reject CA certificates as server certificates"
                .into(),
        );
    }
    proxy_note(&mut v, &leaf.cert.common_name, ctx);
    v
}

fn unknown_issuer(
    chain: &[&Facts],
    bundle: &[Facts],
    algs: &WebPkiSupportedAlgorithms,
    ctx: &Context<'_>,
) -> Verdict {
    let leaf = chain[0];
    if leaf.self_issued() {
        return self_signed(leaf, ctx);
    }
    let t = top(chain, algs);
    let t_role = role(usize::from(t.cert.sha256 != leaf.cert.sha256));
    let sent = chain.len();
    let mut v = if t.self_issued() {
        // The server sent its root (or a self-issued CA), which is not in the bundle.
        Verdict::new(
            Reason::UnknownIssuer,
            format!(
                "the presented chain ends at the CA '{}', which is not in the bundle: it is the missing issuer",
                t.cert.subject
            ),
        )
        .fix(format!(
            "install the CA '{}' with {} (after checking that it is the CA you expect)",
            t.cert.common_name,
            saved_hint(ctx, t)
        ))
    } else if bundle.iter().any(|b| b.issued(t)) {
        Verdict::new(
            Reason::UnknownIssuer,
            format!(
                "a CA named '{}' is in the bundle, but its key did not sign {} '{}': the missing issuer is a \
                 different CA with the same name (re-keyed or replaced?)",
                t.cert.issuer,
                t_role,
                t.cert.subject
            ),
        )
        .fix(format!(
            "install the current certificate of the CA '{}' with `anchorage install` (get it from the CA's owner)",
            t.issuer_cn
        ))
    } else if !t.ca_issuers.is_empty() {
        Verdict::new(
            Reason::IncompleteChain,
            format!(
                "the server sent {sent} certificate{} and omitted its intermediate '{}' (the \
                 issuer of {} '{}'); the certificate names where it is published: {}",
                if sent == 1 { "" } else { "s" },
                t.cert.issuer,
                t_role,
                t.cert.subject,
                t.ca_issuers.join(", ")
            ),
        )
        .fix(format!(
            "fix the server: configure it to send its full chain (its certificate followed by the intermediate '{}')",
            t.issuer_cn
        ))
        .fix(format!(
            "or install the intermediate '{}' (from {}) with `anchorage install --allow-intermediate`; if '{}' is \
             a root CA, install it with `anchorage install`",
            t.issuer_cn, t.ca_issuers[0], t.issuer_cn
        ))
    } else {
        Verdict::new(
            Reason::UnknownIssuer,
            format!(
                "'{}' (the issuer of {} '{}') is neither in the presented chain nor in the bundle",
                t.cert.issuer,
                t_role,
                t.cert.subject
            ),
        )
        .fix(format!(
            "install the CA '{}' with `anchorage install FILE` (get its certificate from the CA's owner)",
            t.issuer_cn
        ))
    };
    let ca = if t.self_issued() {
        t.cert.common_name.clone()
    } else {
        t.issuer_cn.clone()
    };
    proxy_note(&mut v, &ca, ctx);
    v
}

fn days(seconds: i64) -> i64 {
    seconds.div_euclid(86_400)
}

fn expired(chain: &[&Facts], ctx: &Context<'_>) -> Verdict {
    let Some((i, c)) = chain
        .iter()
        .enumerate()
        .find(|(_, c)| c.cert.not_after < ctx.now)
    else {
        return Verdict::new(Reason::Expired, "a certificate of the chain has expired")
            .fix("renew the expired certificate on the server");
    };
    let ago = days(ctx.now - c.cert.not_after);
    let v = Verdict::new(
        Reason::Expired,
        format!(
            "{} '{}' expired on {} ({ago} day{} ago)",
            role(i),
            c.cert.subject,
            cert::rfc3339(c.cert.not_after),
            if ago == 1 { "" } else { "s" }
        ),
    );
    let v = if i == 0 {
        v.fix("renew the server certificate on the server; installing CAs cannot fix an expired certificate")
    } else {
        v.fix(format!(
            "the server must send a current certificate of the CA '{}'",
            c.cert.common_name
        ))
    };
    v.fix(format!(
        "if that date looks wrong, check this machine's clock (now: {})",
        cert::rfc3339(ctx.now)
    ))
}

fn not_yet_valid(chain: &[&Facts], ctx: &Context<'_>) -> Verdict {
    let Some((i, c)) = chain
        .iter()
        .enumerate()
        .find(|(_, c)| c.cert.not_before > ctx.now)
    else {
        return Verdict::new(
            Reason::NotYetValid,
            "a certificate of the chain is not valid yet",
        )
        .fix(format!(
            "check this machine's clock (now: {})",
            cert::rfc3339(ctx.now)
        ));
    };
    Verdict::new(
        Reason::NotYetValid,
        format!(
            "{} '{}' is not valid before {} (in {} days)",
            role(i),
            c.cert.subject,
            cert::rfc3339(c.cert.not_before),
            days(c.cert.not_before - ctx.now) + 1
        ),
    )
    .fix(format!("check this machine's clock (now: {}); otherwise the server's certificate was issued for the future", cert::rfc3339(ctx.now)))
}

fn name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

fn name_mismatch(leaf: &Facts, names: &[String], ctx: &Context<'_>) -> Verdict {
    let wanted = name_text(ctx.name);
    let listed = if names.is_empty() {
        "no subjectAltName at all".to_string()
    } else {
        names.join(", ")
    };
    let mut v = Verdict::new(
        Reason::NameMismatch,
        format!(
            "the server certificate '{}' is not valid for '{wanted}'; it names: {listed}",
            leaf.cert.subject
        ),
    );
    if let Some(first) = names.first() {
        let bare = first.split_once(':').map_or(first.as_str(), |(_, n)| n);
        v = v.fix(format!(
            "connect with a name the certificate carries ({}--servername {bare})",
            if ctx.explicit_name {
                ""
            } else {
                "the host in TARGET, or "
            }
        ));
    }
    v.fix(format!(
        "or reissue the server certificate with '{wanted}' in its subjectAltName"
    ))
}

fn describe_other(e: &CertificateError, leaf: &Facts) -> String {
    match e {
        CertificateError::BadSignature => "a signature in the chain does not verify (a certificate was altered, or \
                                           the chain is mixed up)"
            .into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server certificate is not valid for TLS server authentication (extendedKeyUsage)".into()
        }
        CertificateError::Revoked => "a certificate of the chain is revoked".into(),
        CertificateError::UnhandledCriticalExtension => {
            "a certificate of the chain has a critical extension that rustls does not understand".into()
        }
        CertificateError::BadEncoding => "a certificate of the chain is badly encoded".into(),
        CertificateError::Other(_) if leaf.cert.is_ca => format!(
            "the server certificate '{}' is a CA certificate (CA:TRUE) used as a server certificate ({e})",
            leaf.cert.subject
        ),
        other => format!("the chain does not validate: {other}"),
    }
}
