//! Running the binary on a corpus item under the deadline, and judging the run.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::corpus::{Item, Named};
use super::tree::{debian_tree, describe_changes, snapshot};
use super::{BIN, DEADLINE, NO_INPUT};
use crate::common::Failure;

pub struct Run {
    pub code: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_anchorage(root: &Path, scratch: &Path, item: &Item, json: bool) -> Run {
    let (out_path, err_path) = (scratch.join("stdout"), scratch.join("stderr"));
    let mut cmd = Command::new(BIN);
    cmd.arg("--root").arg(root);
    if json {
        cmd.args(["--format", "json"]);
    }
    cmd.args(["install", "--no-update"]).args(&item.args);
    for var in [
        "ANCHORAGE_ROOT",
        "ANCHORAGE_PLATFORM",
        "ANCHORAGE_FORMAT",
        "ANCHORAGE_PASSWORD",
        "ANCHORAGE_HOOK_TIMEOUT",
        "ANCHORAGE_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(match &item.stdin {
        Some(path) => Stdio::from(File::open(path).expect("open stdin file")),
        None => Stdio::null(),
    });
    cmd.stdout(File::create(&out_path).expect("stdout file"));
    cmd.stderr(File::create(&err_path).expect("stderr file"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn anchorage");
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (Some(status), false);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    Run {
        code: status.and_then(|s| s.code()),
        timed_out,
        elapsed: start.elapsed(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Everything that is wrong with one run (empty: it passed).
pub fn judge(item: &Item, run: &Run, json: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if run.timed_out {
        problems.push(format!("hung: killed after {:?}", DEADLINE));
        return problems;
    }
    if run.code != Some(i32::from(item.expect)) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            run.code, item.expect
        ));
    }
    if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
        problems.push("panicked".into());
    }
    let (named, exact) = match &item.named {
        Named::Exact(p) => (p.display().to_string(), true),
        Named::Under(p) => (p.display().to_string(), false),
    };
    let in_message = if exact {
        format!("{named}: ")
    } else {
        format!("{named}/")
    };
    if !run.stderr.contains(&in_message) {
        problems.push(format!("stderr does not name {in_message:?}"));
    }
    if json {
        match serde_json::from_str::<serde_json::Value>(&run.stdout) {
            Err(e) => problems.push(format!("stdout is not JSON ({e}): {:?}", run.stdout)),
            Ok(v) => {
                if let Err(e) = serde_json::from_str::<Failure>(&run.stdout) {
                    problems.push(format!("stdout is not the failure report ({e})"));
                }
                if v["failed"] != serde_json::Value::Bool(true) {
                    problems.push(format!("JSON failed is {}", v["failed"]));
                }
                let kind = if item.expect == NO_INPUT {
                    "no_input"
                } else {
                    "bad_input"
                };
                if v["error"]["kind"] != kind {
                    problems.push(format!(
                        "JSON error.kind is {}, expected {kind:?}",
                        v["error"]["kind"]
                    ));
                }
                let path = v["error"]["path"].as_str().unwrap_or_default();
                let ok = if exact {
                    path == named
                } else {
                    path.starts_with(&format!("{named}/"))
                };
                if !ok {
                    problems.push(format!("JSON error.path is {path:?}, expected {named:?}"));
                }
            }
        }
    }
    problems
}

/// Run `items[start], items[start + step], ...` against a tree of this worker's own; returns
/// (item index, failure description) pairs and the slowest run.
pub fn run_share(
    items: &[Item],
    start: usize,
    step: usize,
    work: &Path,
) -> (Vec<(usize, String)>, (Duration, String)) {
    let root = work.join(format!("root-{start}"));
    let scratch = work.join(format!("scratch-{start}"));
    fs::create_dir_all(&scratch).expect("mkdir");
    debian_tree(&root);
    let before = snapshot(&root);
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for (index, item) in items.iter().enumerate().skip(start).step_by(step) {
        for json in [false, true] {
            let run = run_anchorage(&root, &scratch, item, json);
            let mut problems = judge(item, &run, json);
            let after = snapshot(&root);
            if after != before {
                problems.push(format!(
                    "tree changed: {}",
                    describe_changes(&before, &after)
                ));
                // Start the next run from a pristine tree, so one failure does not cascade.
                fs::remove_dir_all(&root).expect("remove tree");
                debian_tree(&root);
                assert!(snapshot(&root) == before, "cannot rebuild the tree");
            }
            if run.elapsed > slowest.0 {
                slowest = (run.elapsed, item.name.clone());
            }
            if !problems.is_empty() {
                let mode = if json { "json" } else { "text" };
                failures.push((
                    index,
                    format!(
                        "{} [{mode}]: {}\n    stderr: {}",
                        item.name,
                        problems.join("; "),
                        run.stderr.trim().replace('\n', "\n            ")
                    ),
                ));
            }
        }
    }
    (failures, slowest)
}
