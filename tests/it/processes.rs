//! Processes anchorage starts or waits for (issue 13 §6, §7, §9, §11, §16b, §16c): the tree
//! lock is a root-only file no other user can hold, waits visibly and gives up (75); hooks
//! are held to their timeout whatever they leave behind, die with anchorage, and cannot flood
//! its memory or output; no secret reaches a hook, an update.d script, certutil (unit test in
//! src/run.rs) or exec's PROGRAM; a hook failing on a full disk is 74; exec/env without any
//! source are usage errors.
//!
//! Hook misbehaviour uses a STAND-IN `update-ca-certificates` run by a static busybox inside
//! the tree (as tests/it/safety/hooks.rs does): the real hook cannot misbehave on demand.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LOCK: &str = "var/lib/anchorage/lock";
const CA: &str = "myNewCa_Test_Root";

/// A Debian tree whose own hook is `script`, run by a static busybox shell (with `setsid`,
/// `env`, `yes` and `head`).
fn stand_in_tree(script: &str) -> tempfile::TempDir {
    let t = debian_tree();
    let root = t.path();
    for d in ["bin", "usr/sbin"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (apt-get install busybox-static)");
    for applet in ["sh", "sleep", "cat", "echo", "setsid", "env", "yes", "head"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let h = root.join("usr/sbin/update-ca-certificates");
    std::fs::write(
        &h,
        format!("#!/bin/sh\n# STAND-IN for Debian's update-ca-certificates\n{script}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// The stand-in's line that does the hook's job (the effect check then passes).
const BUILD_BUNDLE: &str =
    "cat /usr/local/share/ca-certificates/anchorage/*.crt > /etc/ssl/certs/ca-certificates.crt";

/// A holder of a lock, killed with its whole process group when dropped.
struct Holder(Child);

impl Holder {
    fn spawn(cmd: &mut Command) -> Holder {
        let child = cmd
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // flock(1) has the lock once it runs its command.
        std::thread::sleep(Duration::from_millis(400));
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.0.wait();
    }
}

/// Run `cmd`, killing it (and failing the test) if it takes longer than `limit`.
fn within(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        while start.elapsed() < limit {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let o = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let _ = killer.join();
    assert!(
        took < limit,
        "still running after {limit:?}: {}",
        stderr(&o)
    );
    (o, took)
}

#[test]
fn a_lock_on_the_tree_directory_held_by_nobody_no_longer_blocks_root() {
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _nobody = Holder::spawn(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg("flock")
            .arg(root)
            .args(["sleep", "600"]),
    );
    let (o, _) = within(
        anchorage(root)
            .args(["install", "--no-update"])
            .arg(fx("myNewCa.pem")),
        Duration::from_secs(20),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("waiting"), "{}", stderr(&o));
}

#[test]
fn a_held_lock_makes_the_run_wait_say_who_holds_it_and_give_up_with_75() {
    let t = debian_tree();
    let root = t.path();
    // A first run creates the lock file; root then holds it with flock(1).
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let holder = Holder::spawn(
        Command::new("flock")
            .arg(root.join(LOCK))
            .args(["sleep", "600"]),
    );
    let before = snapshot(root);
    let start = Instant::now();
    let mut child = anchorage(root)
        .args(["install", "--lock-timeout", "2", "--format", "json"])
        .arg(fx("myNewCa.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // When each stderr line arrived.
    let err = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .map(|l| (start.elapsed(), l))
            .collect::<Vec<_>>()
    });
    let o = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let lines = lines.join().unwrap();
    assert_eq!(code(&o), 75, "{lines:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let waiting = format!("waiting for another anchorage run (pid {})", holder.0.id());
    let said: Vec<_> = lines.iter().filter(|(_, l)| l.contains(&waiting)).collect();
    assert_eq!(said.len(), 1, "said once: {lines:?}");
    assert!(
        said[0].0 >= Duration::from_millis(900) && said[0].0 < Duration::from_millis(1900),
        "after about 1 s: {said:?}"
    );
    let f = failure(&o);
    assert_eq!(f.error.kind, "busy");
    assert!(
        f.error.path.as_deref().is_some_and(|p| p.ends_with(LOCK)),
        "{f:?}"
    );
    assert!(
        f.msg.contains("--lock-timeout") || lines.iter().any(|(_, l)| l.contains("--lock-timeout"))
    );
    assert!(!f.changed);
    assert_eq!(snapshot(root), before, "nothing changed");
    // The holder gone, the same run goes through.
    drop(holder);
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--lock-timeout", "2"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_second_anchorage_waits_for_the_first_and_names_its_pid() {
    // The first run is inside its hook (holding the lock) when the second starts.
    let t = stand_in_tree(&format!("sleep 3\n{BUILD_BUNDLE}"));
    let root = t.path();
    let mut first = anchorage(root)
        .args(["install"])
        .arg(fx("myNewCa.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--lock-timeout", "1"])
        .arg(fx("ca2.pem")));
    let _ = first.wait();
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("(pid {})", first.id())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_lock_file_is_0600_and_its_directories_0755_whatever_the_umask() {
    let t = debian_tree();
    let root = t.path();
    let o = run(Command::new("sh")
        .args(["-c", "umask 077; exec \"$0\" \"$@\""])
        .arg(bin())
        .arg("--root")
        .arg(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lock = std::fs::symlink_metadata(root.join(LOCK)).unwrap();
    assert!(lock.file_type().is_file());
    assert_eq!(lock.mode() & 0o7777, 0o600);
    assert_eq!(lock.uid(), 0);
    for d in ["var", "var/lib", "var/lib/anchorage"] {
        let m = std::fs::symlink_metadata(root.join(d)).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o755, "{d}");
    }
    // And the next run (same lock) works.
    let o = run(anchorage(root).args(["remove", CA]).arg("--no-update"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn links_or_foreign_files_on_the_lock_path_are_refused_with_77_and_left_alone() {
    let outside = tempfile::tempdir().unwrap();
    let target_file = outside.path().join("victim");
    std::fs::write(&target_file, "precious\n").unwrap();
    let victim_mode = std::fs::metadata(&target_file).unwrap().mode();
    type Plant<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Plant); 3] = [
        ("a link at var/lib/anchorage", &|root: &Path| {
            std::fs::create_dir_all(root.join("var/lib")).unwrap();
            std::os::unix::fs::symlink(outside.path(), root.join("var/lib/anchorage")).unwrap();
        }),
        ("a link as the lock file", &|root: &Path| {
            std::fs::create_dir_all(root.join("var/lib/anchorage")).unwrap();
            std::os::unix::fs::symlink(&target_file, root.join(LOCK)).unwrap();
        }),
        ("a lock file of another user", &|root: &Path| {
            std::fs::create_dir_all(root.join("var/lib/anchorage")).unwrap();
            std::fs::write(root.join(LOCK), "").unwrap();
            std::os::unix::fs::chown(root.join(LOCK), Some(65534), Some(65534)).unwrap();
        }),
    ];
    for (what, plant) in cases {
        let t = debian_tree();
        let root = t.path();
        plant(root);
        let before = snapshot(root);
        let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
        assert_eq!(code(&o), 77, "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("var/lib/anchorage"),
            "{what}: {}",
            stderr(&o)
        );
        assert_eq!(snapshot(root), before, "{what}: nothing changed");
        let names: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["victim"], "{what}");
        assert_eq!(std::fs::read_to_string(&target_file).unwrap(), "precious\n");
        assert_eq!(std::fs::metadata(&target_file).unwrap().mode(), victim_mode);
    }
}

#[test]
fn a_hook_leaving_a_setsid_daemon_is_stopped_at_the_hook_timeout_and_keeps_no_lock() {
    // The daemon escapes the hook's process group and holds its stdout and stderr.
    let t = stand_in_tree("setsid sleep 25 &\necho 'stand-in hangs' >&2\nsleep 60");
    let root = t.path();
    let (o, took) = within(
        anchorage(root)
            .args(["install", "--hook-timeout", "2"])
            .arg(fx("myNewCa.pem")),
        Duration::from_secs(15),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    assert!(stderr(&o).contains("stand-in hangs"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(6), "{took:?}");
    // The daemon still runs, and does not hold the tree's lock.
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--lock-timeout", "1"])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_hook_that_exits_at_once_leaving_a_daemon_on_its_pipes_does_not_block() {
    let t = stand_in_tree(&format!("setsid sleep 25 &\n{BUILD_BUNDLE}\nexit 0"));
    let root = t.path();
    let (o, took) = within(
        anchorage(root)
            .args(["install", "--hook-timeout", "20"])
            .arg(fx("myNewCa.pem")),
        Duration::from_secs(15),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--lock-timeout", "1"])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn kill_9_of_anchorage_kills_the_hook_it_runs() {
    // Before, the hook kept the (inherited) lock; now it dies with anchorage, so no second
    // hook can race it.
    let t = stand_in_tree("echo $$ > /hook.pid\nexec sleep 60");
    let root = t.path();
    let mut c = anchorage(root)
        .args(["install"])
        .arg(fx("myNewCa.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pidfile = root.join("hook.pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the hook never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    c.kill().unwrap();
    c.wait().unwrap();
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
            .unwrap_or(true)
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    while !gone(pid) {
        assert!(
            Instant::now() < deadline,
            "the hook {pid} outlived anchorage"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--lock-timeout", "1"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// `anchorage ARGS` on a tree whose hook writes 100 MB to stderr, then `exit_code`: its output
/// and its peak memory (KiB, from /usr/bin/time).
fn flood(exit_code: i32, json: bool) -> (Output, u64) {
    let line = "hook noise ".repeat(8);
    let t = stand_in_tree(&format!(
        "yes '{line}' | head -c 104857600 >&2\n{BUILD_BUNDLE}\nexit {exit_code}"
    ));
    let root = t.path();
    let rss = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(rss.path())
        .arg(bin())
        .arg("--root")
        .arg(root)
        .arg("install")
        .arg(fx("myNewCa.pem"))
        .env_remove("ANCHORAGE_FORMAT");
    if json {
        cmd.args(["--format", "json"]);
    }
    let o = run(&mut cmd);
    let kib = std::fs::read_to_string(rss.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("max RSS from /usr/bin/time");
    (o, kib)
}

#[test]
fn a_hook_writing_100_mb_to_stderr_costs_little_memory_and_little_output() {
    const LIMIT: usize = 100 * 1024;
    for (exit_code, json) in [(0, true), (0, false), (1, true), (1, false)] {
        let (o, kib) = flood(exit_code, json);
        let what = format!("hook exit {exit_code}, json {json}");
        assert_eq!(code(&o), exit_code, "{what}");
        assert!(kib < 50 * 1024, "{what}: max RSS {kib} KiB");
        assert!(
            o.stdout.len() < LIMIT,
            "{what}: stdout {} bytes",
            o.stdout.len()
        );
        assert!(
            o.stderr.len() < LIMIT,
            "{what}: stderr {} bytes",
            o.stderr.len()
        );
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(
            all.contains("hook noise"),
            "{what}: the hook's output is shown"
        );
        assert!(
            all.contains("bytes omitted]"),
            "{what}: says what was left out"
        );
        if json && exit_code == 0 {
            let r = report(&o);
            assert!(
                r.warnings.iter().any(|w| w.contains("bytes omitted]")),
                "{what}"
            );
        }
        if json && exit_code == 1 {
            assert!(failure(&o).msg.contains("bytes omitted]"), "{what}");
        }
    }
}

/// The PKCS#12 password and other `ANCHORAGE_*` secrets, set for a run.
fn with_secrets(cmd: &mut Command) -> &mut Command {
    cmd.env("ANCHORAGE_PASSWORD", password())
        .env("ANCHORAGE_JAVA_PASSWORD", "java-s3cret-value")
        .env("ANCHORAGE_API_TOKEN", "token-s3cret-value")
}

fn password() -> String {
    let p = std::fs::read_to_string(fx("password.txt")).unwrap();
    p.lines().next().unwrap().to_string()
}

fn assert_no_secret(dump: &Path) {
    let env = std::fs::read_to_string(dump)
        .unwrap_or_else(|e| panic!("{}: {e} (the child never ran?)", dump.display()));
    assert!(
        env.contains("PATH="),
        "{}: not an environment dump",
        dump.display()
    );
    for secret in [
        password().as_str(),
        "java-s3cret-value",
        "token-s3cret-value",
    ] {
        assert!(!env.contains(secret), "{}: {env}", dump.display());
    }
    for name in [
        "ANCHORAGE_PASSWORD",
        "ANCHORAGE_JAVA_PASSWORD",
        "ANCHORAGE_API_TOKEN",
    ] {
        assert!(!env.contains(name), "{}: {env}", dump.display());
    }
}

#[test]
fn no_secret_reaches_the_hook_the_update_d_scripts_or_the_exec_program() {
    // The tree's own hook.
    let t = stand_in_tree(&format!("env > /hook.env\n{BUILD_BUNDLE}"));
    let o = run(with_secrets(&mut anchorage(t.path()))
        .args(["install"])
        .arg(fx("default.p12")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_no_secret(&t.path().join("hook.env"));
    // An update.d script, run by the tree's hook (under chroot; the host's hook pointed into a
    // tree never runs the tree's update.d scripts — confinement::host_hook_does_not_run_…).
    let t = stand_in_tree(&format!(
        "{BUILD_BUNDLE}\nfor h in /etc/ca-certificates/update.d/*; do \"$h\"; done"
    ));
    let root = t.path();
    let dump = root.join("update-d.env");
    let dir = root.join("etc/ca-certificates/update.d");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("dump-env");
    std::fs::write(&script, "#!/bin/sh\nenv > /update-d.env\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(with_secrets(&mut anchorage(root))
        .args(["install"])
        .arg(fx("default.p12")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_no_secret(&dump);
    // exec's PROGRAM.
    let program_dump = root.join("program.env");
    let o = run(with_secrets(&mut anchorage(root))
        .env_remove("ANCHORAGE_SOURCES")
        .args(["exec"])
        .arg(fx("default.p12"))
        .args(["--", "sh", "-c"])
        .arg(format!("env > '{}'", program_dump.display())));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_no_secret(&program_dump);
}

struct Mount(std::path::PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_hook_failing_on_a_full_disk_exits_74_with_its_message() {
    let t = debian_tree();
    let root = t.path();
    let certs = root.join("etc/ssl/certs");
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&certs)
        .status()
        .unwrap()
        .success());
    let _m = Mount(certs.clone());
    // Native refresh (the default on Debian 12) meets the full disk itself: 74, nothing torn.
    let o = run(anchorage(root)
        .args(["install", "--refresh", "native"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    assert!(stderr(&o).contains("disk full"), "{}", stderr(&o));
    // The real update-ca-certificates cannot write the bundle (~200 KB) there.
    let o = run(anchorage(root)
        .args(["install", "--refresh", "hook", "--format", "json"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "the hook's message: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("hint: free some space"),
        "{}",
        stderr(&o)
    );
    let f = failure(&o);
    assert_eq!(f.error.kind, "io");
    assert_eq!(f.error.path.as_deref(), Some(certs.to_str().unwrap()));
    assert!(
        f.changed,
        "the anchor file was written and the report says so"
    );
}

#[test]
fn exec_and_env_without_any_source_are_usage_errors_unless_allow_empty() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let marker = root.join("started");
    let program = format!("touch '{}'", marker.display());
    for sources in [None, Some("")] {
        let mut c = anchorage(root);
        c.env_remove("ANCHORAGE_SOURCES")
            .env("ANCHORAGE_ON_ERROR", "continue");
        if let Some(s) = sources {
            c.env("ANCHORAGE_SOURCES", s);
        }
        let before = snapshot(root);
        let o = run(c.args(["exec", "--", "sh", "-c", &program]));
        assert_eq!(code(&o), 2, "{sources:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("no SOURCE"), "{}", stderr(&o));
        assert!(stderr(&o).contains("--allow-empty"), "{}", stderr(&o));
        assert!(!marker.exists(), "PROGRAM must not start");
        assert_eq!(snapshot(root), before, "nothing removed");
        assert!(verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
        let bundles = tempfile::tempdir().unwrap();
        let o = run(anchorage(root)
            .env_remove("ANCHORAGE_SOURCES")
            .env("ANCHORAGE_BUNDLE_DIR", bundles.path())
            .args(["env"]));
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(o.stdout.is_empty() || !String::from_utf8_lossy(&o.stdout).contains("export"));
        assert_eq!(std::fs::read_dir(bundles.path()).unwrap().count(), 0);
    }
    let bundles = tempfile::tempdir().unwrap();
    let o = run(anchorage(root)
        .env_remove("ANCHORAGE_SOURCES")
        .env("ANCHORAGE_BUNDLE_DIR", bundles.path())
        .args(["env", "--allow-empty", "--override-env"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("export SSL_CERT_FILE="));
    // --allow-empty: today's sync to nothing, which removes the managed anchor.
    let o = run(anchorage(root).env_remove("ANCHORAGE_SOURCES").args([
        "exec",
        "--allow-empty",
        "--",
        "sh",
        "-c",
        &program,
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(marker.exists());
    assert!(!verifies(root, DEBIAN_BUNDLE, &fx("tls.pem")));
}
