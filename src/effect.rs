//! Judge by effect, after the hook: every added anchor is in the effective bundle, every
//! removed one is gone (Debian's hook exits 0 even when it did nothing), and the bundle is
//! still wholly loadable (one certificate OpenSSL refuses makes it refuse the whole file).

use std::collections::HashSet;
use std::path::Path;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::store::hook::HookRun;

/// `effective`: the bundle's digests as they are after the hook.
pub fn check(
    hook: &HookRun,
    bundle: &Path,
    effective: &HashSet<[u8; 32]>,
    added: &[&Certificate],
    removed: &[&Certificate],
) -> Result<()> {
    tracing::debug!(
        "effect: {}: {} certificate(s); expecting {} added present, {} removed gone",
        bundle.display(),
        effective.len(),
        added.len(),
        removed.len()
    );
    let mut problems = Vec::new();
    for c in added.iter().filter(|c| !effective.contains(&c.sha256)) {
        problems.push(format!(
            "'{}' (sha256 {}) is not in {}",
            c.subject,
            c.fingerprint(),
            bundle.display()
        ));
    }
    for c in removed.iter().filter(|c| effective.contains(&c.sha256)) {
        problems.push(format!(
            "'{}' (sha256 {}) is still in {}",
            c.subject,
            c.fingerprint(),
            bundle.display()
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "the hook `{}` exited 0 but did not take effect: {}",
        hook.argv.join(" "),
        problems.join("; ")
    );
    let output = format!("{}{}", hook.output.stdout, hook.output.stderr);
    if !output.trim().is_empty() {
        msg.push_str(&format!("\nhook output:\n{}", output.trim_end()));
    }
    Err(Error::Failed {
        msg,
        path: Some(bundle.to_path_buf()),
        hint: Some("run `anchorage doctor` to inspect the trust store".into()),
    })
}

/// The bundle holds no certificate block OpenSSL would refuse.
pub fn loadable(bundle: &Path, bytes: &[u8]) -> Result<()> {
    let audit = crate::store::bundle::audit(bytes);
    if audit.refused.is_empty() {
        return Ok(());
    }
    Err(Error::Failed {
        msg: format!(
            "the effective bundle {} is not wholly loadable any more: OpenSSL refuses the whole file because of {}",
            bundle.display(),
            audit.refused.join("; ")
        ),
        path: Some(bundle.to_path_buf()),
        hint: Some(
            "find the anchor file behind that block (`anchorage doctor` lists it), remove or re-issue it, and run the hook again"
                .into(),
        ),
    })
}
