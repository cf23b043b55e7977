//! The container startup step (issue 4) on temporary Debian trees with the real hook:
//! `exec` keeps the PID and the exit code, syncs what is mounted, refuses to start on bad
//! input unless told to continue, and falls back to an environment bundle when unprivileged.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const TLS_VARS: [&str; 5] = [
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
];

fn exec_cmd(root: &Path) -> Command {
    let mut c = anchorage(root);
    for v in TLS_VARS.iter().chain(
        [
            "ANCHORAGE_SOURCES",
            "ANCHORAGE_BUNDLE_DIR",
            "XDG_RUNTIME_DIR",
            "ANCHORAGE_ON_ERROR",
            "SSL_CERT_DIR",
            "JAVA_TOOL_OPTIONS",
        ]
        .iter(),
    ) {
        c.env_remove(v);
    }
    c
}

fn mounted(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        std::fs::copy(fx(f), d.path().join(f)).unwrap();
    }
    d
}

#[test]
fn exec_keeps_pid_and_exit_code_and_second_start_skips_the_hook() {
    let t = debian_tree();
    let root = t.path();
    // The guide-000 volume: a .pem name that Debian's hook ignores.
    let src = mounted(&["myNewCa.pem"]);
    let child = exec_cmd(root)
        .args(["--format", "json", "exec"])
        .arg(src.path())
        .args(["--", "sh", "-c", "echo $$; exit 7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        code(&o),
        7,
        "PROGRAM's exit code passes through: {}",
        stderr(&o)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        pid.to_string(),
        "same PID: execve, not a child"
    );
    let r: Report = serde_json::from_slice(&o.stderr).expect("JSON report on stderr");
    assert!(r.changed);
    assert!(r.hook.as_ref().is_some_and(|h| h.ran));
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    // Second start: nothing to do, no hook, PROGRAM runs.
    let o = run(exec_cmd(root)
        .args(["--format", "json", "exec"])
        .arg(src.path())
        .args(["--", "true"]));
    assert_eq!(code(&o), 0);
    let r: Report = serde_json::from_slice(&o.stderr).unwrap();
    assert!(!r.changed);
    assert!(r.hook.is_none(), "a restart must not run the hook");
}

#[test]
fn sources_from_environment_missing_is_fine_and_rotation_is_honoured() {
    let t = debian_tree();
    let root = t.path();
    let src = mounted(&["myNewCa.pem"]);
    let missing = root.join("not-mounted-yet");
    let sources = format!("{}:{}", missing.display(), src.path().display());
    let o = run(exec_cmd(root)
        .env("ANCHORAGE_SOURCES", &sources)
        .args(["exec", "--", "true"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    // Rotate the volume: old CA out, new CA in; the next start honours it.
    std::fs::remove_file(src.path().join("myNewCa.pem")).unwrap();
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    let o = run(exec_cmd(root)
        .env("ANCHORAGE_SOURCES", &sources)
        .args(["exec", "--", "true"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls2.pem")));
    // Nothing mounted at all: not an error.
    let o = run(exec_cmd(root)
        .args(["exec"])
        .arg(&missing)
        .args(["--", "true"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn bad_input_does_not_start_program_unless_continue() {
    let t = debian_tree();
    let root = t.path();
    let src = mounted(&["myNewCa.pem", "garbage.bin"]);
    std::fs::copy(fx("key-only.der"), src.path().join("broken.crt")).unwrap();
    std::fs::write(
        src.path().join("broken.crt"),
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let marker = root.join("started");
    let script = format!("touch {}", marker.display());
    let before = snapshot(root);
    let o = run(exec_cmd(root)
        .args(["exec"])
        .arg(src.path())
        .args(["--", "sh", "-c", &script]));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.crt"));
    assert!(!marker.exists(), "PROGRAM must not start");
    assert_eq!(snapshot(root), before);
    let o = run(exec_cmd(root)
        .env("ANCHORAGE_ON_ERROR", "continue")
        .args(["exec"])
        .arg(src.path())
        .args(["--", "sh", "-c", &script]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(marker.exists(), "--on-error=continue starts PROGRAM");
    // A PROGRAM that does not exist: 127.
    let o = run(exec_cmd(root).args(["exec", "--allow-empty", "--", "no-such-agent-binary"]));
    assert_eq!(code(&o), 127);
    // ... and says what to do about it.
    assert!(
        stderr(&o).contains("hint: no-such-agent-binary is not in PATH"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unprivileged_start_uses_an_environment_bundle() {
    let t = debian_tree();
    let root = t.path();
    // Build the tree's effective bundle as root first (as the image build would).
    run(anchorage(root).args(["install"]).arg(fx("ca3.pem")));
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = mounted(&["myNewCa.pem"]);
    let before = snapshot(root);
    let check = format!(
        "echo \"$SSL_CERT_FILE|$CURL_CA_BUNDLE|$REQUESTS_CA_BUNDLE|$NODE_EXTRA_CA_CERTS|$GIT_SSL_CAINFO\"; openssl verify -CAfile \"$SSL_CERT_FILE\" {}",
        fx("tls.pem").display()
    );
    let mut c = exec_cmd(root);
    let o = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(c.get_program())
        .args(c.get_args())
        .args(["exec"])
        .arg(src.path())
        .args(["--", "sh", "-c", &check])
        .envs(
            c.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .env_remove("SSL_CERT_FILE")
        .env_remove("CURL_CA_BUNDLE")
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("NODE_EXTRA_CA_CERTS")
        .env_remove("GIT_SSL_CAINFO")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("ANCHORAGE_BUNDLE_DIR"));
    let _ = &mut c;
    assert_eq!(
        code(&o),
        0,
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let first = out.lines().next().unwrap();
    let vals: Vec<&str> = first.split('|').collect();
    assert!(
        vals.iter()
            .all(|v| *v == vals[0] && v.ends_with("anchorage-ca-bundle.pem")),
        "{first}"
    );
    assert!(vals[0].starts_with("/tmp/anchorage-"), "{first}");
    assert!(out.contains(": OK"), "{out}");
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.starts_with("anchorage: system trust store not writable"))
            .count(),
        1,
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(root), before, "the system store is untouched");
    // The bundle holds the system's anchors too (ca3 from the effective bundle) and is private.
    let bundle = Path::new(vals[0]);
    assert!(verifies(
        Path::new("/"),
        bundle.to_str().unwrap(),
        &fx("tls.pem")
    ));
    let dir_mode = std::fs::metadata(bundle.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert!(
        std::fs::read_to_string(bundle)
            .unwrap()
            .contains("Third Root")
            || count_certs(bundle) > 100
    );
    let _ = std::fs::remove_dir_all(bundle.parent().unwrap());
}

#[test]
fn user_set_variables_are_kept_with_keep_env_and_a_missing_file_is_replaced() {
    let t = debian_tree();
    let root = t.path();
    let src = mounted(&["myNewCa.pem"]);
    let dir = tempfile::tempdir().unwrap();
    let o = run(exec_cmd(root)
        .env("ANCHORAGE_BUNDLE_DIR", dir.path())
        .env("SSL_CERT_FILE", "/user/choice.pem")
        .args(["env", "--keep-env"])
        .arg(src.path()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let bundle = dir.path().join("anchorage-ca-bundle.pem");
    assert!(
        out.contains(&format!("export CURL_CA_BUNDLE='{}'", bundle.display())),
        "{out}"
    );
    assert!(!out.contains("export SSL_CERT_FILE"), "{out}");
    assert!(out.contains("# SSL_CERT_FILE is already set"), "{out}");
    assert!(bundle.is_file());
    // The printed lines work in a shell.
    let o = run(Command::new("sh").arg("-c").arg(format!(
        "{out}\nopenssl verify -CAfile \"$CURL_CA_BUNDLE\" {}",
        fx("tls.pem").display()
    )));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Issue 16: without --keep-env a variable naming a missing file (no certificate the
    // combined bundle lacks) is replaced; --override-env replaces it too.
    for extra in [None, Some("--override-env")] {
        let o = run(exec_cmd(root)
            .env("ANCHORAGE_BUNDLE_DIR", dir.path())
            .env("SSL_CERT_FILE", "/user/choice.pem")
            .arg("env")
            .args(extra)
            .arg(src.path()));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains(&format!("export SSL_CERT_FILE='{}'", bundle.display())),
            "{out}"
        );
    }
}

/// The private `/tmp/anchorage-*` directories owned by `uid` (the bundle directories a run as
/// that user left behind).
fn private_dirs_of(uid: u32) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("anchorage-"))
        .filter(|e| std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir() && m.uid() == uid))
        .map(|e| e.path())
        .collect()
}

#[test]
fn nothing_exported_leaves_no_private_directory_behind() {
    // A uid of its own, so the check is not confused by other tests' bundle directories.
    const UID: u32 = 64_923;
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = mounted(&["myNewCa.pem"]);
    let before = private_dirs_of(UID);
    let as_user = |args: &[&str]| {
        let c = exec_cmd(root);
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={UID}"))
            .arg(format!("--regid={UID}"))
            .args(["--clear-groups", "--"])
            .arg(c.get_program())
            .args(c.get_args())
            .args(args)
            .envs(
                c.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("ANCHORAGE_BUNDLE_DIR");
        // Every variable is already set by the user: nothing is exported.
        for v in TLS_VARS {
            cmd.env(v, "/user/choice.pem");
        }
        cmd.env("JAVA_TOOL_OPTIONS", "-Xss2m");
        run(&mut cmd)
    };
    let mut args = vec!["env", "--keep-env", src.path().to_str().unwrap()];
    let env = as_user(&args);
    args[0] = "exec";
    args.extend(["--", "sh", "-c", "echo \"$SSL_CERT_FILE\""]);
    let exec = as_user(&args);
    let left: Vec<_> = private_dirs_of(UID)
        .into_iter()
        .filter(|d| !before.contains(d))
        .collect();
    for d in &left {
        let _ = std::fs::remove_dir_all(d);
    }
    assert_eq!(code(&env), 0, "{}", stderr(&env));
    let out = String::from_utf8_lossy(&env.stdout).into_owned();
    assert!(!out.contains("export "), "{out}");
    for v in TLS_VARS.iter().chain(&["JAVA_TOOL_OPTIONS"]) {
        assert!(out.contains(&format!("# {v} is already set")), "{v}: {out}");
    }
    assert_eq!(code(&exec), 0, "{}", stderr(&exec));
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout).trim(),
        "/user/choice.pem"
    );
    assert!(
        left.is_empty(),
        "env/exec exported nothing but left {left:?} behind"
    );
}

/// `env` with `vars` set (the rest of the TLS variables unset), the bundles in `dir`: stdout.
fn env_with(
    root: &Path,
    dir: &Path,
    vars: &[(&str, &str)],
    args: &[&str],
    srcs: &[&Path],
) -> String {
    let mut c = exec_cmd(root);
    c.env("ANCHORAGE_BUNDLE_DIR", dir)
        .arg("env")
        .args(args)
        .args(srcs);
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = run(&mut c);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The value `export K='V'` gives K in `out`.
fn exported(out: &str, k: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("export {k}='")))
        .map(|v| v.trim_end_matches('\'').replace("'\\''", "'"))
}

#[test]
fn keep_env_decides_java_tool_options_on_its_own() {
    // Issue 16/15: JAVA_TOOL_OPTIONS follows the PEM variables' policy, independently of them.
    let t = debian_tree();
    let root = t.path();
    let src = mounted(&["myNewCa.pem"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("anchorage-truststore.p12");
    let preset: Vec<(&str, &str)> = TLS_VARS.iter().map(|v| (*v, "/user/choice.pem")).collect();
    // Every PEM variable set and kept; JAVA_TOOL_OPTIONS unset: the truststore is still written.
    let out = env_with(root, dir.path(), &preset, &["--keep-env"], &[src.path()]);
    for v in TLS_VARS {
        assert!(!out.contains(&format!("export {v}=")), "{out}");
    }
    let java = exported(&out, "JAVA_TOOL_OPTIONS").unwrap_or_else(|| panic!("{out}"));
    assert!(
        java.starts_with(&format!("-Djavax.net.ssl.trustStore={}", store.display())),
        "{java}"
    );
    assert!(store.is_file());
    let o = run(Command::new("keytool")
        .args([
            "-list",
            "-storetype",
            "PKCS12",
            "-storepass",
            "changeit",
            "-keystore",
        ])
        .arg(&store));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("trustedCertEntry"));
    // A PEM variable unset (it is exported), JAVA_TOOL_OPTIONS set: --keep-env keeps it.
    let some = [
        ("SSL_CERT_FILE", "/user/choice.pem"),
        ("JAVA_TOOL_OPTIONS", "-Xss2m"),
    ];
    let out = env_with(root, dir.path(), &some, &["--keep-env"], &[src.path()]);
    assert!(exported(&out, "CURL_CA_BUNDLE").is_some(), "{out}");
    assert!(!out.contains("export JAVA_TOOL_OPTIONS"), "{out}");
    assert!(out.contains("# JAVA_TOOL_OPTIONS is already set"), "{out}");
    // Without --keep-env it is appended to.
    let out = env_with(root, dir.path(), &some, &[], &[src.path()]);
    let java = exported(&out, "JAVA_TOOL_OPTIONS").unwrap_or_else(|| panic!("{out}"));
    assert!(
        java.starts_with("-Xss2m -Djavax.net.ssl.trustStore="),
        "{java}"
    );
}

#[test]
fn env_run_again_replaces_its_own_earlier_truststore() {
    // `eval "$(anchorage env A)"` then `eval "$(anchorage env A B)"` in the same shell: the JVM
    // gets B too (the earlier options name anchorage's own truststore: replaced, not kept).
    let t = debian_tree();
    let root = t.path();
    let a = mounted(&["myNewCa.pem"]);
    let b = mounted(&["ca3.pem"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("anchorage-truststore.p12");
    let holds = |needle: &str| {
        let o = run(Command::new("keytool")
            .args([
                "-list",
                "-v",
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit",
                "-keystore",
            ])
            .arg(&store));
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).contains(needle)
    };
    let first = env_with(
        root,
        dir.path(),
        &[("JAVA_TOOL_OPTIONS", "-Xss2m")],
        &[],
        &[a.path()],
    );
    let java1 = exported(&first, "JAVA_TOOL_OPTIONS").unwrap_or_else(|| panic!("{first}"));
    assert!(!holds("Third Root"));
    let second = env_with(
        root,
        dir.path(),
        &[("JAVA_TOOL_OPTIONS", &java1)],
        &[],
        &[a.path(), b.path()],
    );
    let java2 = exported(&second, "JAVA_TOOL_OPTIONS")
        .unwrap_or_else(|| panic!("our earlier truststore was kept: {second}"));
    assert_eq!(java2, java1, "the same options, no duplicates: {second}");
    assert_eq!(java2.matches("trustStore=").count(), 1, "{java2}");
    assert!(second.contains("earlier truststore"), "{second}");
    assert!(holds("Third Root"), "the fresh truststore holds B");
}
