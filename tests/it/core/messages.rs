//! Issue 19 §3: the wording of reports, warnings and errors (remove selectors, the hook line,
//! hints, skip warnings, doctor's verdicts, `-v` logging).

use super::CA;
use crate::common::*;
use std::os::unix::process::CommandExt;

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
}

#[test]
fn hook_line_is_the_program_name_hidden_by_quiet_and_json_keeps_the_argv() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .arg("install")
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let hook: Vec<&str> = out.lines().filter(|l| l.starts_with("hook:")).collect();
    assert_eq!(hook, vec!["hook: update-ca-certificates (exit 0)"], "{out}");
    // -q hides it.
    let o = run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["-q", "install"])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("hook:"), "{out}");
    // -v logs the full argv; JSON keeps it.
    let o = run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["-v", "install"])
        .arg(fx("ca3.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("--certsconf"), "{}", stderr(&o));
    let r = report(&run(anchorage(root)
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["remove", "--format", "json", CA])));
    let argv = &r.hook.as_ref().expect("hook").command;
    assert!(argv[0].ends_with("update-ca-certificates"), "{argv:?}");
    assert!(argv.iter().any(|a| a == "--certsconf"), "{argv:?}");
}

#[test]
fn remove_accepts_printed_prefix_cn_and_suggests_on_typos() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem"))
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    // The prefix exactly as the text report prints it.
    let printed = out
        .lines()
        .find(|l| l.contains(CA))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("sha256:")))
        .expect("sha256 in the report")
        .to_string();
    assert!(printed.ends_with('…'), "{printed}");
    // A typo: a warning suggesting the managed name, exit 0, nothing removed.
    let o = run(anchorage(root).args(["remove", "--no-update", "myNewCa_Test_Rot"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean 'myNewCa_Test_Root'?"),
        "{}",
        stderr(&o)
    );
    let r = report(&run(anchorage(root).args([
        "remove",
        "--no-update",
        "--format",
        "json",
        &printed,
    ])));
    assert_eq!(r.certificates.len(), 1, "{:?}", r.certificates);
    assert_eq!(r.certificates[0].name, CA);
    assert_eq!(r.certificates[0].action, "removed");
    // The CN as typed (spaces), not the managed name.
    let cn = String::from_utf8_lossy(
        &run(std::process::Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-nameopt", "multiline", "-in"])
            .arg(fx("ca2.pem")))
        .stdout,
    )
    .lines()
    .find_map(|l| {
        l.trim()
            .strip_prefix("commonName")
            .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
    })
    .expect("CN");
    assert!(cn.contains(' '), "{cn}");
    let r = report(&run(anchorage(root).args([
        "remove",
        "--no-update",
        "--format",
        "json",
        &cn,
    ])));
    assert_eq!(r.certificates.len(), 1, "{:?}", r.certificates);
    assert_eq!(r.certificates[0].action, "removed");
    // A prefix too short to be one is an unmatched selector (no suggestion), still exit 0.
    let o = run(anchorage(root).args(["remove", "--no-update", "abcdef1"]));
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("nothing managed by anchorage matches 'abcdef1'"));
}

#[test]
fn nss_owner_not_found_and_unreadable_source_have_hints() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root)
        .args([
            "install",
            "--no-update",
            "--nssdb",
            "/db",
            "--nss-owner",
            "nobody-here",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: create the user in the tree"),
        "{}",
        stderr(&o)
    );
    // An unreadable source, as an unprivileged user: the hint is about the file, not --root.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ca.pem");
    std::fs::copy(fx("myNewCa.pem"), &src).unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(&src)
        .uid(65534)
        .gid(65534));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: make the file readable"),
        "{}",
        stderr(&o)
    );
    // A tree this user cannot write, under --root: no "use --root".
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(&src)
        .uid(65534)
        .gid(65534));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("hint: run as root, or as a user who can write the tree"),
        "{err}"
    );
    assert!(!err.contains("use --root"), "{err}");
}

#[test]
fn doctor_on_a_fresh_tree_says_what_to_run() {
    let t = debian_tree();
    let o = run(anchorage(t.path())
        .env("ANCHORAGE_REFRESH", "hook")
        .arg("doctor"));
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.starts_with("hint: run `update-ca-certificates` in the tree")
            && last.contains("anchorage install"),
        "{out}"
    );
    // -v: the platform decision, the plan and the hook are logged on stderr.
    let o = run(anchorage(t.path())
        .env("ANCHORAGE_REFRESH", "hook")
        .args(["-v", "install"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    for want in ["platform:", "plan: system", "hook: running"] {
        assert!(err.contains(want), "{want}: {err}");
    }
}
