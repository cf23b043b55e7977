//! NSS databases (issue 3) with the real certutil from libnss3-tools: the guide-003 BrowserBot
//! steps as `--nssdb`/`--nss-owner`, discovery, idempotency by fingerprint, link safety.
//!
//! * `databases`: the BrowserBot steps, fingerprints over nicknames, odd names, discovery;
//! * `failures`: a planted link, no certutil, a broken database, an unreadable one.

mod databases;
mod failures;

use std::path::Path;
use std::process::Command;

const DB: &str = "/var/lib/te-browserbot/.pki/nssdb";

fn with_users(root: &Path) {
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nbrowserbot:x:4242:4343::/var/lib/te-browserbot:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nbrowserbot:x:4343:\nalice:x:1000:\n",
    )
    .unwrap();
}

fn nicknames(db: &Path) -> Vec<(String, String)> {
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(db);
    let o = Command::new("certutil")
        .arg("-L")
        .arg("-d")
        .arg(&spec)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "certutil -L: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(3)
        .filter_map(|l| {
            l.trim_end()
                .rsplit_once(char::is_whitespace)
                .map(|(n, t)| (n.trim_end().to_string(), t.to_string()))
        })
        .collect()
}

fn certutil_add(db: &Path, nick: &str, cert: &Path) {
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(db);
    let st = Command::new("certutil")
        .args(["-A", "-t", "C,,", "-n", nick, "-i"])
        .arg(cert)
        .arg("-d")
        .arg(&spec)
        .status()
        .unwrap();
    assert!(st.success());
}

fn certutil_create(db: &Path) {
    std::fs::create_dir_all(db).unwrap();
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(db);
    let st = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(&spec)
        .status()
        .unwrap();
    assert!(st.success());
}
