//! Issue 19 §3: the wording of reports, warnings and errors (remove selectors, the hook line,
//! hints, skip warnings, doctor's verdicts, `-v` logging).

use super::CA;
use crate::common::*;

#[test]
fn no_update_warning_names_the_absolute_hook_path() {
    let t = debian_tree();
    let o = run(anchorage(t.path())
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(/usr/sbin/update-ca-certificates)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn skip_warnings_name_the_file() {
    let t = debian_tree();
    let file = fx("chain-leaf-int-root.pem");
    let o = run(anchorage(t.path())
        .args(["install", "--no-update"])
        .arg(&file));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    let skips: Vec<&str> = err.lines().filter(|l| l.contains("skipped:")).collect();
    assert_eq!(skips.len(), 2, "{err}");
    let label = file.display().to_string();
    assert!(skips.iter().all(|l| l.contains(&label)), "{err}");
    assert!(err.contains("end-entity certificate"), "{err}");
    let _ = CA;
}
