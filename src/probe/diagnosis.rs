//! The wording of each verdict that is not "trusted": what is wrong, told about the
//! certificates involved, and the fixes and notes that fit the run (saved files, proxy,
//! `--servername`).

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::ServerName;
use rustls::CertificateError;

use super::facts::{top, Facts};
use super::verdict::{Context, Reason, Verdict};
use crate::cert;

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

/// `s` as one shell word (a URL from the certificate may hold any character).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn proxy_note(v: &mut Verdict, ca: &str, ctx: &Context<'_>) {
    if ctx.via_proxy {
        v.fixes.push(format!(
            "if this is your TLS-decrypting proxy, install your proxy's signing CA ('{ca}') with `anchorage install`"
        ));
    }
}

pub(super) fn self_signed(leaf: &Facts, ctx: &Context<'_>) -> Verdict {
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

pub(super) fn unknown_issuer(
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
        // Runnable as written (issue 16): the intermediate is not in the chain the server
        // sent (nothing to save), so the advice downloads it to a named file first.
        .fix(format!(
            "or download the intermediate '{}' (`curl -fsSLo issuer.crt {}`) and install it with \
             `anchorage install --allow-intermediate issuer.crt`; if '{}' is a root CA, install it with \
             `anchorage install issuer.crt`",
            t.issuer_cn,
            shell_quote(&t.ca_issuers[0]),
            t.issuer_cn
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
        // The missing issuer may be an intermediate the server should have sent (the usual
        // case for a leaf) or a root: each fix is runnable as written (issue 16).
        .fix(format!(
            "if '{}' is an intermediate CA: fix the server first, configure it to send its full chain (its certificate followed by the intermediate)",
            t.issuer_cn
        ))
        .fix(format!(
            "or install the intermediate with `anchorage install --allow-intermediate FILE` (get its certificate from the CA's owner); if '{}' is a root CA, install it with `anchorage install FILE`",
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

pub(super) fn expired(chain: &[&Facts], ctx: &Context<'_>) -> Verdict {
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

pub(super) fn not_yet_valid(chain: &[&Facts], ctx: &Context<'_>) -> Verdict {
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

pub(super) fn name_mismatch(leaf: &Facts, names: &[String], ctx: &Context<'_>) -> Verdict {
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

pub(super) fn describe_other(e: &CertificateError, leaf: &Facts) -> String {
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
