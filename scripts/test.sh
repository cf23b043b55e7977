#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run runs exactly this). As root on Debian 12
# with the packages .ci/run installs: the Rust tests drive the real update-ca-certificates,
# certutil and openssl on temporary --root trees (some need root: mounts, chown, setpriv);
# then the container examples are linted and the real-rootfs tests run (debootstrap, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

# This machine sets these globally; the tests decide them per case.
unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --all-targets
echo "== container examples"
bash container/lint.sh
echo "== real rootfs (debootstrap)"
cargo build --release --quiet
export ANCHORAGE_BIN="$PWD/target/release/anchorage"
bash tests/rootfs.sh
bash tests/rootfs-p11kit.sh
echo "== packaging: portable binaries (glibc 2.17, musl, aarch64), .deb, .rpm"
# Cross builds and the pinned tools (cargo-zigbuild, cargo-deb, cargo-generate-rpm, ziglang) are
# cached outside the work tree: the first run on a machine takes ~15 minutes, later ones ~2.
export ANCHORAGE_DIST_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/anchorage-packaging/target"
bash packaging/build.sh
bash packaging/check-packages.sh
echo "== packaging: Ansible role and module (ansible-core from PyPI, ansible-lint)"
bash packaging/ansible/test.sh
echo "== shellcheck"
shellcheck -x scripts/*.sh tests/*.sh container/lint.sh packaging/build.sh packaging/check-packages.sh \
  packaging/install.sh packaging/ansible/test.sh
