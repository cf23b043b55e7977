//! The help and the man pages (issue 19 §3): each subcommand's `--help` lists exactly the
//! options that apply to it; `exec --help` says the report goes to stderr; `anchorage(1)` has
//! EXIT STATUS and ENVIRONMENT; `man --dir` writes one page per subcommand. And the options
//! that moved out of sight are still accepted where they were before (before or after the
//! subcommand, from the environment).

use crate::common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const OUTPUT: &[&str] = &["--format", "--verbose", "--quiet"];
const TREE: &[&str] = &["--root", "--platform"];
const NSS: &[&str] = &["--nssdb", "--nss-owner", "--nss-discover", "--no-system"];
const JAVA: &[&str] = &[
    "--java-truststore",
    "--java-password-file",
    "--java-discover",
];
const APPLY: &[&str] = &[
    "--check",
    "--no-update",
    "--debian-conf",
    "--hook-timeout",
    "--lock-timeout",
    "--refresh",
];
const INPUT: &[&str] = &[
    "--name",
    "--password-file",
    "--allow-intermediate",
    "--allow-leaf",
    "--allow-expired",
];

const SUBCOMMANDS: &[&str] = &[
    "install",
    "remove",
    "sync",
    "list",
    "exec",
    "env",
    "verify",
    "completions",
    "man",
    "doctor",
    "metrics",
    "watch",
];

/// The long options a subcommand's help must list (besides --help).
fn expected(sub: &str) -> BTreeSet<&'static str> {
    let groups: Vec<&[&str]> = match sub {
        "install" | "sync" => vec![OUTPUT, TREE, NSS, JAVA, APPLY, INPUT, &["--on-change"]],
        "remove" => vec![
            OUTPUT,
            TREE,
            NSS,
            JAVA,
            APPLY,
            &["--password-file", "--on-change"],
        ],
        "exec" => vec![
            OUTPUT,
            TREE,
            NSS,
            JAVA,
            APPLY,
            INPUT,
            &[
                "--on-error",
                "--override-env",
                "--keep-env",
                "--allow-empty",
            ],
            &["--watch", "--reload", "--grace", "--debounce"],
        ],
        "watch" => vec![
            OUTPUT,
            TREE,
            NSS,
            JAVA,
            &APPLY[1..],
            INPUT,
            &["--on-change", "--debounce", "--metrics"],
        ],
        "metrics" => vec![&OUTPUT[1..], TREE, NSS, JAVA, &["--output"]],
        "env" => vec![
            OUTPUT,
            TREE,
            INPUT,
            &["--override-env", "--keep-env", "--allow-empty"],
        ],
        "list" => vec![
            OUTPUT,
            TREE,
            &["--nssdb", "--nss-discover", "--no-system"],
            JAVA,
        ],
        "doctor" => vec![OUTPUT, TREE, NSS, JAVA, &["--warn-days", "--runtimes"]],
        "verify" => vec![
            OUTPUT,
            TREE,
            &[
                "--ca-file",
                "--servername",
                "--proxy",
                "--timeout",
                "--save-chain",
            ],
        ],
        "completions" => vec![],
        "man" => vec![&["--dir"]],
        other => panic!("unknown subcommand {other}"),
    };
    let mut set: BTreeSet<&str> = groups.into_iter().flatten().copied().collect();
    set.insert("--help");
    set
}

fn help(args: &[&str]) -> String {
    let o = Command::new(bin())
        .args(args)
        .env_remove("ANCHORAGE_FORMAT")
        .output()
        .expect("run anchorage");
    assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).expect("UTF-8 help")
}

/// The long options a help text lists: the first `--word` of each option line.
fn listed(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let t = match t.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => rest.split_once(", ")?.1,
                _ => t,
            };
            let name = t.strip_prefix("--")?;
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(name.len());
            Some(format!("--{}", &name[..end]))
        })
        .collect()
}

#[test]
fn each_subcommand_lists_exactly_its_options() {
    for sub in SUBCOMMANDS {
        let want: BTreeSet<String> = expected(sub).into_iter().map(String::from).collect();
        for args in [vec![*sub, "--help"], vec![*sub, "-h"], vec!["help", *sub]] {
            let text = help(&args);
            assert_eq!(listed(&text), want, "{args:?} lists:\n{text}");
        }
    }
}

