use super::*;
use std::os::unix::fs::symlink;

/// A tree with an absolute link (`etc/os-release -> /usr/lib/os-release`), a relative one, a
/// link that climbs above the root, and a host file of the same name that must never be read.
fn tree() -> (tempfile::TempDir, Tree) {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    std::fs::create_dir_all(r.join("usr/lib")).unwrap();
    std::fs::create_dir_all(r.join("etc/ssl")).unwrap();
    std::fs::write(r.join("usr/lib/os-release"), "ID=alpine\n").unwrap();
    symlink("/usr/lib/os-release", r.join("etc/os-release")).unwrap();
    symlink("../usr/lib/os-release", r.join("etc/rel")).unwrap();
    symlink("../../../../../../usr/lib/os-release", r.join("etc/climb")).unwrap();
    symlink("/etc", r.join("etc/ssl/out")).unwrap();
    let tree = Tree::open(r).unwrap();
    (t, tree)
}

fn read_walk(tree: &Tree, rel: &str) -> rustix::io::Result<Vec<u8>> {
    let fd = walk::open(&tree.fd, rel, OFlags::RDONLY, true)?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut out).unwrap();
    Ok(out)
}

#[test]
fn reads_resolve_links_inside_the_tree_with_openat2_and_with_the_walk() {
    let (_t, tree) = tree();
    for rel in ["etc/os-release", "etc/rel", "etc/climb", "/etc/os-release"] {
        assert_eq!(tree.read(rel).unwrap().unwrap(), b"ID=alpine\n", "{rel}");
        assert_eq!(read_walk(&tree, rel).unwrap(), b"ID=alpine\n", "{rel}");
    }
    // `etc/ssl/out` is the tree's /etc, not the host's.
    assert!(tree
        .read("etc/ssl/out/ssl/out/os-release")
        .unwrap()
        .is_some());
    assert_eq!(tree.read("etc/missing").unwrap(), None);
}

#[test]
fn the_walk_refuses_links_when_writing_and_stops_loops() {
    let (t, tree) = tree();
    assert_eq!(
        walk::open(&tree.fd, "etc/ssl/out", OFlags::RDONLY, false).err(),
        Some(Errno::LOOP)
    );
    symlink("loop", t.path().join("etc/loop")).unwrap();
    assert_eq!(
        walk::open(&tree.fd, "etc/loop", OFlags::RDONLY, true).err(),
        Some(Errno::LOOP)
    );
}

#[test]
fn directories_for_writing_never_go_through_a_link() {
    let (t, tree) = tree();
    let err = tree.dir("etc/ssl/out").unwrap_err();
    assert_eq!(err.exit_code(), 77, "{err}");
    assert!(err.to_string().contains("etc/ssl/out is a link"), "{err}");
    let err = tree.ensure_dir("etc/ssl/out/new").unwrap_err();
    assert_eq!(err.exit_code(), 77, "{err}");
    assert!(!t.path().join("etc/new").exists());
    assert!(tree.check_dir("etc/ssl/out/new").is_err());
    assert!(tree.check_dir("etc/ssl/absent/deeper").is_ok());
    let err = tree.dir("etc/../..").unwrap_err();
    assert_eq!(err.exit_code(), 77, "{err}");
}

#[test]
fn ensure_dir_creates_0755_and_writes_are_atomic_and_refuse_links() {
    let (t, tree) = tree();
    let old = rustix::process::umask(Mode::from_raw_mode(0o077));
    let d = tree.ensure_dir("usr/local/share/x").unwrap();
    rustix::process::umask(old);
    let st = d.stat_self().unwrap();
    assert_eq!(st.st_mode & 0o777, 0o755);
    d.write("a.crt", b"one", Attrs::PUBLIC, None).unwrap();
    let files = vec![
        ("b.crt".to_string(), b"two".to_vec()),
        ("c.crt".to_string(), b"3".to_vec()),
    ];
    d.write_many(&files, Attrs::PUBLIC, None).unwrap();
    assert_eq!(
        std::fs::read(t.path().join("usr/local/share/x/b.crt")).unwrap(),
        b"two"
    );
    assert_eq!(d.entries().unwrap().len(), 3);
    symlink("/etc/passwd", t.path().join("usr/local/share/x/l.crt")).unwrap();
    let err = d.write("l.crt", b"x", Attrs::PUBLIC, None).unwrap_err();
    assert_eq!(err.exit_code(), 77);
    assert!(
        d.remove("l.crt").unwrap(),
        "a link is removed, not followed"
    );
    assert!(!d.remove("l.crt").unwrap());
    assert!(!d
        .entries()
        .unwrap()
        .iter()
        .any(|(n, _)| n.starts_with(TMP_PREFIX)));
}

#[test]
fn fifos_are_refused_without_blocking() {
    let (t, tree) = tree();
    let fifo = t.path().join("etc/ssl/x.crt");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        FileType::Fifo,
        Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let err = tree.read("etc/ssl/x.crt").unwrap_err();
    assert_eq!(err.exit_code(), 77);
    let d = tree.dir("etc/ssl").unwrap().unwrap();
    assert!(d.read("x.crt").is_err());
    assert_eq!(
        d.entries()
            .unwrap()
            .iter()
            .find(|(n, _)| n == "x.crt")
            .map(|e| e.1),
        Some(Kind::Special)
    );
}

#[test]
fn user_paths_with_dot_dot_are_refused() {
    assert_eq!(
        normalise_user_path("--nssdb", "/home/u/./.pki//nssdb").unwrap(),
        "home/u/.pki/nssdb"
    );
    assert_eq!(
        normalise_user_path("--nssdb", "/../../escaped/.pki/nssdb")
            .unwrap_err()
            .exit_code(),
        77
    );
}

use rustix::fs::FileType;
