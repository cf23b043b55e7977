# shellcheck shell=bash
# Prerequisite checks shared by the scripts (sourced, not run), for a fresh Debian 12 machine:
#
#   need_rust        cargo on PATH (or in ~/.cargo/env, which is then sourced) and at least the
#                    rust-version of Cargo.toml; otherwise print the rustup commands and exit 69
#   need_debs PKG…   the Debian packages are installed; the missing ones are installed with
#                    `apt-get install -y` when running as root, otherwise the exact command is
#                    printed and the shell exits 69
#
# 69 is EX_UNAVAILABLE (sysexits.h), the code anchorage itself uses for a missing program.
# Messages go to stderr, prefixed `prereq:`. Example (.ci/run, scripts/demo.sh):
#   source scripts/prereq.sh
#   need_rust
#   need_debs build-essential openssl curl ca-certificates

PREREQ_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

prereq_say() { printf 'prereq: %s\n' "$*" >&2; }

# The minimum toolchain: `rust-version` in Cargo.toml.
prereq_rust_version() {
    sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$PREREQ_REPO/Cargo.toml" | head -1
}

# prereq_version_ge HAVE WANT: HAVE >= WANT (dotted numbers; "1.95.0" >= "1.89").
prereq_version_ge() {
    printf '%s\n%s\n' "$2" "$1" | sort -V -C
}

need_rust() {
    local want have=""
    want=$(prereq_rust_version)
    want=${want:-1.89}
    # rustup's installer puts cargo in ~/.cargo/bin; a shell started before it ran lacks it.
    if ! command -v cargo >/dev/null 2>&1 && [[ -r ${HOME:-/nonexistent}/.cargo/env ]]; then
        # shellcheck source=/dev/null
        . "$HOME/.cargo/env"
        command -v cargo >/dev/null 2>&1 && prereq_say "using $(command -v cargo) (sourced \$HOME/.cargo/env)"
    fi
    if command -v cargo >/dev/null 2>&1; then
        have=$(cargo --version 2>/dev/null | awk '{ print $2 }')
    fi
    if [[ -n $have ]] && prereq_version_ge "${have%%-*}" "$want"; then
        return 0
    fi
    if [[ -z $have ]]; then
        prereq_say "a Rust toolchain >= $want is needed to build anchorage, and cargo was not found."
    else
        prereq_say "a Rust toolchain >= $want is needed to build anchorage; $(command -v cargo) is $have."
    fi
    if [[ -n $have ]] && command -v rustup >/dev/null 2>&1; then
        prereq_say "Update it with rustup, then run this again:"
        printf '    rustup update stable && rustup default stable\n' >&2
    else
        prereq_say "Install one with rustup (https://rustup.rs), then run this again:"
        if ! command -v curl >/dev/null 2>&1; then
            printf '    apt-get install -y curl ca-certificates\n' >&2
        fi
        # shellcheck disable=SC2016  # printed for the user to run, unexpanded
        printf '%s\n' \
            "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain stable" \
            '    . "$HOME/.cargo/env"' >&2
    fi
    exit 69
}

need_debs() {
    local missing=() p
    if ! command -v dpkg-query >/dev/null 2>&1; then
        prereq_say "not a Debian system (no dpkg-query): cannot check for $*; continuing"
        return 0
    fi
    for p in "$@"; do
        # shellcheck disable=SC2016  # ${db:Status-Abbrev} is dpkg-query's format
        [[ $(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        prereq_say "missing Debian packages: ${missing[*]}. Install them as root, then run this again:"
        printf '    apt-get install -y %s\n' "${missing[*]}" >&2
        exit 69
    fi
    prereq_say "installing missing Debian packages: apt-get install -y ${missing[*]}"
    # A fresh machine or image may have no package lists yet: update once and retry.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; then
        prereq_say "apt-get install failed; running apt-get update and retrying"
        if ! { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }; then
            prereq_say "could not install ${missing[*]}; fix apt, then run: apt-get install -y ${missing[*]}"
            exit 69
        fi
    fi
}
