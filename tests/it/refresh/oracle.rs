//! The oracle: Debian trees with their own `update-ca-certificates` (the host's script, and
//! the programs it and its update.d hooks run, with their libraries), so `--refresh hook`
//! runs the real script under `chroot` exactly as in an image, and the links it writes are
//! the tree's own paths. A full debootstrap per scenario would cost minutes; these trees
//! cost a few megabytes of copies and hold everything the script executes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// What the script and the test hooks execute.
const TOOLS: &[&str] = &[
    "sh",
    "dash",
    "sed",
    "find",
    "sort",
    "readlink",
    "ln",
    "rm",
    "mktemp",
    "wc",
    "openssl",
    "run-parts",
    "cat",
    "basename",
    "chmod",
    "mv",
    "env",
    "grep",
    "test",
    "[",
    "pwd",
];

fn sh(cmd: &mut Command) {
    let o = cmd.output().expect("spawn");
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A Debian tree (the host's CAs and conf) that can run its own update-ca-certificates.
pub fn tree() -> tempfile::TempDir {
    let t = debian_tree();
    let root = t.path();
    // Merged /usr or not, as on the host.
    for d in ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for top in ["bin", "sbin", "lib", "lib64"] {
        let host = Path::new("/").join(top);
        match std::fs::read_link(&host) {
            Ok(target) => std::os::unix::fs::symlink(target, root.join(top)).unwrap(),
            Err(_) if host.is_dir() => std::fs::create_dir_all(root.join(top)).unwrap(),
            Err(_) => {}
        }
    }
    let mut files: Vec<PathBuf> = vec!["/usr/sbin/update-ca-certificates".into()];
    for tool in TOOLS {
        let Some(p) = ["/usr/bin", "/bin", "/usr/sbin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
        else {
            continue;
        };
        let ldd = Command::new("ldd").arg(&p).output().unwrap();
        for line in String::from_utf8_lossy(&ldd.stdout).lines() {
            let lib = match line.split_once("=>") {
                Some((_, r)) => r.split_whitespace().next(),
                None => line
                    .split_whitespace()
                    .next()
                    .filter(|w| w.starts_with('/')),
            };
            if let Some(lib) = lib.filter(|l| l.starts_with('/')) {
                files.push(lib.into());
            }
        }
        files.push(p);
    }
    for f in files {
        let dest = root.join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if !dest.exists() {
            std::fs::copy(&f, &dest).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("dev")).unwrap();
    sh(Command::new("mknod")
        .args(["-m", "666"])
        .arg(root.join("dev/null"))
        .args(["c", "1", "3"]));
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    sh(Command::new("chmod").arg("1777").arg(root.join("tmp")));
    t
}

/// Run the tree's own script, as an image build does.
pub fn refresh(root: &Path) {
    sh(Command::new("chroot")
        .arg(root)
        .arg("/usr/sbin/update-ca-certificates")
        .env("LC_ALL", "C")
        .env_remove("TMPDIR"));
}

/// update.d hooks that record what they are given (the `+`/`-` lines, the directory they run
/// from), one that fails, and names `run-parts` skips.
pub fn add_update_d_hooks(root: &Path) {
    let dir = root.join("etc/ca-certificates/update.d");
    std::fs::create_dir_all(&dir).unwrap();
    let record = |name: &str, exit: u8| {
        format!(
            "#!/bin/sh\n{{ echo \"run of {name} from $(pwd) with $#\"; cat; }} >> /etc/{name}.out\nexit {exit}\n"
        )
    };
    for (name, body, mode) in [
        ("10record", record("10record", 0), 0o755),
        ("20fails", record("20fails", 3), 0o755),
        ("30-after_failure", record("30-after_failure", 0), 0o755),
        ("40not-executable", record("40not-executable", 0), 0o644),
        ("50skipped.sh", record("50skipped.sh", 0), 0o755),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        sh(Command::new("chmod").arg(format!("{mode:o}")).arg(&p));
    }
}

/// A copy of `template` (links, modes, owners kept).
pub fn clone(template: &Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    sh(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", template.display()))
        .arg(t.path()));
    t
}
