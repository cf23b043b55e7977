//! The human report of `verify`: one `trusted:` line, or the `not trusted:` diagnosis with the
//! presented chain, the reason, the fixes and the notes.

use std::path::Path;

use super::bundle::Bundle;
use super::facts::Facts;
use super::judge::Verdict;
use super::net::Handshake;
use super::{AnchorEntry, ChainEntry};
use crate::text_safe::escape;

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn trusted_line(
    where_: &str,
    facts: &[std::result::Result<Facts, String>],
    anchor: Option<&AnchorEntry>,
    saved: &[String],
    late_error: Option<&str>,
    now: i64,
) -> String {
    let Some(Ok(leaf)) = facts.first() else {
        return format!("trusted: {}\n", escape(where_));
    };
    let anchor = match anchor {
        Some(a) => format!(
            "anchor {} (sha256 {}, {})",
            escape(&a.name),
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
        "trusted: {}: {} issued by {}; {anchor}; expires in {}",
        escape(where_),
        escape(&leaf.cert.subject),
        escape(&leaf.cert.issuer),
        plural(usize::try_from(days).unwrap_or(0), "day")
    );
    if !saved.is_empty() {
        line.push_str(&format!(
            "; saved {} to {}",
            plural(saved.len(), "certificate"),
            escape(&parent_of(&saved[0]))
        ));
    }
    if let Some(e) = late_error {
        line.push_str(&format!("; note: the handshake then failed: {}", escape(e)));
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

pub(super) fn diagnosis_text(
    where_: &str,
    bundle: &Bundle,
    chain: &[ChainEntry],
    hs: &Handshake,
    verdict: &Verdict,
    now: i64,
) -> String {
    let mut out = format!(
        "not trusted: {}, checked against {}\n",
        escape(where_),
        escape(&bundle.label)
    );
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
                "  [{i}] unreadable certificate: {}\n      sha256: {}\n",
                escape(e),
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
            out.push_str(&format!("  [{i}] {}\n", escape(&c.subject)));
            out.push_str(&format!("      issuer:   {}\n", escape(&c.issuer)));
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
                out.push_str(&format!(
                    "      names:    {}\n",
                    escape(&c.names.join(", "))
                ));
            }
        }
        if let Some(f) = &c.file {
            out.push_str(&format!("      saved as: {}\n", escape(f)));
        }
    }
    out.push_str(&format!(
        "reason: {}: {}\n",
        verdict.reason.code(),
        escape(&verdict.diagnosis)
    ));
    for f in &verdict.fixes {
        out.push_str(&format!("fix: {}\n", escape(f)));
    }
    for n in verdict.notes.iter().chain(&bundle.notes) {
        out.push_str(&format!("note: {}\n", escape(n)));
    }
    if let Some(e) = &hs.late_error {
        out.push_str(&format!(
            "note: the handshake failed after the server sent its certificates: {}\n",
            escape(e)
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
