#!/usr/bin/env bash
# Build anchorage's portable release artefacts into target/dist/.
#
# Usage: packaging/build.sh          the CI path (scripts/test.sh): only what the tests inspect
#                                    (packaging/check-packages.sh, packaging/ansible/test.sh):
#                                    the x86_64 glibc-2.17 binary, its .deb and its .rpm
#        packaging/build.sh --all    a release: also the x86_64 musl and aarch64 glibc-2.17
#                                    binaries (and the arm64 .deb / aarch64 .rpm)
#
# What it builds (issue 7, "Portable binary" and "Packages"):
#   target/dist/anchorage-VERSION-x86_64-linux-gnu      glibc >= 2.17: RHEL/CentOS 7+, 8, 9,
#                                                       Debian 10+, Ubuntu 18.04+, SUSE 12+
#   target/dist/anchorage-VERSION-x86_64-linux-musl     --all: static (musl): Alpine and
#                                                       distroless/scratch images (skipped when the
#                                                       musl std target cannot be added)
#   target/dist/anchorage-VERSION-aarch64-linux-gnu     --all: glibc >= 2.17 on arm64 (skipped
#                                                       likewise)
#   target/dist/anchorage_VERSION-1_amd64.deb           cargo-deb, from the portable binary
#   target/dist/anchorage-VERSION-1.x86_64.rpm          cargo-generate-rpm, gzip payload (rpm 4.11 /
#                                                       RHEL 7 cannot read the zstd default)
#   (+ arm64 .deb / aarch64 .rpm when the aarch64 binary was built)
#   target/dist/assets/                                 man page and shell completions, generated
#                                                       by running the built binary
#   target/dist/SHA256SUMS
# Every binary is the release profile (thin LTO, one codegen unit): these are the artefacts that
# ship. The tests' own binaries (cargo test, the rootfs and Ansible tests) use the test profile.
#
# Tools (pinned, installed once, reused on later runs -- nothing is reinstalled when the pinned
# version is already there):
#   zig (PyPI ziglang), cargo-zigbuild (PyPI)   a venv at $TOOLS/zig-venv (prebuilt wheels)
#   cargo-deb, cargo-generate-rpm               `cargo install --locked` into $TOOLS/cargo (no LTO,
#                                               one shared build directory: they are tools)
# where TOOLS=${ANCHORAGE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/anchorage-packaging}: outside
# the work tree on purpose, so that a fresh clone (CI) on the same machine does not pay for the
# installs again. Concurrent runs (two clones on one machine) are safe: installs happen under an
# exclusive flock on $TOOLS/.lock (users hold it shared), and the cross builds, the copy into
# target/dist and the packaging run under an exclusive flock on the cross target directory.
#
# Environment:
#   ANCHORAGE_TOOLS_DIR=DIR      where the tools are installed (default above)
#   ANCHORAGE_DIST_TARGETS="..." which binaries to build (default: the x86_64 glibc one; with
#                                --all all three, optional ones skipped with a message when their
#                                std target cannot be added)
#   ANCHORAGE_REQUIRE_ALL=1      a skipped optional target is an error
#   ANCHORAGE_DIST_TARGET_DIR=DIR  cargo's target directory for these cross builds (default:
#                                target/). Point it outside the work tree (e.g.
#                                ~/.cache/anchorage-packaging/target) so that a fresh clone (CI)
#                                recompiles only anchorage itself, not every dependency; it is
#                                locked (DIR.lock) while in use, so clones can share it.
#
# Exit status: 0 when the required artefacts (x86_64 glibc binary, .deb, .rpm) were built and
# checked; non-zero otherwise.
set -euo pipefail

ALL=0
case "${1:-}" in
--all) ALL=1 ;;
"") ;;
*)
    echo "usage: $0 [--all]" >&2
    exit 2
    ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
GENERATE_RPM_VERSION=0.21.1
ZIGLANG_VERSION=0.14.1
GLIBC_MAX=2.17

TOOLS=${ANCHORAGE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/anchorage-packaging}
DIST=$REPO/target/dist
ASSETS=$DIST/assets
TARGET_DIR=${ANCHORAGE_DIST_TARGET_DIR:-$REPO/target}
export CARGO_TARGET_DIR=$TARGET_DIR # cargo zigbuild and cargo deb; cargo generate-rpm gets --target-dir
if ((ALL)); then
    TARGETS=${ANCHORAGE_DIST_TARGETS:-x86_64-unknown-linux-gnu.2.17 x86_64-unknown-linux-musl aarch64-unknown-linux-gnu.2.17}
else
    TARGETS=${ANCHORAGE_DIST_TARGETS:-x86_64-unknown-linux-gnu.2.17}
fi

START=$SECONDS
log() { printf '== %s (%ss)\n' "$*" "$((SECONDS - START))"; }
die() {
    printf 'build.sh: error: %s\n' "$*" >&2
    exit 1
}
skip() { printf 'build.sh: SKIP: %s\n' "$*" >&2; }

VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
[[ -n $VERSION ]] || die "cannot read the package version from Cargo.toml"

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
mkdir -p "$TOOLS/bin"
export PATH="$TOOLS/bin:$TOOLS/cargo/bin:$PATH"

# cargo_tool CRATE VERSION: install CRATE at exactly VERSION into $TOOLS/cargo unless it is there.
have_cargo_tool() { cargo install --list --root "$TOOLS/cargo" 2>/dev/null | grep -qx "$1 v$2:"; }
cargo_tool() {
    local crate=$1 version=$2
    if have_cargo_tool "$crate" "$version"; then
        echo "$crate $version: already installed"
        return 0
    fi
    log "cargo install $crate $version"
    # Tools, not artefacts: no LTO, parallel codegen (their own release profiles ask for LTO,
    # which costs minutes on a fresh machine). One build directory for both (shared
    # dependencies compile once), removed afterwards; not the project's target directory.
    CARGO_TARGET_DIR=$TOOLS/cargo-build CARGO_PROFILE_RELEASE_LTO=false \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
        cargo install --locked --quiet --root "$TOOLS/cargo" --version "$version" "$crate"
}

zig_stamp() { printf 'ziglang==%s cargo-zigbuild==%s\n' "$ZIGLANG_VERSION" "$ZIGBUILD_VERSION"; }
have_zig() {
    local stamp=$TOOLS/zig-venv/.anchorage-stamp
    [[ -x $TOOLS/bin/zig && -x $TOOLS/bin/cargo-zigbuild && -f $stamp && $(cat "$stamp") == "$(zig_stamp)" ]] &&
        "$TOOLS/bin/zig" version >/dev/null 2>&1 && "$TOOLS/bin/cargo-zigbuild" --version >/dev/null 2>&1
}
ensure_zig() {
    local venv=$TOOLS/zig-venv
    if have_zig; then
        echo "ziglang $ZIGLANG_VERSION, cargo-zigbuild $ZIGBUILD_VERSION: already installed (zig $("$TOOLS/bin/zig" version))"
        return 0
    fi
    log "pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$ZIGBUILD_VERSION (venv $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # cargo-zigbuild's PyPI wheel is the prebuilt binary: no cargo install (minutes) needed.
    "$venv/bin/pip" install --quiet "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
    local zig
    zig=$("$venv/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
    [[ -x $zig ]] || die "ziglang installed but $zig is not executable"
    [[ -x $venv/bin/cargo-zigbuild ]] || die "cargo-zigbuild installed but $venv/bin/cargo-zigbuild is missing"
    ln -sfn "$zig" "$TOOLS/bin/zig"
    ln -sfn "$venv/bin/cargo-zigbuild" "$TOOLS/bin/cargo-zigbuild"
    zig_stamp >"$venv/.anchorage-stamp"
}

have_tools() {
    have_zig && have_cargo_tool cargo-deb "$CARGO_DEB_VERSION" &&
        have_cargo_tool cargo-generate-rpm "$GENERATE_RPM_VERSION"
}

log "tools in $TOOLS"
# Shared lock while the tools are used; exclusive only to install (another clone's run may be
# installing into the same directory: it finishes first, we then find everything in place).
exec 9>"$TOOLS/.lock"
flock -s 9
if ! have_tools; then
    flock -x 9
    ensure_zig
    cargo_tool cargo-deb "$CARGO_DEB_VERSION"
    cargo_tool cargo-generate-rpm "$GENERATE_RPM_VERSION"
    rm -rf "$TOOLS/cargo-build"
    flock -s 9
    have_tools || die "the tools are not complete after installing them"
fi
echo "tools: zig $("$TOOLS/bin/zig" version), $(cargo-zigbuild --version), cargo-deb $CARGO_DEB_VERSION, cargo-generate-rpm $GENERATE_RPM_VERSION"

# ---------------------------------------------------------------------------------------------
# Binaries
# ---------------------------------------------------------------------------------------------
mkdir -p "$DIST" "$ASSETS/completions" "$TARGET_DIR"
# The cross target directory may be shared between clones (ANCHORAGE_DIST_TARGET_DIR): hold it
# exclusively from the build to the packages, which read the binary back from it -- otherwise
# another clone's build could replace target/<triple>/release/anchorage in between.
exec 8>"$TARGET_DIR.lock"
if ! flock -n 8; then
    log "waiting for $TARGET_DIR (another run holds $TARGET_DIR.lock)"
    flock 8
fi
# Only this run's artefacts in target/dist (a target skipped now must not leave an old binary).
rm -f "$DIST"/anchorage-*-linux-* "$DIST"/*.deb "$DIST"/*.rpm "$DIST/SHA256SUMS"

# have_std TRIPLE: the Rust std for TRIPLE is installed, or can be added now.
have_std() {
    local triple=$1
    if rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
        return 0
    fi
    echo "rustup target add $triple"
    local out
    if out=$(RUST_BACKTRACE=0 timeout 300 rustup target add "$triple" 2>&1); then
        return 0
    fi
    printf '%s\n' "$out" | grep -v '^ *$' | head -n 12 | sed 's/^/    rustup: /' >&2
    return 1
}

# max_glibc FILE: the highest GLIBC_x.y symbol version FILE needs (empty when none). objdump -T
# for x86-64 (the host's objdump); readelf, which reads any architecture's ELF, for the others.
max_glibc() {
    local f=$1
    if readelf -h "$f" | grep -q 'Machine:.*X86-64'; then
        objdump -T "$f"
    else
        readelf -W --dyn-syms "$f"
    fi | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n1
}

BUILT=()
for spec in $TARGETS; do
    triple=${spec%.2.*}           # x86_64-unknown-linux-gnu.2.17 -> x86_64-unknown-linux-gnu
    arch=${triple%%-*}            # x86_64 | aarch64
    libc=${triple##*-}            # gnu | musl
    required=0
    [[ $triple == x86_64-unknown-linux-gnu ]] && required=1
    if ! have_std "$triple"; then
        if ((required)) || [[ ${ANCHORAGE_REQUIRE_ALL:-0} == 1 ]]; then
            die "the Rust std for $triple cannot be installed"
        fi
        skip "$spec: the Rust standard library for $triple is not installed and 'rustup target add $triple' failed (see above); no $arch-linux-$libc binary or package"
        continue
    fi
    log "cargo zigbuild --release --target $spec"
    if ! cargo zigbuild --release --locked --quiet --target "$spec"; then
        if ((required)) || [[ ${ANCHORAGE_REQUIRE_ALL:-0} == 1 ]]; then
            die "cargo zigbuild --target $spec failed"
        fi
        skip "$spec: cargo zigbuild failed; no $arch-linux-$libc binary or package"
        continue
    fi
    src=$TARGET_DIR/$triple/release/anchorage
    out=$DIST/anchorage-$VERSION-$arch-linux-$libc
    cp -f "$src" "$out"
    # Checks: no glibc symbol newer than 2.17 (gnu), fully static (musl), runs here (host arch).
    if [[ $libc == gnu ]]; then
        max=$(max_glibc "$out")
        [[ -n $max ]] || die "$out: no GLIBC symbol versions found (not a glibc binary?)"
        if [[ $(printf '%s\n%s\n' "$max" "$GLIBC_MAX" | sort -V | tail -n1) != "$GLIBC_MAX" ]]; then
            die "$out needs GLIBC_$max (> GLIBC_$GLIBC_MAX)"
        fi
        echo "$out: highest glibc symbol version GLIBC_$max (<= $GLIBC_MAX)"
    else
        if readelf -W -l "$out" | grep -q INTERP || readelf -W -d "$out" 2>/dev/null | grep -q NEEDED; then
            die "$out is not a static binary"
        fi
        echo "$out: static (no interpreter, no NEEDED libraries)"
    fi
    if [[ $arch == "$(uname -m)" ]]; then
        "$out" --version || die "$out does not run here"
    else
        echo "$out: $arch binary, not run on $(uname -m)"
    fi
    BUILT+=("$triple")
done

# ---------------------------------------------------------------------------------------------
# Man page and completions (generated by the portable binary itself)
# ---------------------------------------------------------------------------------------------
HOSTBIN=$DIST/anchorage-$VERSION-x86_64-linux-gnu
log "man page and completions from $HOSTBIN"
"$HOSTBIN" man >"$ASSETS/anchorage.1"
gzip -9nf "$ASSETS/anchorage.1"
"$HOSTBIN" completions bash >"$ASSETS/completions/anchorage.bash"
"$HOSTBIN" completions zsh >"$ASSETS/completions/_anchorage"
"$HOSTBIN" completions fish >"$ASSETS/completions/anchorage.fish"
for f in "$ASSETS/anchorage.1.gz" "$ASSETS"/completions/*; do
    [[ -s $f ]] || die "$f is empty"
done

# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------
for triple in "${BUILT[@]}"; do
    [[ $triple == *-gnu ]] || continue # the musl binary is shipped as a plain file only
    log "cargo deb --target $triple"
    cargo deb --no-build --no-strip --target "$triple" --output "$DIST/" >/dev/null
    log "cargo generate-rpm --target $triple"
    cargo generate-rpm --target "$triple" --payload-compress gzip --auto-req builtin --target-dir "$TARGET_DIR" --output "$DIST/"
done
ls "$DIST"/*.deb >/dev/null 2>&1 || die "no .deb was built"
ls "$DIST"/*.rpm >/dev/null 2>&1 || die "no .rpm was built"

sums=$(cd "$DIST" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum)
printf '%s\n' "$sums" >"$DIST/SHA256SUMS"
log "done: $DIST"
find "$DIST" -maxdepth 1 -type f -printf '    %10s  %f\n' | LC_ALL=C sort -k2
