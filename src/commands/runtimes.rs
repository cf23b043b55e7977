//! `doctor --runtimes`: the rows of `crate::runtimes` for the managed anchors, and what they
//! mean for doctor's verdict (warnings, or problems with `--runtimes=strict`).

use crate::platform::Target;
use crate::report::ListEntry;
use crate::request::{Global, JavaRequest, NssRequest, RuntimesMode};
use crate::runtimes::{self, RuntimeRow};
use crate::store::{java, nss};

pub(super) fn judge(
    global: &Global,
    target: &Target,
    managed: &[ListEntry],
    mode: RuntimesMode,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Vec<RuntimeRow> {
    let anchors: Vec<String> = managed.iter().map(|m| m.sha256.clone()).collect();
    // `--no-system`: the managed anchors are those of the stores the run names, and the system
    // bundle is not managed by it — so only those stores are judged (the system-bundle
    // runtimes would always "miss" per-user anchors; other databases were never asked for).
    let no_system = global.nss.no_system;
    // The named databases and every discovered one (read only; never created here).
    let req = NssRequest {
        dirs: global.nss.dirs.clone(),
        owner: None,
        discover: !no_system || global.nss.discover,
        no_system: false,
        java_too: false,
    };
    let stores = match nss::open(target, &req) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!("runtimes: NSS databases not judged: {e}"));
            None
        }
    };
    // The named truststores and every JVM's (read only, with the run's password).
    let java_req = JavaRequest {
        paths: global.java.paths.clone(),
        password_file: global.java.password_file.clone(),
        discover: !no_system || global.java.discover,
    };
    let java = match java::open(target, &java_req) {
        Ok(j) => j,
        Err(e) => {
            warnings.push(format!("runtimes: Java truststores not judged: {e}"));
            None
        }
    };
    let rows = runtimes::detect(target, &anchors, stores.as_ref(), java.as_ref(), !no_system);
    // One summary line (the rows themselves are the runtime lines of the report).
    let gaps: Vec<String> = rows
        .iter()
        .filter(|r| !r.trusts)
        .map(|r| format!("{} ({})", r.runtime, r.path))
        .collect();
    if !gaps.is_empty() {
        let line = format!(
            "{} runtime(s) will not trust every managed anchor: {}",
            gaps.len(),
            gaps.join(", ")
        );
        match mode {
            RuntimesMode::Strict => problems.push(line),
            RuntimesMode::Warn => warnings.push(line),
        }
    }
    rows
}