#[test]
fn inapplicable_options_are_not_shown() {
    for sub in ["list", "verify", "man", "completions", "env"] {
        assert!(!help(&[sub, "--help"]).contains("--nss-owner"), "{sub}");
    }
    let env = help(&["env", "--help"]);
    for opt in [
        "--check",
        "--no-update",
        "--debian-conf",
        "--hook-timeout",
        "--lock-timeout",
        "--refresh",
    ] {
        assert!(!env.contains(opt), "env --help shows {opt}:\n{env}");
    }
    for sub in ["man", "completions"] {
        let text = help(&[sub, "--help"]);
        for opt in [
            "--root",
            "--platform",
            "--format",
            "--verbose",
            "--quiet",
            "--nssdb",
        ] {
            assert!(!text.contains(opt), "{sub} --help shows {opt}:\n{text}");
        }
    }
}

#[test]
fn exec_help_says_the_report_goes_to_stderr() {
    for text in [help(&["exec", "--help"]), help(&["exec", "-h"])] {
        let format = text
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("--format"))
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(format.contains("stderr"), "exec --format: {format}");
    }
    let install = help(&["install", "--help"]);
    assert!(install.contains("report on stdout"));
}

/// Every `ANCHORAGE_*` variable src/ reads at run time (clap `env = ...`, `std::env::var`).
fn variables_in_source() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            for (i, _) in text.match_indices("\"ANCHORAGE_") {
                if text[..i].ends_with("env!(") {
                    continue; // compile time (build.rs), not read at run time
                }
                let rest = &text[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .unwrap_or(rest.len());
                out.insert(rest[..end].to_string());
            }
        }
    }
    out
}

#[test]
fn man_page_has_exit_status_and_environment() {
    let page = help(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH anchorage 1"));
    for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH \"SEE ALSO\""] {
        assert!(page.contains(section), "no {section}");
    }
    let exit = &page[page.find("EXIT STATUS").unwrap()..page.find(".SH ENVIRONMENT").unwrap()];
    for c in [0, 1, 2, 65, 66, 69, 74, 75, 77, 126, 127] {
        assert!(exit.contains(&format!("\\fB{c}\\fR")), "exit code {c}");
    }
    let env = &page[page.find(".SH ENVIRONMENT").unwrap()..];
    let vars = variables_in_source();
    assert!(vars.len() >= 9, "{vars:?}");
    for v in vars.iter().map(String::as_str).chain([
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "XDG_RUNTIME_DIR",
    ]) {
        assert!(env.contains(v), "ENVIRONMENT lacks {v}");
    }
    // The pages SUBCOMMANDS refers to are the ones `man --dir` writes (no `help` page).
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("anchorage\\-{sub}(1)")), "{sub}");
    }
    assert!(!page.contains("anchorage\\-help"));
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = Command::new(bin())
        .args(["man", "--dir"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut want: BTreeSet<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("anchorage-{s}.1"))
        .collect();
    want.insert("anchorage.1".into());
    let got: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        want.len()
    );
    // The main page is the one `anchorage man` prints.
    assert_eq!(
        std::fs::read_to_string(out.join("anchorage.1")).unwrap(),
        help(&["man"])
    );
    let man = Command::new("man").arg("--version").output();
    for name in &want {
        let page = std::fs::read_to_string(out.join(name)).unwrap();
        let title = name.trim_end_matches(".1");
        assert!(page.contains(&format!(".TH {title} 1")), "{name}");
        if name != "anchorage.1" {
            assert!(page.contains("\\fBanchorage\\fR(1)"), "{name}: SEE ALSO");
        }
        if man.as_ref().is_ok_and(|m| m.status.success()) {
            let r = Command::new("man")
                .arg("-l")
                .arg(out.join(name))
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .output()
                .unwrap();
            assert!(r.status.success(), "man -l {name}: {}", stderr(&r));
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
        }
    }
    let list = std::fs::read_to_string(out.join("anchorage-list.1")).unwrap();
    assert!(list.contains("nssdb") && !list.contains("nss\\-owner"));
    let exec = std::fs::read_to_string(out.join("anchorage-exec.1")).unwrap();
    assert!(exec.contains("stderr"));
}

