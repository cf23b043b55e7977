//! Core contract (issue 2): install/remove/sync/list/doctor against temporary Debian trees
//! with the real `update-ca-certificates`, fixtures made with the vendor guides' openssl
//! commands, and the non-Debian layouts with `--no-update`.
//!
//! * `install`: install, its inputs and policy, `--check`, standard input and directories;
//! * `lifecycle`: the `--debian-conf` mode, sync rotation, remove;
//! * `inspect`: list and doctor, the other platforms' layouts, usage errors.

mod inspect;
mod install;
mod lifecycle;
mod messages;

use std::path::Path;

const CA: &str = "myNewCa_Test_Root";

fn local_file(root: &Path, name: &str) -> std::path::PathBuf {
    root.join("usr/local/share/ca-certificates/anchorage")
        .join(format!("{name}.crt"))
}
