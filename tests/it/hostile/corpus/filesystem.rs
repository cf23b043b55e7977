//! Corpus items: sizes over the cap, and the file system: non-UTF-8 names, FIFOs, devices,
//! sockets, symbolic-link loops, long names, directories without a certificate, missing
//! sources (66), good and bad sources together, standard input.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use anchorage::input::MAX_INPUT;

use super::{Corpus, Item, Named, EMPTY_BLOCK};
use crate::hostile::fixtures::Fixtures;
use crate::hostile::{BAD_INPUT, NO_INPUT};

pub fn add(c: &mut Corpus, fx: &Fixtures) {
    let der = fx.get("myNewCa.crt");
    let pem_text = fx.get("myNewCa.pem");

    // --- sizes (sparse: nothing is really written) -------------------------------------------
    let over = c.path("over-64mib-by-one.crt");
    File::create(&over)
        .and_then(|f| f.set_len(MAX_INPUT + 1))
        .expect("sparse file");
    c.push(
        "over-64mib-by-one.crt",
        vec![over.clone().into()],
        BAD_INPUT,
        Named::Exact(over),
    );
    let exact = c.path("exactly-64mib-of-zeros.crt");
    File::create(&exact)
        .and_then(|f| f.set_len(MAX_INPUT))
        .expect("sparse file");
    c.push(
        "exactly-64mib-of-zeros.crt",
        vec![exact.clone().into()],
        BAD_INPUT,
        Named::Exact(exact),
    );
    let big_dir = c.mkdir("dir-with-oversized-file");
    fs::write(big_dir.join("a-valid.pem"), pem_text).expect("write");
    let big = big_dir.join("b-huge.crt");
    File::create(&big)
        .and_then(|f| f.set_len(MAX_INPUT + 1))
        .expect("sparse file");
    c.push(
        "dir-with-oversized-file",
        vec![big_dir.into()],
        BAD_INPUT,
        Named::Exact(big),
    );

    // --- file system: names, special files, links --------------------------------------------
    let odd_dir = c.mkdir("dir-with-non-utf8-name");
    let odd = odd_dir.join(OsStr::from_bytes(b"bad-\xff\xfe-\xc0\x80.crt"));
    fs::write(&odd, &der[..300]).expect("write non-UTF-8 name");
    c.push(
        "non-utf8-file-name-in-dir",
        vec![odd_dir.into()],
        BAD_INPUT,
        Named::Exact(odd),
    );
    let odd_parent = c.mkdir("dir-with-non-utf8-subdir");
    let odd_sub = odd_parent.join(OsStr::from_bytes(b"sub-\xe9t\xe9-latin1"));
    fs::create_dir(&odd_sub).expect("mkdir non-UTF-8 name");
    let odd_child = odd_sub.join("empty-block.pem");
    fs::write(&odd_child, EMPTY_BLOCK).expect("write");
    c.push(
        "non-utf8-dir-name",
        vec![odd_parent.into()],
        BAD_INPUT,
        Named::Exact(odd_child),
    );

    let fifo = c.path("a.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    c.push(
        "fifo",
        vec![fifo.clone().into()],
        BAD_INPUT,
        Named::Exact(fifo.clone()),
    );
    let fifo_dir = c.mkdir("dir-with-only-a-fifo");
    nix::unistd::mkfifo(
        &fifo_dir.join("pipe.pem"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("mkfifo");
    symlink("/dev/zero", fifo_dir.join("zero.pem")).expect("symlink");
    c.push(
        "dir-with-only-a-fifo-and-dev-zero",
        vec![fifo_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(fifo_dir),
    );
    for dev in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        c.push(dev, vec![dev.into()], BAD_INPUT, Named::Exact(dev.into()));
    }
    let zero_link = c.path("dev-zero-link.crt");
    symlink("/dev/zero", &zero_link).expect("symlink");
    c.push(
        "symlink-to-dev-zero",
        vec![zero_link.clone().into()],
        BAD_INPUT,
        Named::Exact(zero_link),
    );
    let sock = c.path("a.sock");
    std::os::unix::net::UnixListener::bind(&sock).expect("bind socket");
    c.push(
        "unix-socket",
        vec![sock.clone().into()],
        BAD_INPUT,
        Named::Exact(sock),
    );

    // Directory loops through symbolic links.
    let loop_inner = c.mkdir("loop-parent/inner");
    symlink("..", loop_inner.join("loop")).expect("symlink");
    fs::write(loop_inner.join("z-corrupt.crt"), &der[..500]).expect("write");
    c.push(
        "dir-loop-to-parent",
        vec![loop_inner.clone().into()],
        BAD_INPUT,
        Named::Under(loop_inner),
    );
    let loop_self = c.mkdir("loop-self");
    fs::write(loop_self.join("a-corrupt.crt"), &der[..500]).expect("write");
    symlink(".", loop_self.join("self")).expect("symlink");
    c.push(
        "dir-loop-self-corrupt-first",
        vec![loop_self.clone().into()],
        BAD_INPUT,
        Named::Under(loop_self),
    );
    let loop_valid = c.mkdir("loop-self-with-valid-cert");
    symlink(".", loop_valid.join("self")).expect("symlink");
    fs::write(loop_valid.join("z-valid.pem"), pem_text).expect("write");
    c.push(
        "dir-loop-self-with-valid-cert",
        vec![loop_valid.clone().into()],
        BAD_INPUT,
        Named::Under(loop_valid),
    );
    let link_loop_dir = c.mkdir("file-link-loop");
    fs::write(link_loop_dir.join("a-valid.pem"), pem_text).expect("write");
    symlink("b-loop", link_loop_dir.join("b-loop")).expect("symlink");
    let looped = link_loop_dir.join("b-loop");
    c.push(
        "dir-with-self-referencing-link",
        vec![link_loop_dir.into()],
        BAD_INPUT,
        Named::Exact(looped),
    );
    let self_link = c.path("self-link.crt");
    symlink("self-link.crt", &self_link).expect("symlink");
    c.push(
        "self-referencing-link",
        vec![self_link.clone().into()],
        BAD_INPUT,
        Named::Exact(self_link),
    );
    let (ping, pong) = (c.path("ping.crt"), c.path("pong.crt"));
    symlink("pong.crt", &ping).expect("symlink");
    symlink("ping.crt", &pong).expect("symlink");
    c.push(
        "two-link-loop",
        vec![ping.clone().into()],
        BAD_INPUT,
        Named::Exact(ping),
    );

    let long = c.path("x".repeat(300));
    c.push(
        "name-too-long",
        vec![long.clone().into()],
        BAD_INPUT,
        Named::Exact(long),
    );
    let empty_dir = c.mkdir("empty-dir");
    c.push(
        "empty-dir",
        vec![empty_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(empty_dir),
    );
    let junk_dir = c.mkdir("dir-with-only-junk");
    fs::write(junk_dir.join("garbage.bin"), fx.get("garbage.bin")).expect("write");
    fs::write(junk_dir.join("key.pem"), fx.get("key-only.pem")).expect("write");
    fs::write(junk_dir.join("readme.txt"), fx.get("readme.txt")).expect("write");
    c.push(
        "dir-with-only-junk",
        vec![junk_dir.clone().into()],
        BAD_INPUT,
        Named::Exact(junk_dir),
    );
    let mixed_dir = c.mkdir("dir-valid-and-corrupt");
    fs::write(mixed_dir.join("a-valid.pem"), pem_text).expect("write");
    let corrupt = mixed_dir.join("b-corrupt.crt");
    fs::write(&corrupt, &der[..600]).expect("write");
    c.push(
        "dir-valid-and-corrupt",
        vec![mixed_dir.into()],
        BAD_INPUT,
        Named::Exact(corrupt),
    );

    // Missing sources (66).
    let missing = c.path("does-not-exist.crt");
    c.push(
        "missing",
        vec![missing.clone().into()],
        NO_INPUT,
        Named::Exact(missing.clone()),
    );
    let dangling = c.path("dangling.crt");
    symlink("nowhere.crt", &dangling).expect("symlink");
    c.push(
        "dangling-symlink",
        vec![dangling.clone().into()],
        NO_INPUT,
        Named::Exact(dangling),
    );
    let through_file = c.path("garbage.bin").join("child.crt");
    c.push(
        "path-through-a-file",
        vec![through_file.clone().into()],
        NO_INPUT,
        Named::Exact(through_file),
    );

    // Good and bad sources together: nothing is installed.
    let valid = c.path("valid.pem");
    fs::write(&valid, pem_text).expect("write");
    let bad = c.path("truncated-der-at-0512.crt");
    c.push(
        "valid-then-bad",
        vec![valid.clone().into(), bad.clone().into()],
        BAD_INPUT,
        Named::Exact(bad.clone()),
    );
    c.push(
        "bad-then-valid",
        vec![bad.clone().into(), valid.clone().into()],
        BAD_INPUT,
        Named::Exact(bad),
    );
    c.push(
        "valid-then-missing",
        vec![valid.into(), missing.clone().into()],
        NO_INPUT,
        Named::Exact(missing),
    );

    // Standard input.
    let dash = PathBuf::from("-");
    c.items.push(Item {
        name: "stdin-dev-zero".into(),
        args: vec!["-".into()],
        stdin: Some("/dev/zero".into()),
        expect: BAD_INPUT,
        named: Named::Exact(dash.clone()),
    });
    c.items.push(Item {
        name: "stdin-garbage".into(),
        args: vec!["-".into()],
        stdin: Some(c.path("garbage.bin")),
        expect: BAD_INPUT,
        named: Named::Exact(dash.clone()),
    });
    c.items.push(Item {
        name: "stdin-empty".into(),
        args: vec!["-".into()],
        stdin: None,
        expect: BAD_INPUT,
        named: Named::Exact(dash),
    });
}
