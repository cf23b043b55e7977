//! `list` and `doctor` for Java truststores: which managed anchors each store holds (by
//! fingerprint, under any alias), and — for doctor — a store that lacks a managed anchor, or
//! cannot be read with the password, is a problem: the JVM using it does not trust the CA.

use super::JavaStores;
use crate::report::ListEntry;
use crate::store::{Store, StoreId};

/// Add each store to the list entries it holds (and list `anchorage-` entries only a store
/// has). Returns (problems, notes).
pub fn annotate(java: &JavaStores, entries: &mut Vec<ListEntry>) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for store in &java.stores {
        let id = store.id();
        let ks = match store.keystore() {
            Ok(ks) => ks,
            Err(e) => {
                problems.push(format!("java:{}: {e}", store.real));
                continue;
            }
        };
        let found = super::entries(&ks, &store.host());
        let keys = ks
            .entries
            .iter()
            .filter(|e| e.kind == super::format::Kind::Key)
            .count();
        notes.push(format!(
            "java:{}: {}, {} trusted entries ({} of them anchorage's), {keys} private-key entries{}",
            store.real,
            ks.format.name(),
            found.len(),
            found.iter().filter(|e| e.ours).count(),
            store
                .hook
                .map(|h| format!("; maintained by {h}"))
                .unwrap_or_default()
        ));
        for e in &found {
            let Some(cert) = &e.cert else {
                if e.ours {
                    problems.push(format!(
                        "java:{}: '{}' {}",
                        store.real,
                        e.nickname,
                        e.problem.as_deref().unwrap_or("cannot be read")
                    ));
                }
                continue;
            };
            let fp = cert.fingerprint();
            if let Some(le) = entries.iter_mut().find(|le| le.sha256 == fp) {
                if !le.stores.contains(&id) {
                    le.stores.push(id.clone());
                }
            } else if e.ours {
                entries.push(ListEntry {
                    name: e.name.clone(),
                    subject: cert.subject.clone(),
                    issuer: cert.issuer.clone(),
                    sha256: fp,
                    not_after: cert.not_after_rfc3339(),
                    stores: vec![id.clone()],
                    paths: vec![store.host().display().to_string()],
                    in_bundle: false,
                });
            }
        }
        for le in entries
            .iter()
            .filter(|le| le.stores.contains(&StoreId::System) && !le.stores.contains(&id))
        {
            let how = match store.hook {
                Some(who) => format!(
                    "it is maintained by {who}: run `update-ca-certificates --fresh` in the tree"
                ),
                None => format!(
                    "run `anchorage install --java-truststore {} …` (or --java-discover)",
                    store.named
                ),
            };
            problems.push(format!(
                "java:{}: managed anchor '{}' is not in this Java truststore (a JVM using it does not trust it); {how}",
                store.real, le.name
            ));
        }
    }
    (problems, notes)
}
