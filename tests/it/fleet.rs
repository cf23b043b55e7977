//! Issue 17 (fleets): `anchorage metrics` checked by the real `promtool` and served by a real
//! `prometheus-node-exporter`; `--on-change`; `anchorage watch` with real inotify on temporary
//! directories (a kubelet-style `..data` swap, a plain directory, a broken source); `exec
//! --watch` as a supervisor (signals forwarded, exit codes, `--reload=restart|signal:HUP`).
//! Waiting is for events (a file appears, a process ends) with a generous upper bound; the
//! only timed assertion is the issue's "< 2 s" for SIGTERM.

use crate::common::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// Poll `cond` until it holds; panic with `what` after `WAIT`.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn clean(mut c: Command) -> Command {
    for v in [
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "ANCHORAGE_SOURCES",
        "XDG_RUNTIME_DIR",
        "ANCHORAGE_LOG",
    ] {
        c.env_remove(v);
    }
    c
}

fn sha(name: &str) -> String {
    openssl_sha256(&fx(name))
}

fn in_bundle(root: &Path, name: &str) -> bool {
    verifies_ca(root, name)
}

/// Is the fixture CA `name` in the tree's effective bundle (by fingerprint, through openssl)?
fn verifies_ca(root: &Path, name: &str) -> bool {
    file_has_ca(&root.join(DEBIAN_BUNDLE), name)
}

/// Is the fixture CA `name` in the PEM bundle `file`?
fn file_has_ca(file: &Path, name: &str) -> bool {
    let want = sha(name);
    let bundle = std::fs::read_to_string(file).unwrap_or_default();
    bundle
        .split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .any(|pem| {
            let mut c = Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", "-sha256"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin.take().unwrap().write_all(pem.as_bytes()).unwrap();
            let o = c.wait_with_output().unwrap();
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .rsplit('=')
                .next()
                .unwrap_or("")
                .replace(':', "")
                .eq_ignore_ascii_case(&want)
        })
}

fn dir_with(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        std::fs::copy(fx(f), d.path().join(f)).unwrap();
    }
    d
}

