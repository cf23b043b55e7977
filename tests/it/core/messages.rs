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

#[test]
fn hook_line_is_the_program_name_hidden_by_quiet_and_json_keeps_the_argv() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let hook: Vec<&str> = out.lines().filter(|l| l.starts_with("hook:")).collect();
    assert_eq!(hook, vec!["hook: update-ca-certificates (exit 0)"], "{out}");
    // -q hides it.
    let o = run(anchorage(root).args(["-q", "install"]).arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("hook:"), "{out}");
    // -v logs the full argv; JSON keeps it.
    let o = run(anchorage(root).args(["-v", "install"]).arg(fx("ca3.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("--certsconf"), "{}", stderr(&o));
    let r = report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    let argv = &r.hook.as_ref().expect("hook").command;
    assert!(argv[0].ends_with("update-ca-certificates"), "{argv:?}");
    assert!(argv.iter().any(|a| a == "--certsconf"), "{argv:?}");
}
