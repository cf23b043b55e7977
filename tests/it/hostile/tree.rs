//! The `--root` tree of the hostile runs: a Debian layout, and a snapshot to prove a run
//! changed nothing.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Link { target: PathBuf },
    Other { mode: u32 },
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("read tree")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let mode = meta.mode();
            let node = if meta.file_type().is_symlink() {
                Node::Link {
                    target: fs::read_link(&path).expect("readlink"),
                }
            } else if meta.is_dir() {
                walk(root, &path, out);
                Node::Dir { mode }
            } else if meta.is_file() {
                Node::File {
                    mode,
                    bytes: fs::read(&path).expect("read tree file"),
                }
            } else {
                Node::Other { mode }
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    out.insert(
        PathBuf::from("."),
        Node::Dir {
            mode: fs::metadata(root).expect("root").mode(),
        },
    );
    walk(root, root, &mut out);
    out
}

pub fn describe_changes(
    before: &BTreeMap<PathBuf, Node>,
    after: &BTreeMap<PathBuf, Node>,
) -> String {
    let mut changes = Vec::new();
    for (path, node) in after {
        match before.get(path) {
            None => changes.push(format!("added {}", path.display())),
            Some(old) if old != node => changes.push(format!("changed {}", path.display())),
            _ => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        changes.push(format!("removed {}", path.display()));
    }
    changes.join(", ")
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ft = entry.file_type().expect("file type");
        if ft.is_symlink() {
            symlink(fs::read_link(&src).expect("readlink"), &dst).expect("symlink");
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else if ft.is_file() {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// A Debian-layout `--root` tree: the host's CA certificates and ca-certificates.conf.
pub fn debian_tree(root: &Path) {
    let share = Path::new("/usr/share/ca-certificates");
    if share.is_dir() {
        copy_tree(share, &root.join("usr/share/ca-certificates"));
    } else {
        fs::create_dir_all(root.join("usr/share/ca-certificates")).expect("mkdir");
    }
    fs::create_dir_all(root.join("etc/ssl/certs")).expect("mkdir");
    fs::create_dir_all(root.join("usr/local/share/ca-certificates")).expect("mkdir");
    let conf = fs::read("/etc/ca-certificates.conf").unwrap_or_default();
    fs::write(root.join("etc/ca-certificates.conf"), conf).expect("write conf");
    fs::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .expect("write os-release");
}