fn metrics_text(root: &Path) -> String {
    let o = run(anchorage(root).arg("metrics"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn promtool_ok(text: &str) {
    let mut c = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn metrics_without_state_are_valid_and_have_no_last_run() {
    let t = debian_tree();
    let text = metrics_text(t.path());
    promtool_ok(&text);
    assert!(text.contains("anchorage_doctor_problems "), "{text}");
    assert!(
        !text.contains("anchorage_last_run_timestamp_seconds "),
        "{text}"
    );
    assert!(!text.contains("anchorage_anchor_info{"), "{text}");
}

#[test]
fn metrics_after_sync_name_each_anchor_and_the_last_run() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem", "ca2.pem"]);
    let o = run(anchorage(root).arg("sync").arg(src.path()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let state = root.join("var/lib/anchorage/last-run.json");
    let meta = std::fs::metadata(&state).expect("the last-run state file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    let text = metrics_text(root);
    promtool_ok(&text);
    for name in ["myNewCa.pem", "ca2.pem"] {
        let s = sha(name);
        assert!(
            text.contains(&format!("sha256=\"{s}\",")) && text.contains("store=\"system\""),
            "{text}"
        );
        let line = text
            .lines()
            .find(|l| l.starts_with("anchorage_anchor_in_effective_bundle{") && l.contains(&s))
            .expect("in_effective_bundle series");
        assert!(line.ends_with(" 1"), "{line}");
        assert!(text
            .lines()
            .any(|l| l.starts_with("anchorage_anchor_not_after_seconds{") && l.contains(&s)));
    }
    assert!(text.contains("\nanchorage_last_run_success 1\n"), "{text}");
    assert!(text.contains("\nanchorage_last_run_changed 1\n"), "{text}");
    assert!(text.contains("\nanchorage_doctor_problems 0\n"), "{text}");
    // The runtimes doctor --runtimes finds (issue 16): the tree's OpenSSL bundle trusts them.
    let o = run(clean(anchorage(root)).arg("metrics"));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines().any(|l| l
            == "anchorage_runtime_trusts{runtime=\"openssl\",path=\"/etc/ssl/certs/ca-certificates.crt\"} 1"),
        "{text}"
    );
    // --check writes no state; a no-op sync records changed 0.
    let o = run(anchorage(root).arg("sync").arg(src.path()));
    assert_eq!(code(&o), 0);
    assert!(metrics_text(root).contains("\nanchorage_last_run_changed 0\n"));
    // The bundle losing an anchor behind anchorage's back shows as 0, and as a doctor problem.
    let bundle = root.join(DEBIAN_BUNDLE);
    let kept: String = std::fs::read_to_string(&bundle)
        .unwrap()
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|b| {
            !b.contains(
                std::fs::read_to_string(fx("ca2.pem"))
                    .unwrap()
                    .lines()
                    .nth(1)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(&bundle, kept).unwrap();
    let text = metrics_text(root);
    promtool_ok(&text);
    let s = sha("ca2.pem");
    assert!(
        text.lines()
            .any(|l| l.starts_with("anchorage_anchor_in_effective_bundle{")
                && l.contains(&s)
                && l.ends_with(" 0")),
        "{text}"
    );
    assert!(!text.contains("\nanchorage_doctor_problems 0\n"), "{text}");
}

#[test]
fn metrics_labels_escape_certificate_text() {
    let t = debian_tree();
    let root = t.path();
    let d = tempfile::tempdir().unwrap();
    let ca = d.path().join("q.pem");
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout",
        ])
        .arg(d.path().join("q.key"))
        .arg("-out")
        .arg(&ca)
        .args([
            "-subj",
            "/CN=Quote \" back \\\\ slash } 1/O=x",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let o = run(anchorage(root).arg("install").arg(&ca));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = metrics_text(root);
    promtool_ok(&text);
    let info = text
        .lines()
        .find(|l| l.starts_with("anchorage_anchor_info{"))
        .unwrap();
    assert!(info.contains(r#"Quote \" back \\ slash } 1"#), "{info}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn node_exporter_textfile_collector_serves_the_output_file() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root).arg("install").arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let textdir = tempfile::tempdir().unwrap();
    let prom = textdir.path().join("anchorage.prom");
    // An old file (a link to somewhere else, even) is replaced, never written through.
    let elsewhere = textdir.path().join("elsewhere");
    std::fs::write(&elsewhere, "keep\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &prom).unwrap();
    let o = run(anchorage(root).args(["metrics", "--output"]).arg(&prom));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep\n");
    let meta = std::fs::symlink_metadata(&prom).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    let leftovers: Vec<_> = std::fs::read_dir(textdir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    promtool_ok(&std::fs::read_to_string(&prom).unwrap());
    let port = free_port();
    let _ne = Killed(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                textdir.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter"),
    );
    let mut body = String::new();
    wait_until("node_exporter answering on /metrics", || {
        match http_get(port, "/metrics") {
            Some(b) if b.contains("anchorage_") => {
                body = b;
                true
            }
            _ => false,
        }
    });
    let s = sha("myNewCa.pem");
    assert!(body.contains("anchorage_anchor_info{"), "{body}");
    assert!(body.contains(&s), "{body}");
    assert!(body.contains("anchorage_last_run_success 1"), "{body}");
    // The collector found no error in the file.
    assert!(
        body.lines().any(|l| l == "node_textfile_scrape_error 0"),
        "{body}"
    );
}

#[test]
fn on_change_runs_only_when_something_changed_and_never_under_check() {
    let t = debian_tree();
    let root = t.path();
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("log");
    let cmd = format!("sh -c 'echo \"$0 ran\" >> {}' 'first one'", log.display());
    let o = run(anchorage(root)
        .args(["install", "--check", "--on-change", &cmd])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!log.exists(), "--check never runs --on-change");
    let o = run(anchorage(root)
        .args(["install", "--on-change", &cmd, "--on-change"])
        .arg(format!("touch {}", d.path().join("second").display()))
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "first one ran\n",
        "split like a shell, no shell"
    );
    assert!(d.path().join("second").exists(), "repeatable");
    // Nothing to change: not run again.
    let o = run(anchorage(root)
        .args(["install", "--on-change", &cmd])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "first one ran\n");
    // remove runs it too.
    let o = run(anchorage(root)
        .args(["remove", "--on-change", &cmd])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[test]
fn on_change_failure_is_exit_1_with_its_output() {
    let t = debian_tree();
    let root = t.path();
    let o = run(anchorage(root)
        .args([
            "--format",
            "json",
            "install",
            "--on-change",
            "sh -c 'echo restart-failed-out; echo restart-failed-err >&2; exit 3'",
        ])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("restart-failed-err") && err.contains("restart-failed-out"),
        "{err}"
    );
    assert!(err.contains("exit 3"), "{err}");
    let f: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(f["changed"], true, "the change stays and is reported");
    assert!(in_bundle(root, "myNewCa.pem"));
    assert!(metrics_text(root).contains("\nanchorage_last_run_success 0\n"));
    // A command that is not there: exit 1 too, and a bad quote is a usage error.
    let o = run(anchorage(root)
        .args(["install", "--on-change", "no-such-program-xyz"])
        .arg(fx("ca2.pem")));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let o = run(anchorage(root)
        .args(["install", "--on-change", "sh -c 'unbalanced"])
        .arg(fx("ca3.pem")));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// A kubelet-style ConfigMap volume: `..TS/` holds the files, `..data` links to it, each
/// visible name links through `..data`.
struct ConfigMap {
    dir: tempfile::TempDir,
    gen: u32,
}

impl ConfigMap {
    fn new(files: &[&str]) -> ConfigMap {
        let pairs: Vec<(&str, &str)> = files.iter().map(|f| (*f, *f)).collect();
        ConfigMap::new_as(&pairs)
    }

    fn new_as(pairs: &[(&str, &str)]) -> ConfigMap {
        let mut cm = ConfigMap {
            dir: tempfile::tempdir().unwrap(),
            gen: 0,
        };
        cm.publish_as(pairs);
        for (f, _) in pairs {
            std::os::unix::fs::symlink(format!("..data/{f}"), cm.dir.path().join(f)).unwrap();
        }
        cm
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What the kubelet's atomic writer does: a new timestamped directory, a new `..data_tmp`
    /// link renamed over `..data`, visible links for new names, the old directory removed.
    fn publish(&mut self, files: &[&str]) {
        let pairs: Vec<(&str, &str)> = files.iter().map(|f| (*f, *f)).collect();
        self.publish_as(&pairs);
    }

    /// `publish` with (key, fixture) pairs: a key whose content changes under the same name.
    fn publish_as(&mut self, pairs: &[(&str, &str)]) {
        let files: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        let files = &files[..];
        let old = self.gen;
        self.gen += 1;
        let ts = format!("..2026_11_30_00_00_0{}.{}", self.gen, std::process::id());
        let new = self.path().join(&ts);
        std::fs::create_dir(&new).unwrap();
        for (key, fixture) in pairs {
            std::fs::copy(fx(fixture), new.join(key)).unwrap();
        }
        let tmp = self.path().join("..data_tmp");
        std::os::unix::fs::symlink(&ts, &tmp).unwrap();
        std::fs::rename(&tmp, self.path().join("..data")).unwrap();
        for f in files {
            let link = self.path().join(f);
            if std::fs::symlink_metadata(&link).is_err() && old > 0 {
                std::os::unix::fs::symlink(format!("..data/{f}"), &link).unwrap();
            }
        }
        // Visible links whose file is gone.
        for e in std::fs::read_dir(self.path()).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !n.starts_with("..") && !files.contains(&n.as_str()) {
                std::fs::remove_file(e.path()).unwrap();
            }
            if n.starts_with("..2026") && n != ts {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
    }
}

fn spawn_watch(
    root: &Path,
    extra: &[&str],
    sources: &[&Path],
) -> (Killed, PathBuf, tempfile::TempDir) {
    let logs = tempfile::tempdir().unwrap();
    let err = logs.path().join("stderr");
    let mut c = clean(anchorage(root));
    c.args(["watch", "--debounce", "1"]).args(extra);
    for s in sources {
        c.arg(s);
    }
    let child = c
        .stdout(std::fs::File::create(logs.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    (Killed(child), err, logs)
}

fn sigterm(child: &Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(start.elapsed() < WAIT, "process did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_follows_a_configmap_data_swap_and_runs_the_command() {
    let t = debian_tree();
    let root = t.path();
    let mut cm = ConfigMap::new(&["myNewCa.pem"]);
    let out = tempfile::tempdir().unwrap();
    let prom = out.path().join("anchorage.prom");
    let ran = out.path().join("ran");
    let (mut w, err, _logs) = spawn_watch(
        root,
        &[
            "--metrics",
            prom.to_str().unwrap(),
            "--on-change",
            &format!("sh -c 'echo x >> {}'", ran.display()),
        ],
        &[cm.path()],
    );
    wait_until("the first sync", || in_bundle(root, "myNewCa.pem"));
    wait_until("the metrics file", || {
        std::fs::read_to_string(&prom).is_ok_and(|t| t.contains(&sha("myNewCa.pem")))
    });
    wait_until("on-change after the first sync", || ran.exists());
    // Rotate: the new CA beside the old, then the old retired (guide 001's stages).
    cm.publish(&["myNewCa.pem", "ca2.pem"]);
    wait_until("the new CA next to the old", || in_bundle(root, "ca2.pem"));
    assert!(in_bundle(root, "myNewCa.pem"));
    cm.publish(&["ca2.pem"]);
    wait_until("the old CA retired", || !in_bundle(root, "myNewCa.pem"));
    assert!(in_bundle(root, "ca2.pem"));
    wait_until("metrics follow", || {
        std::fs::read_to_string(&prom)
            .is_ok_and(|t| !t.contains(&sha("myNewCa.pem")) && t.contains(&sha("ca2.pem")))
    });
    wait_until("on-change after each change", || {
        std::fs::read_to_string(&ran)
            .unwrap_or_default()
            .lines()
            .count()
            >= 3
    });
    sigterm(&w.0);
    let st = wait_exit(&mut w.0);
    assert_eq!(
        st.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&err).unwrap()
    );
}

/// Review of issue 17, 1.1: one key of a Secret volume as the source (`vol/ca.pem ->
/// ..data/ca.pem`). The kubelet's rotation renames `..data` and never touches `ca.pem`.
#[test]
fn watch_single_key_of_a_configmap_follows_the_data_swap() {
    let t = debian_tree();
    let root = t.path();
    let mut cm = ConfigMap::new_as(&[("ca.pem", "myNewCa.pem"), ("tls.key", "myNewCa.pem")]);
    let key = cm.path().join("ca.pem");
    let (mut w, err, _logs) = spawn_watch(root, &[], &[&key]);
    wait_until("the first sync", || in_bundle(root, "myNewCa.pem"));
    cm.publish_as(&[("ca.pem", "ca2.pem"), ("tls.key", "myNewCa.pem")]);
    wait_until("the key's new content after the ..data swap", || {
        in_bundle(root, "ca2.pem") && !in_bundle(root, "myNewCa.pem")
    });
    // And again: the watches follow the new ..data target.
    cm.publish_as(&[("ca.pem", "ca3.pem"), ("tls.key", "myNewCa.pem")]);
    wait_until("the second swap", || {
        in_bundle(root, "ca3.pem") && !in_bundle(root, "ca2.pem")
    });
    sigterm(&w.0);
    assert_eq!(
        wait_exit(&mut w.0).code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&err).unwrap()
    );
}

/// Review of issue 17, 1.2: `watch --check` used to sync for real and run the hooks.
#[test]
fn watch_check_is_a_usage_error_that_changes_nothing() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["ca3.pem"]);
    let out = tempfile::tempdir().unwrap();
    let ran = out.path().join("ran");
    let (mut w, err, _logs) = spawn_watch(
        root,
        &[
            "--check",
            "--on-change",
            &format!("touch {}", ran.display()),
        ],
        &[src.path()],
    );
    let st = wait_exit(&mut w.0);
    let text = std::fs::read_to_string(&err).unwrap();
    assert_eq!(st.code(), Some(2), "{text}");
    assert!(
        text.contains("watch --check") && text.contains("sync --check"),
        "{text}"
    );
    assert!(!in_bundle(root, "ca3.pem"), "nothing applied");
    assert!(!ran.exists(), "no on-change command");
}

#[test]
fn watch_plain_directory_add_replace_remove_and_a_broken_source() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let (mut w, err, _logs) = spawn_watch(root, &[], &[src.path()]);
    wait_until("the first sync", || in_bundle(root, "myNewCa.pem"));
    // Added.
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    wait_until("an added file", || in_bundle(root, "ca2.pem"));
    // Replaced by rename (an editor, a config manager).
    let tmp = src.path().join(".tmp-x");
    std::fs::copy(fx("ca3.pem"), &tmp).unwrap();
    std::fs::rename(&tmp, src.path().join("ca2.pem")).unwrap();
    wait_until("a replaced file", || {
        in_bundle(root, "ca3.pem") && !in_bundle(root, "ca2.pem")
    });
    // Broken: a file that is no certificate. Reported, the last good state kept, no spin.
    std::fs::write(
        src.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    wait_until("the error reported", || {
        std::fs::read_to_string(&err)
            .unwrap_or_default()
            .contains("broken.pem")
    });
    assert!(in_bundle(root, "myNewCa.pem") && in_bundle(root, "ca3.pem"));
    let errors_now = std::fs::read_to_string(&err)
        .unwrap()
        .matches("anchorage: error:")
        .count();
    // Removed (and the broken file too): the next event retries and succeeds.
    std::fs::remove_file(src.path().join("broken.pem")).unwrap();
    std::fs::remove_file(src.path().join("myNewCa.pem")).unwrap();
    wait_until("a removed file", || !in_bundle(root, "myNewCa.pem"));
    assert!(in_bundle(root, "ca3.pem"));
    let errors = std::fs::read_to_string(&err)
        .unwrap()
        .matches("anchorage: error:")
        .count();
    assert_eq!(errors, errors_now, "no retry loop on a broken source");
    sigterm(&w.0);
    assert_eq!(wait_exit(&mut w.0).code(), Some(0));
}

/// An agent script: logs its start and the signals it gets, exits 3 on SIGTERM.
fn agent(dir: &Path) -> PathBuf {
    let p = dir.join("agent.sh");
    let log = dir.join("agent.log");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\necho \"start $$\" >> {log}\ntrap 'echo HUP >> {log}' HUP\ntrap 'echo USR1 >> {log}' USR1\ntrap 'echo TERM >> {log}; exit 3' TERM\necho ready >> {log}\nwhile :; do sleep 0.1; done\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default()
}

fn spawn_exec(root: &Path, opts: &[&str], src: &Path, program: &[&str]) -> Killed {
    let mut c = clean(anchorage(root));
    c.args(["exec", "--watch", "--debounce", "1"])
        .args(opts)
        .arg(src)
        .arg("--")
        .args(program);
    Killed(
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

#[test]
fn exec_watch_forwards_signals_and_exits_with_the_childs_code() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    let a = agent(d.path());
    let mut e = spawn_exec(root, &[], src.path(), &[a.to_str().unwrap()]);
    wait_until("the agent started", || log_of(d.path()).contains("ready"));
    assert!(in_bundle(root, "myNewCa.pem"));
    let first = log_of(d.path());
    let agent_pid: u32 = first
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("start ")
        .parse()
        .unwrap();
    assert_ne!(agent_pid, e.0.id(), "--watch: a child, not execve");
    signal(&e.0, nix::sys::signal::Signal::SIGHUP);
    wait_until("HUP forwarded", || log_of(d.path()).contains("HUP"));
    signal(&e.0, nix::sys::signal::Signal::SIGUSR1);
    wait_until("USR1 forwarded", || log_of(d.path()).contains("USR1"));
    let start = Instant::now();
    signal(&e.0, nix::sys::signal::Signal::SIGTERM);
    let st = wait_exit(&mut e.0);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "SIGTERM: ended in < 2 s"
    );
    assert_eq!(st.code(), Some(3), "the child's exit code");
    // A child killed by a signal: 128 + signal.
    let mut e = spawn_exec(root, &[], src.path(), &["sh", "-c", "kill -9 $$"]);
    assert_eq!(wait_exit(&mut e.0).code(), Some(137));
    let mut e = spawn_exec(root, &[], src.path(), &["sh", "-c", "exit 7"]);
    assert_eq!(wait_exit(&mut e.0).code(), Some(7));
    // Not found: 127, as plain exec.
    let mut e = spawn_exec(root, &[], src.path(), &["no-such-program-xyz"]);
    assert_eq!(wait_exit(&mut e.0).code(), Some(127));
}

#[test]
fn exec_watch_reload_restart_and_signal() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    let a = agent(d.path());
    let mut e = spawn_exec(
        root,
        &["--reload=restart", "--grace", "5"],
        src.path(),
        &[a.to_str().unwrap()],
    );
    wait_until("the agent started", || log_of(d.path()).contains("ready"));
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    wait_until("restarted after the change", || {
        log_of(d.path()).matches("start ").count() == 2
    });
    assert!(
        log_of(d.path()).contains("TERM"),
        "stopped with SIGTERM first"
    );
    assert!(in_bundle(root, "ca2.pem"));
    signal(&e.0, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(wait_exit(&mut e.0).code(), Some(3));

    let d = tempfile::tempdir().unwrap();
    let a = agent(d.path());
    let mut e = spawn_exec(
        root,
        &["--reload=signal:HUP"],
        src.path(),
        &[a.to_str().unwrap()],
    );
    wait_until("the agent started", || log_of(d.path()).contains("ready"));
    std::fs::remove_file(src.path().join("ca2.pem")).unwrap();
    wait_until("HUP after the change", || log_of(d.path()).contains("HUP"));
    assert!(!in_bundle(root, "ca2.pem"));
    assert_eq!(
        log_of(d.path()).matches("start ").count(),
        1,
        "signal, not restart"
    );
    signal(&e.0, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(wait_exit(&mut e.0).code(), Some(3));

    // --reload without --watch is a usage error.
    let o = run(clean(anchorage(root))
        .args(["exec", "--reload=restart"])
        .arg(src.path())
        .args(["--", "true"]));
    assert_eq!(code(&o), 2);
}

/// Review of issue 17, 3.1: `exec --watch` in the environment-bundle fallback (not root): a
/// rotation rewrites the bundle in the directory of the first start (same path, so PROGRAM's
/// variables stay valid), counts as a change (`--reload=restart` fires), and leaves no new
/// directory in /tmp; a re-sync that changes nothing restarts nothing.
#[test]
fn exec_watch_fallback_bundle_is_rewritten_in_place_and_reloads() {
    use std::os::unix::fs::MetadataExt;
    // A uid of its own, so other tests' bundle directories do not count.
    const UID: u32 = 64_925;
    fn private_dirs() -> Vec<PathBuf> {
        std::fs::read_dir("/tmp")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("anchorage-"))
            .filter(|e| {
                std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir() && m.uid() == UID)
            })
            .map(|e| e.path())
            .collect()
    }
    /// Removes the directories this test made, even when it fails.
    struct Made(Vec<PathBuf>);
    impl Drop for Made {
        fn drop(&mut self) {
            for p in private_dirs().iter().filter(|p| !self.0.contains(p)) {
                let _ = std::fs::remove_dir_all(p);
            }
        }
    }
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = d.path().join("agent.log");
    let a = d.path().join("agent.sh");
    std::fs::write(
        &a,
        format!(
            "#!/bin/sh\necho \"start $SSL_CERT_FILE\" >> {log}\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
    let starts = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("start ").map(str::to_owned))
            .collect()
    };
    let before = private_dirs();
    let _made = Made(before.clone());
    let err = d.path().join("stderr");
    let c = clean(anchorage(root));
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={UID}"))
        .arg(format!("--regid={UID}"))
        .args(["--clear-groups", "--"])
        .arg(c.get_program())
        .args(c.get_args())
        .args([
            "exec",
            "--watch",
            "--debounce",
            "500ms",
            "--reload=restart",
            "--grace",
            "5s",
        ])
        .arg(src.path())
        .arg("--")
        .arg(&a);
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    for v in ["ANCHORAGE_BUNDLE_DIR", "SSL_CERT_DIR", "JAVA_TOOL_OPTIONS"] {
        cmd.env_remove(v);
    }
    let mut e = Killed(
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let errs = || std::fs::read_to_string(&err).unwrap_or_default();
    wait_until("the agent started", || starts().len() == 1);
    let bundle = PathBuf::from(&starts()[0]);
    assert!(
        bundle.starts_with("/tmp") && bundle.ends_with("anchorage-ca-bundle.pem"),
        "{bundle:?}\n{}",
        errs()
    );
    assert!(file_has_ca(&bundle, "myNewCa.pem") && !file_has_ca(&bundle, "ca2.pem"));
    assert!(
        !in_bundle(root, "myNewCa.pem"),
        "the system store is not written"
    );
    let syncs = || errs().matches("system trust store not writable").count();
    assert_eq!(syncs(), 1, "{}", errs());
    // A rotation: the same bundle path, the new content, a restart.
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    wait_until("restarted after the rotation", || starts().len() == 2);
    assert_eq!(starts()[1], starts()[0], "the same bundle path");
    assert!(file_has_ca(&bundle, "ca2.pem") && file_has_ca(&bundle, "myNewCa.pem"));
    // The same content written again: a re-sync, and no restart.
    let n = syncs();
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    wait_until("the no-op re-sync", || syncs() > n);
    // The removal after it is a change again: PROGRAM restarted once more, not twice.
    std::fs::remove_file(src.path().join("myNewCa.pem")).unwrap();
    wait_until("restarted after the removal", || starts().len() >= 3);
    assert!(!file_has_ca(&bundle, "myNewCa.pem") && file_has_ca(&bundle, "ca2.pem"));
    let after = private_dirs();
    let new: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1, "one private directory, reused: {new:?}");
    signal(&e.0, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(wait_exit(&mut e.0).code(), Some(0), "{}", errs());
    assert_eq!(
        starts().len(),
        3,
        "no restart for the no-op re-sync: {:?}",
        starts()
    );
}

/// Review of issue 17, 3.2: a change that arrives while `--reload=restart` waits out its grace
/// period (PROGRAM ignores SIGTERM) is synced after the new start, not lost.
#[test]
fn exec_watch_change_during_restart_grace_is_synced_after() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("agent.log");
    let a = d.path().join("agent.sh");
    // Ignores SIGTERM (logs it), so every restart takes the whole grace; ends on USR1.
    std::fs::write(
        &a,
        format!(
            "#!/bin/sh\necho start >> {log}\ntrap 'echo TERM >> {log}' TERM\ntrap 'exit 5' USR1\nwhile :; do sleep 0.1; done\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let err = d.path().join("stderr");
    let mut e = Killed(
        clean(anchorage(root))
            .args([
                "exec",
                "--watch",
                "--debounce",
                "1",
                "--reload=restart",
                "--grace",
                "3",
            ])
            .arg(src.path())
            .arg("--")
            .arg(&a)
            .env("ANCHORAGE_LOG", "anchorage=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let diag = || {
        format!(
            "{}\n--- stderr:\n{}",
            log_text(),
            std::fs::read_to_string(&err).unwrap_or_default()
        )
    };
    wait_until("the agent started", || log_text().contains("start"));
    std::fs::copy(fx("ca2.pem"), src.path().join("ca2.pem")).unwrap();
    wait_until("the restart began (SIGTERM, ignored)", || {
        log_text().contains("TERM")
    });
    // During the grace period (at once: checking the bundle with openssl takes seconds).
    std::fs::copy(fx("ca3.pem"), src.path().join("ca3.pem")).unwrap();
    wait_until(
        "the change during the grace synced after the new start",
        || in_bundle(root, "ca3.pem"),
    );
    assert!(in_bundle(root, "ca2.pem"));
    wait_until("restarted for it too", || {
        log_text().matches("start").count() == 3
    });
    signal(&e.0, nix::sys::signal::Signal::SIGUSR1);
    assert_eq!(wait_exit(&mut e.0).code(), Some(5), "{}", diag());
}

/// Review of issue 17, 2.4: PROGRAM does not outlive a supervisor killed with SIGKILL, even
/// when it ignores SIGTERM (its parent-death signal is SIGKILL).
#[test]
fn exec_watch_program_dies_with_a_killed_supervisor() {
    /// SIGKILLs the agent when the test ends, whatever happened (an orphan must not stay).
    struct Reap(i32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("agent.log");
    let a = d.path().join("agent.sh");
    std::fs::write(
        &a,
        format!(
            "#!/bin/sh\ntrap '' TERM\necho \"start $$\" >> {log}\nwhile :; do sleep 0.1; done\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut e = spawn_exec(root, &[], src.path(), &[a.to_str().unwrap()]);
    wait_until("the agent started", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.ends_with('\n'))
    });
    let pid: i32 = std::fs::read_to_string(&log)
        .unwrap()
        .trim()
        .trim_start_matches("start ")
        .parse()
        .unwrap();
    let _reap = Reap(pid);
    signal(&e.0, nix::sys::signal::Signal::SIGKILL);
    let _ = wait_exit(&mut e.0);
    // Gone, or a zombie waiting for whoever adopted it.
    wait_until("the agent ended with its supervisor", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    });
}

/// Review of issue 17, 1.3: `exec --on-change` was accepted and never ran.
#[test]
fn exec_on_change_is_a_usage_error_that_changes_nothing() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let out = tempfile::tempdir().unwrap();
    let ran = out.path().join("ran");
    let started = out.path().join("started");
    for watch in [&[][..], &["--watch"][..]] {
        let o = run(clean(anchorage(root))
            .arg("exec")
            .args(watch)
            .args(["--on-error=continue", "--on-change"])
            .arg(format!("touch {}", ran.display()))
            .arg(src.path())
            .args(["--", "touch"])
            .arg(&started));
        assert_eq!(code(&o), 2, "{watch:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("--on-change applies to install/sync/remove/watch")
                && stderr(&o).contains("--reload"),
            "{}",
            stderr(&o)
        );
        assert!(!started.exists(), "no PROGRAM after a usage error");
        assert!(!ran.exists());
        assert!(!in_bundle(root, "myNewCa.pem"), "nothing synced");
    }
}

/// The signals `exec --watch` and `watch` block (to read them from a signalfd) are not blocked
/// in PROGRAM nor in an `--on-change` command: `docker stop`'s SIGTERM must reach them.
#[test]
fn children_start_with_an_empty_signal_mask() {
    let t = debian_tree();
    let root = t.path();
    let src = dir_with(&["myNewCa.pem"]);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("program");
    let cmd = format!("grep ^SigBlk /proc/self/status > {}", out.display());
    let mut e = spawn_exec(root, &[], src.path(), &["sh", "-c", &cmd]);
    assert_eq!(wait_exit(&mut e.0).code(), Some(0));
    let mask = std::fs::read_to_string(&out).unwrap();
    assert_eq!(mask.trim(), "SigBlk:\t0000000000000000", "PROGRAM");
    let out2 = d.path().join("on-change");
    let oc = format!(
        "sh -c 'grep ^SigBlk /proc/self/status > {}'",
        out2.display()
    );
    let src2 = dir_with(&["ca2.pem"]);
    let (mut w, _err, _logs) = spawn_watch(root, &["--on-change", &oc], &[src2.path()]);
    wait_until("on-change ran", || {
        std::fs::read_to_string(&out2).is_ok_and(|s| s.ends_with('\n'))
    });
    assert_eq!(
        std::fs::read_to_string(&out2).unwrap().trim(),
        "SigBlk:\t0000000000000000",
        "--on-change"
    );
    sigterm(&w.0);
    assert_eq!(wait_exit(&mut w.0).code(), Some(0));
}

/// The guide's `systemctl restart te-browserbot`: the program is found in the caller's PATH
/// (a stub `systemctl` here), its arguments split like a shell's words.
#[test]
fn on_change_finds_the_program_in_the_callers_path() {
    let t = debian_tree();
    let root = t.path();
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls");
    let stub = bin.path().join("systemctl");
    std::fs::write(
        &stub,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = run(anchorage(root)
        .env("PATH", path)
        .args(["sync", "--on-change", "systemctl restart 'te browserbot'"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "restart te browserbot\n"
    );
    // Decimal seconds are accepted where seconds are asked for.
    let o = run(anchorage(root)
        .args(["watch", "--debounce", "x"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 2);
    let o = run(anchorage(root).args(["watch", "-"]));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
