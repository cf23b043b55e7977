//! What a judgement is: the stable reason codes, the verdict (diagnosis, fixes, anchor) and
//! the context of the run it is worded for. Shared by `judge` (which decides) and `diagnosis`
//! (which words each reason).

use rustls::pki_types::ServerName;

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
    pub(crate) fn new(reason: Reason, diagnosis: impl Into<String>) -> Verdict {
        Verdict {
            reason,
            diagnosis: diagnosis.into(),
            fixes: Vec::new(),
            notes: Vec::new(),
            anchor: None,
        }
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Verdict {
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