/// A dry run of `install` in a temporary tree, the command line built by `args`.
fn check_install(args: impl FnOnce(&mut Command, &Path)) -> Report {
    let t = debian_tree();
    let mut c = Command::new(bin());
    c.env_remove("ANCHORAGE_ROOT")
        .env_remove("ANCHORAGE_FORMAT")
        .env_remove("ANCHORAGE_PLATFORM")
        .env_remove("ANCHORAGE_PASSWORD");
    args(&mut c, t.path());
    let r = report(&run(&mut c));
    assert!(r.check, "not a --check run");
    assert_eq!(r.root, t.path().display().to_string());
    assert_eq!(r.certificates.len(), 1);
    assert_eq!(r.certificates[0].action, "would_add");
    r
}

#[test]
fn options_are_accepted_where_they_were() {
    let ca = fx("myNewCa.crt");
    // Before the subcommand, after it, after the SOURCE.
    check_install(|c, t| {
        c.arg("--root")
            .arg(t)
            .args(["--format", "json", "install", "--check"])
            .arg(&ca);
    });
    check_install(|c, t| {
        c.args(["install", "--root"])
            .arg(t)
            .args(["--format", "json", "--check"])
            .arg(&ca);
    });
    check_install(|c, t| {
        c.args(["install", "--check"])
            .arg(&ca)
            .args(["--format", "json", "--root"])
            .arg(t);
    });
    check_install(|c, t| {
        c.args([
            "--platform",
            "debian",
            "-q",
            "install",
            "--check",
            "--format",
            "json",
        ])
        .arg("--root")
        .arg(t)
        .arg(&ca);
    });
    // From the environment; the command line wins over it.
    check_install(|c, t| {
        c.env("ANCHORAGE_ROOT", t)
            .env("ANCHORAGE_FORMAT", "json")
            .env("ANCHORAGE_PLATFORM", "debian")
            .env("ANCHORAGE_HOOK_TIMEOUT", "30")
            .args(["install", "--check"])
            .arg(&ca);
    });
    check_install(|c, t| {
        c.env("ANCHORAGE_ROOT", "/nonexistent-anchorage-root")
            .env("ANCHORAGE_FORMAT", "text")
            .arg("--root")
            .arg(t)
            .args(["install", "--check", "--format", "json"])
            .arg(&ca);
    });
    // `--format json list` before the subcommand.
    let t = debian_tree();
    let o = run(anchorage(t.path()).args(["--format", "json", "list"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let _: List = parse("list", &o.stdout);
}

#[test]
fn hidden_options_are_still_accepted() {
    let t = debian_tree();
    let root = t.path();
    // Options a subcommand ignores parse as before (they are only hidden from the help).
    let bundles = tempfile::tempdir().unwrap();
    let mut env = anchorage(root);
    env.env("ANCHORAGE_BUNDLE_DIR", bundles.path())
        .env_remove("ANCHORAGE_SOURCES")
        .args([
            "env",
            "--check",
            "--no-update",
            "--debian-conf",
            "--hook-timeout",
            "5",
            "--lock-timeout",
            "5",
        ])
        .arg(fx("myNewCa.crt"));
    let o = run(&mut env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SSL_CERT_FILE"));
    let o = run(anchorage(root).args([
        "remove",
        "--check",
        "--name",
        "x",
        "--allow-leaf",
        "nothing",
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for args in [
        &["completions", "bash", "--format", "json"][..],
        &["--root", "/", "man"],
        &["man", "-q", "--platform", "debian"],
    ] {
        let o = run(Command::new(bin()).args(args));
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert!(!o.stdout.is_empty());
    }
    // `list --nss-owner` without --nssdb: the same usage error as before.
    let o = run(anchorage(root).args(["list", "--nss-owner", "root"]));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--nss-owner needs --nssdb"));
}
