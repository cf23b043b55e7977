//! The integration tests, as one test binary (one link, one fixture set per run): each area is
//! a module. They drive the real binary (`CARGO_BIN_EXE_anchorage`) against temporary `--root`
//! trees with the real `update-ca-certificates`, `certutil` and `openssl`; some need root
//! (mounts, chown, setpriv). Run one area with `cargo test --test it nss::`.
//!
//! * `common`: fixtures (tests/fixtures/make-fixtures.sh), trees, the command, JSON reports;
//! * `cli_help`: each subcommand's `--help`, the man pages, the accepted option orders;
//! * `core`: install/remove/sync/list/doctor on Debian trees and the other layouts;
//! * `exec`: the container start-up step;
//! * `fleet`: issue 17 — metrics (promtool, node_exporter), `--on-change`, `watch`, `exec --watch`;
//! * `nss`: NSS databases with certutil;
//! * `processes`: the tree lock (root-only file, waiting, exit 75), hooks held to their timeout,
//!   killed with anchorage, bounded output, no secrets in children, full disk, exec/env sources;
//! * `properties`: property tests of the decoder;
//! * `safety`: atomicity, kill -9, locking, links, file-system errors, secrets, hooks;
//! * `sandbox`: `scripts/sandbox.sh` (the README's sandbox tree, used by the demo);
//! * `verify`: `anchorage verify` against local TLS servers;
//! * `hostile`: the hostile-input corpus;
//! * `inputs`: certificates OpenSSL cannot load, bundles it would refuse;
//! * `jks`: Java keystores (JKS, JCEKS) made with keytool, and hand-built keystore bytes;
//! * `java`: issue 15 — Java truststores (JKS, PKCS#12) as a store, keytool and a Java TLS client;
//! * `pkcs12`: PKCS#12 variants real tools produce (NULL password, PBES2 PRFs, -nomac, ciphers);
//! * `confinement`: issue 13 — links, FIFOs and `..` planted in a tree never lead a root run
//!   out of it (the host hook, NSS chown, conf mode, a 30 s swap race);
//! * `dirs`: directories holding CRLs, CSRs, keys, OCSP responses and other non-certificates;
//! * `escaping`: certificate text as data (forged lines, hidden PEM blocks, control bytes), names
//!   that shadow a distribution root, `--name` values certutil cannot list back;
//! * `trust_settings`: OpenSSL trust settings (TRUSTED CERTIFICATE), `--nss-owner USER.GROUP`
//!   vs a user name with a dot, the privacy of the `env`/`exec` bundle directory;
//! * `refresh`: issue 18 — the subject hash against `openssl` (Mozilla roots, fixtures,
//!   generated subjects), `--refresh native` trees against the real `update-ca-certificates`.
//! * `elsewhere`: issue 16 — anchors already trusted through files anchorage does not manage,
//!   removing a distribution root, sync over both Debian placements;
//! * `no_system`: issue 16 — `--no-system` as an unprivileged user on their own `~/.pki/nssdb`;
//! * `runtimes`: issue 16 — the environment fallback's rules, real curl/Python/Node.js under
//!   `exec` as an unprivileged user, `doctor --runtimes` (a venv's certifi, Node's version).

mod cli_help;
mod common;
mod confinement;
mod core;
mod dirs;
mod elsewhere;
mod escaping;
mod exec;
mod fleet;
mod hostile;
mod inputs;
mod java;
mod jks;
mod no_system;
mod nss;
mod pkcs12;
mod processes;
mod properties;
mod refresh;
mod runtimes;
mod safety;
mod sandbox;
mod trust_settings;
mod verify;
