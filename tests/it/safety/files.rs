//! Files: the conf edit keeps mode, owner and every other byte; modes whatever the umask; links
//! are never written through; read-only file system, permission denied, disk full.

use super::{sh, temporaries, CA};
use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn conf_edit_preserves_mode_owner_and_every_other_byte() {
    let t = debian_tree();
    let root = t.path();
    let conf = root.join("etc/ca-certificates.conf");
    let mut original = std::fs::read(&conf).unwrap();
    original.extend_from_slice(
        b"# admin comment with trailing spaces   \r\n!mozilla/Some_Deselected_CA.crt\n",
    );
    std::fs::write(&conf, &original).unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&conf, Some(123), Some(456)).unwrap();
    report(&run(anchorage(root)
        .args(["install", "--debian-conf", "--format", "json"])
        .arg(fx("myNewCa.pem"))));
    let after = std::fs::read(&conf).unwrap();
    assert!(after.starts_with(&original));
    let m = std::fs::metadata(&conf).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 123, 456));
    report(&run(
        anchorage(root).args(["remove", "--format", "json", CA])
    ));
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    let m = std::fs::metadata(&conf).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 123, 456));
    assert!(temporaries(root).is_empty(), "{:?}", temporaries(root));
}

#[test]
fn written_files_are_0644_whatever_the_umask() {
    let t = debian_tree();
    let root = t.path();
    let o = sh(&format!(
        "umask 077; exec {} --root {} install --no-update {}",
        bin(),
        root.display(),
        fx("myNewCa.pem").display()
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = root.join(format!(
        "usr/local/share/ca-certificates/anchorage/{CA}.crt"
    ));
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o644, 0));
    let d = std::fs::metadata(f.parent().unwrap()).unwrap();
    assert_eq!(d.mode() & 0o7777, 0o755);
}

#[test]
fn links_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    // 1. Our managed directory is a link to somewhere else.
    let t = debian_tree();
    let root = t.path();
    std::os::unix::fs::symlink(
        outside.path(),
        root.join("usr/local/share/ca-certificates/anchorage"),
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("usr/local/share/ca-certificates/anchorage"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // 2. A parent resolves outside the root.
    let t = debian_tree();
    let root = t.path();
    std::fs::remove_dir(root.join("usr/local/share/ca-certificates")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("usr/local/share/ca-certificates"))
        .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(stderr(&o).contains("is a link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // 3. A planted link where a managed file will be written.
    let t = debian_tree();
    let root = t.path();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::fs::create_dir_all(root.join("usr/local/share/ca-certificates/anchorage")).unwrap();
    std::os::unix::fs::symlink(
        &victim,
        root.join("usr/local/share/ca-certificates/anchorage/evil.crt"),
    )
    .unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--name", "evil"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // 4. ca-certificates.conf is a link.
    let t = debian_tree();
    let root = t.path();
    let fake_conf = outside.path().join("conf");
    std::fs::copy(root.join("etc/ca-certificates.conf"), &fake_conf).unwrap();
    let conf_bytes = std::fs::read(&fake_conf).unwrap();
    std::fs::remove_file(root.join("etc/ca-certificates.conf")).unwrap();
    std::os::unix::fs::symlink(&fake_conf, root.join("etc/ca-certificates.conf")).unwrap();
    let o = run(anchorage(root)
        .args(["install", "--no-update", "--debian-conf"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(std::fs::read(&fake_conf).unwrap(), conf_bytes);
}

struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn read_only_file_system_keeps_the_old_store() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let before = snapshot(root);
    assert!(Command::new("mount")
        .arg("--bind")
        .arg(root)
        .arg(root)
        .status()
        .unwrap()
        .success());
    let _m = Mount(root.to_path_buf());
    assert!(Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(root)
        .status()
        .unwrap()
        .success());
    let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("read-only file system"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&root.display().to_string()),
        "names the path: {}",
        stderr(&o)
    );
    drop(_m);
    assert_eq!(snapshot(root), before);
}

#[test]
fn permission_denied_says_run_as_root() {
    let t = debian_tree();
    let root = t.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(root);
    let o = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .arg("--root")
        .arg(root)
        .args(["install", "--no-update"])
        .arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    // Under --root the hint names the tree, not "use --root" (issue 19 §3).
    assert!(
        stderr(&o).contains("hint: run as root, or as a user who can write the tree"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("use --root"), "{}", stderr(&o));
    assert_eq!(snapshot(root), before);
}

#[test]
fn disk_full_is_reported_and_nothing_half_written() {
    let t = debian_tree();
    let root = t.path();
    report(&run(anchorage(root)
        .args(["install", "--format", "json"])
        .arg(fx("ca3.pem"))));
    let local = root.join("usr/local/share/ca-certificates/anchorage");
    let saved = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&local).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), saved.path().join(e.file_name())).unwrap();
    }
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&local)
        .status()
        .unwrap()
        .success());
    let _m = Mount(local.clone());
    for e in std::fs::read_dir(saved.path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), local.join(e.file_name())).unwrap();
    }
    // Fill the file system.
    let _ = sh(&format!(
        "dd if=/dev/zero of={}/.filler bs=1k count=64 2>/dev/null",
        local.display()
    ));
    let bundle_before = std::fs::read(root.join(DEBIAN_BUNDLE)).unwrap();
    let o = run(anchorage(root).args(["install"]).arg(fx("myNewCa.pem")));
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    assert!(stderr(&o).contains("disk full"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(root.join(DEBIAN_BUNDLE)).unwrap(),
        bundle_before,
        "old bundle intact"
    );
    assert!(!local.join(format!("{CA}.crt")).exists());
    assert!(temporaries(root).is_empty(), "{:?}", temporaries(root));
}
