#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run runs exactly this). As root on Debian 12
# with the packages .ci/run installs: the Rust tests drive the real update-ca-certificates,
# certutil and openssl on temporary --root trees (some need root: mounts, chown, setpriv);
# then the container examples are linted and the real-rootfs tests run (debootstrap, cached),
# with the fleet tests (Kubernetes node mode, systemd units, Docker when an engine answers).
#
# One build profile for the tests: the test profile of `cargo test` (no LTO). The real-rootfs and
# Ansible tests use that same binary (target/debug/anchorage). Only the portable artefact that
# the packaging checks inspect (x86_64 glibc 2.17, its .deb and .rpm) is a release (LTO) build;
# the musl and aarch64 cross builds are the release path, `packaging/build.sh --all`, not run here.
# Each phase prints its duration; a summary follows at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

# This machine sets these globally; the tests decide them per case.
unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR || true

TIMES=()
T0=$SECONDS
PHASE="" PHASE_START=$SECONDS
phase() { # phase NAME: end the current phase (print its time), start NAME
    local now=$SECONDS
    if [[ -n $PHASE ]]; then
        printf '== %s: %ss\n' "$PHASE" "$((now - PHASE_START))"
        TIMES+=("$(printf '%6ss  %s' "$((now - PHASE_START))" "$PHASE")")
    fi
    PHASE=$1 PHASE_START=$now
    [[ -n $PHASE ]] && echo "== $PHASE"
    return 0
}

phase "cargo fmt --check"
cargo fmt --all -- --check
phase "cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
phase "cargo test"
cargo test --all-targets
phase "container examples"
bash container/lint.sh
phase "real rootfs (debootstrap)"
# The binary cargo test just built (test profile); `cargo build` only links it if needed.
cargo build --quiet --bin anchorage
export ANCHORAGE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/anchorage"
bash tests/rootfs.sh
bash tests/rootfs-p11kit.sh
bash tests/rootfs-runtimes.sh
bash tests/rootfs-java.sh
bash tests/kubernetes-node.sh # issue 17: the DaemonSet's command on the rootfs as a node
bash tests/systemd.sh         # issue 17: systemd-analyze verify + the units' commands
bash tests/docker.sh          # issue 17: a real Docker engine (prints SKIP when `docker info` fails)
phase "packaging: portable x86_64 glibc-2.17 binary (release), .deb, .rpm"
# The pinned tools and the cross builds' dependencies are cached outside the work tree (both
# locked while in use, so clones on one machine can share them): a fresh machine installs the
# tools once (a few minutes), later runs and fresh clones only rebuild anchorage itself.
export ANCHORAGE_DIST_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/anchorage-packaging/target"
bash packaging/build.sh
phase "packaging: check the artefacts, dpkg -i in a chroot"
bash packaging/check-packages.sh
phase "packaging: Ansible role and module (ansible-core from PyPI, ansible-lint)"
bash packaging/ansible/test.sh
phase "shellcheck"
shellcheck -x scripts/*.sh tests/*.sh container/lint.sh packaging/build.sh packaging/check-packages.sh \
  packaging/install.sh packaging/ansible/test.sh .ci/run
phase ""
echo "== times"
printf '%s\n' "${TIMES[@]}"
printf '%6ss  total (scripts/test.sh)\n' "$((SECONDS - T0))"
