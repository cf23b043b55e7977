#!/usr/bin/env bash
# End-to-end test of `anchorage exec` inside a real Debian bookworm system.
#
# Usage: tests/rootfs.sh              (as root; CI runs it as root)
#        tests/rootfs.sh --cache-only [base|runtimes]
#                                     (only build/check the cached tree; prints CACHE=DIR)
#   base      the minimal tree these scenarios use (ca-certificates, NSS tools, openssl, curl,
#             p11-kit);
#   runtimes  base + the agents' runtimes: a headless JRE with Debian's ca-certificates-java
#             hook, python3-requests/certifi, Node.js and gnutls-bin (the Java and runtime
#             scenarios; a separate cache so the base scenarios stay small to copy).
#
# What it does:
#   * builds a minimal Debian rootfs with debootstrap (cached between runs of the same
#     machine under $ANCHORAGE_ROOTFS_CACHE, default /var/cache/anchorage-rootfs/<key>),
#   * copies the cache to a fresh working copy (`cp -a`) per scenario, puts the release
#     binary in at /usr/local/bin/anchorage,
#   * runs `openssl s_server` on 127.0.0.1 (loopback only) with server certificates signed
#     by the guide-000 style CA (tests/fixtures/make-fixtures.sh),
#   * proves with `chroot` that the vendor recipe (CA as .pem under
#     /usr/local/share/ca-certificates/custom + update-ca-certificates) leaves curl failing,
#     and that `anchorage exec` fixes it: as root (system store), as an unprivileged user
#     (environment bundle), across restarts (no hook), across CA rotation, and with the
#     Kubernetes ConfigMap volume layout (`..data` symlinks) of container/kubernetes.yaml.
# Mounts nothing: the chroot has debootstrap's static /dev nodes and no /proc.
#
# Output: `ok N - …` / `not ok N - …` per check, then `N passed, M failed`; exit 1 if any
# check failed. When the package mirror cannot be reached (or not run as root) it prints
# `SKIP: …` and exits 0 -- unless ANCHORAGE_ROOTFS_REQUIRED=1, then that is a failure.
#
# Environment:
#   ANCHORAGE_ROOTFS_REQUIRED=1   a skip is a failure (CI machines that must run it)
#   ANCHORAGE_ROOTFS_CACHE=DIR    cache directory (default /var/cache/anchorage-rootfs)
#   ANCHORAGE_ROOTFS_MIRROR=URL   Debian mirror (default: from the machine's apt sources)
#   ANCHORAGE_BIN=FILE            binary to test (default target/release/anchorage; built only
#                                 if missing -- run `cargo build --release` first in CI)
#   ANCHORAGE_ROOTFS_KEEP=1       keep the working copies (path printed) for debugging
set -uo pipefail

CACHE_ONLY=0 FLAVOUR=base
case "${1:-}" in
--cache-only) # build/check the cache, print CACHE=DIR (tests/rootfs-p11kit.sh and others)
    CACHE_ONLY=1 FLAVOUR=${2:-base}
    ;;
"") ;;
*)
    echo "usage: $0 [--cache-only [base|runtimes]]" >&2
    exit 2
    ;;
esac
case $FLAVOUR in
base | runtimes) ;;
*)
    echo "usage: $0 [--cache-only [base|runtimes]] (unknown flavour '$FLAVOUR')" >&2
    exit 2
    ;;
esac

# This machine (and many CI images) set these globally; they would leak into the chroot
# and into our own host-side probes.
unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR
unset ANCHORAGE_SOURCES ANCHORAGE_BUNDLE_DIR ANCHORAGE_ON_ERROR ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
SUITE=bookworm
INCLUDE=ca-certificates,libnss3-tools,openssl,curl,p11-kit
if [[ $FLAVOUR == runtimes ]]; then
    INCLUDE+=,openjdk-17-jre-headless,ca-certificates-java,python3-requests,python3-certifi,nodejs,gnutls-bin
fi
# The cache key changes whenever the package list changes (or the layout version below).
CACHE_LAYOUT=1
CACHE_KEY="$SUITE-$(printf '%s|%s' "$INCLUDE" "$CACHE_LAYOUT" | sha256sum | cut -c1-12)"
CACHE_BASE=${ANCHORAGE_ROOTFS_CACHE:-/var/cache/anchorage-rootfs}
CACHE="$CACHE_BASE/$CACHE_KEY"
CUSTOM=/usr/local/share/ca-certificates/custom
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

WORK=""
SERVER_PIDS=()

skip() {
    if [[ ${ANCHORAGE_ROOTFS_REQUIRED:-} == 1 ]]; then
        not_ok "rootfs test could not run: $* (ANCHORAGE_ROOTFS_REQUIRED=1)"
        finish
    fi
    echo "SKIP: $* -- this is a skip, not a pass (set ANCHORAGE_ROOTFS_REQUIRED=1 to make it fail)"
    exit 0
}

# Mount points at or below $1 (from the kernel's view).
mounts_under() {
    awk -v p="$1" '{ gsub(/\\040/, " ", $5); if ($5 == p || index($5, p "/") == 1) print $5 }' /proc/self/mountinfo
}

# rm -rf for our own directories only: the path must be a directory strictly inside $2
# (the temp dir or the cache base) and have no mounts below it.
safe_rm() {
    local path=$1 base=$2
    [[ -n $path && -n $base && $path == "$base"/?* && $path != */../* && $path != */.. && -d $path && ! -L $path ]] || {
        log "refusing to remove '$path' (not a directory inside '$base')"
        return 1
    }
    local m
    while read -r m; do
        [[ -n $m ]] && umount -l "$m" 2>/dev/null
    done < <(mounts_under "$path" | sort -r)
    if [[ -n $(mounts_under "$path") ]]; then
        log "refusing to remove '$path': still has mounts below it"
        return 1
    fi
    rm -rf --one-file-system -- "$path"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    [[ -n $WORK ]] && rmdir "$WORK" 2>/dev/null # nothing in it (--cache-only, early skip)
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ ${ANCHORAGE_ROOTFS_KEEP:-} == 1 ]]; then
            log "kept working copies in $WORK"
        else
            safe_rm "$WORK" "$TMPBASE"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
# Preconditions
[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, chroot)"
for tool in openssl python3 chroot sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || skip "host tool '$tool' not found"
done

TMPBASE=$(cd "${TMPDIR:-/tmp}" && pwd -P)
WORK=$(mktemp -d "$TMPBASE/anchorage-rootfs.XXXXXX") || skip "cannot create a temp dir under $TMPBASE"
chmod 755 "$WORK"

# ---------------------------------------------------------------------------------------
# The cached rootfs
mirror() {
    local m=${ANCHORAGE_ROOTFS_MIRROR:-}
    if [[ -z $m && -r /etc/apt/sources.list.d/debian.sources ]]; then
        m=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources | head -1)
    fi
    if [[ -z $m && -r /etc/apt/sources.list ]]; then
        m=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit } $1 == "deb" && $2 ~ /^\[/ { print $3; exit }' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

mirror_reachable() {
    local url="${1%/}/dists/$SUITE/Release"
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 30 -o /dev/null "$url" 2>/dev/null
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=30).read()' "$url" 2>/dev/null
    fi
}

build_cache() {
    local mirror build rc t0
    mirror=$(mirror)
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        if ! { apt-get install -y debootstrap >"$WORK/apt.log" 2>&1 ||
            { apt-get update >>"$WORK/apt.log" 2>&1 && apt-get install -y debootstrap >>"$WORK/apt.log" 2>&1; }; }; then
            tail -5 "$WORK/apt.log" | sed 's/^/#   /'
            skip "debootstrap is not installed and cannot be installed (apt-get install -y debootstrap failed)"
        fi
    fi
    mirror_reachable "$mirror" || skip "Debian mirror $mirror is not reachable (dists/$SUITE/Release)"
    mkdir -p "$CACHE_BASE"
    build=$(mktemp -d "$CACHE_BASE/.build.XXXXXX") || skip "cannot create a build dir under $CACHE_BASE"
    log "debootstrap --variant=minbase --include=$INCLUDE $SUITE (mirror $mirror) -> $CACHE"
    t0=$SECONDS
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$build/tree" "$mirror" >"$WORK/debootstrap.log" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -15 "$WORK/debootstrap.log" | sed 's/^/#   /'
        cp "$build/tree/debootstrap/debootstrap.log" "$WORK/debootstrap-inner.log" 2>/dev/null
        safe_rm "$build" "$CACHE_BASE"
        mirror_reachable "$mirror" || skip "Debian mirror $mirror became unreachable during debootstrap"
        not_ok "debootstrap $SUITE (exit $rc)" "$WORK/debootstrap-inner.log"
        finish
    fi
    if [[ -n $(mounts_under "$build") ]]; then
        not_ok "debootstrap left mounts below $build" "$(mounts_under "$build")"
        finish
    fi
    # Complete: publish by rename (same file system), so a half-built tree is never used.
    mv -T "$build/tree" "$CACHE" && rmdir "$build"
    log "debootstrap took $((SECONDS - t0))s; cached at $CACHE ($(du -sh "$CACHE" | cut -f1))"
}

{
    # Serialise concurrent runs on the same machine while the cache is built.
    mkdir -p "$CACHE_BASE"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$CACHE_BASE/.lock"
        flock 9
    fi
    if [[ -d $CACHE ]]; then
        log "using cached rootfs $CACHE"
    else
        build_cache
    fi
    if [[ -n $(mounts_under "$CACHE") ]]; then
        not_ok "cached rootfs $CACHE has mounts below it" "$(mounts_under "$CACHE")"
        finish
    fi
    # Built: other runs may copy it concurrently (shared lock until we exit).
    command -v flock >/dev/null 2>&1 && flock -s 9
}

if [[ $CACHE_ONLY == 1 ]]; then
    echo "CACHE=$CACHE"
    exit 0
fi

# The binary: the release build (glibc; the host is Debian too).
BIN=${ANCHORAGE_BIN:-$REPO/target/release/anchorage}
if [[ ! -x $BIN ]]; then
    log "building $BIN (cargo build --release)"
    (cd "$REPO" && cargo build --release --quiet) || {
        not_ok "cargo build --release"
        finish
    }
fi

# Fixtures: guide-000 CA + server certificates.
FX="$WORK/fx"
if ! "$REPO/tests/fixtures/make-fixtures.sh" "$FX" >"$WORK/fixtures.log" 2>&1; then
    not_ok "generate fixtures (tests/fixtures/make-fixtures.sh)" "$WORK/fixtures.log"
    finish
fi


# A fresh working copy of the cached tree with the binary in it; prints its path.
fresh_tree() {
    local dir="$WORK/$1"
    cp -a "$CACHE" "$dir" || return 1
    # Loopback only, no device bind mounts: the cache has debootstrap's static /dev nodes;
    # make sure /dev/null is there (mknod in the copy, never a bind mount).
    if [[ ! -c $dir/dev/null ]]; then
        rm -f "$dir/dev/null"
        mknod -m 666 "$dir/dev/null" c 1 3 || return 1
    fi
    install -m 755 "$BIN" "$dir/usr/local/bin/anchorage" || return 1
    install -d -m 755 "$dir$CUSTOM" || return 1
    echo "$dir"
}

# Run a command inside a tree with a clean, fixed environment: in_root TREE [chroot opts] -- CMD...
in_root() {
    local tree=$1
    shift
    local opts=()
    while [[ $# -gt 0 && $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    shift
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb chroot "${opts[@]}" "$tree" "$@"
}

# Like in_root, as nobody:nogroup (65534), like a container started with `--user 65534`.
as_nobody() {
    local tree=$1
    shift
    env -i PATH="$CHROOT_PATH" HOME=/nonexistent LANG=C.UTF-8 TERM=dumb chroot --userspec=65534:65534 --groups=65534 "$tree" "$@"
}

# start_server NAME CERT KEY: openssl s_server on 127.0.0.1:<free port>; sets PORT_<NAME>.
start_server() {
    local name=$1 cert=$2 key=$3 port pid
    for _ in 1 2 3 4 5; do
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        openssl s_server -accept "127.0.0.1:$port" -cert "$cert" -key "$key" -www -quiet \
            </dev/null >"$WORK/server-$name.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 50); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
                SERVER_PIDS+=("$pid")
                printf -v "PORT_$name" '%s' "$port"
                printf -v "PID_$name" '%s' "$pid"
                log "s_server $name on 127.0.0.1:$port ($(basename "$cert"))"
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    return 1
}

stop_server() {
    local var="PID_$1"
    local pid=${!var:-}
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    printf -v "PID_$1" '%s' ""
}

# json_check FILE EXPR: evaluate a Python expression over the JSON report `r` in FILE
# (stderr of `anchorage --format json exec`; the JSON object is the first thing in it).
json_check() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
start = text.find("{")
if start < 0:
    sys.exit("no JSON object on stderr")
r, _ = json.JSONDecoder().raw_decode(text[start:])
sys.exit(0 if eval(sys.argv[2], {"r": r}) else 1)
EOF
}

sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

CURL=(curl -sS --max-time 20)
OUT="$WORK/out"
ERR="$WORK/err"

# ---------------------------------------------------------------------------------------
start_server one "$FX/tls.pem" "$FX/tls.key.pem" || {
    not_ok "start openssl s_server with tls.pem" "$WORK/server-one.log"
    finish
}
# shellcheck disable=SC2154  # PORT_one/PORT_two are set by start_server (printf -v)
URL1="https://127.0.0.1:$PORT_one/"

T1=$(fresh_tree root1) || {
    not_ok "fresh working copy of $CACHE"
    finish
}

# 1. The vendor's recipe does not work on Debian --------------------------------------
in_root "$T1" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 60 ]]; then
    ok "before: curl $URL1 inside the rootfs fails (exit 60, CA not trusted)"
else
    not_ok "before: curl inside the rootfs should fail with exit 60, got $rc" "$ERR"
fi

cp "$FX/myNewCa.pem" "$T1$CUSTOM/myNewCa.pem" && chmod 644 "$T1$CUSTOM/myNewCa.pem"
in_root "$T1" -- update-ca-certificates >"$WORK/uca.log" 2>&1
uca=$?
in_root "$T1" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $uca -eq 0 && $rc -eq 60 ]]; then
    ok "vendor recipe: custom/myNewCa.pem + update-ca-certificates leaves curl failing (exit 60; *.crt only)"
else
    not_ok "vendor recipe: expected update-ca-certificates 0 and curl 60, got $uca and $rc" "$WORK/uca.log" "$ERR"
fi

# 2. anchorage exec as root: system store ------------------------------------------------
in_root "$T1" -- anchorage --format json exec "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$ERR" 'r["changed"] is True and r["hook"] is not None and r["hook"]["ran"]'; then
    ok "anchorage exec $CUSTOM -- curl succeeds (changed, hook ran)"
else
    not_ok "anchorage exec $CUSTOM -- curl: exit $rc (want 0, changed, hook ran)" "$ERR"
fi

in_root "$T1" -- anchorage exec "$CUSTOM" -- sh -c 'exit 42' >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 42 ]]; then
    ok "exit code of PROGRAM passes through (sh -c 'exit 42' -> 42)"
else
    not_ok "exit code of PROGRAM: want 42, got $rc" "$ERR"
fi

# The restart uses container/Dockerfile.debian's form: ENV ANCHORAGE_SOURCES and
# ENTRYPOINT ["anchorage", "exec", "--"] (the format through ANCHORAGE_FORMAT).
in_root "$T1" -- env ANCHORAGE_SOURCES="$CUSTOM" ANCHORAGE_FORMAT=json anchorage exec -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$ERR" 'r["hook"] is None and r["changed"] is False'; then
    ok "second start (ANCHORAGE_SOURCES + exec --, as in Dockerfile.debian): curl succeeds, nothing changed, hook not run (\"hook\": null)"
else
    not_ok "second start: exit $rc, want 0 with \"changed\": false and \"hook\": null" "$ERR"
fi

# A plain curl (no anchorage in front) now trusts the CA too: it is in the system store.
in_root "$T1" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]]; then
    ok "system store: plain curl inside the rootfs succeeds after anchorage exec"
else
    not_ok "system store: plain curl after anchorage exec: exit $rc" "$ERR"
fi

# 2b. Native refresh (issue 18): a first start with --refresh native, then the image's own
# update-ca-certificates finds nothing to do and changes nothing -----------------------------
if TN=$(fresh_tree native) && cp "$FX/myNewCa.pem" "$TN$CUSTOM/myNewCa.pem" && chmod 644 "$TN$CUSTOM/myNewCa.pem"; then
    in_root "$TN" -- anchorage --format json exec --refresh native "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
    rc=$?
    if [[ $rc -eq 0 ]] && json_check "$ERR" 'r["hook"]["command"] == ["anchorage", "native-refresh"] and r["hook"]["ran"]'; then
        ok "exec --refresh native first start: curl succeeds, hook reported as anchorage native-refresh"
    else
        not_ok "exec --refresh native: exit $rc (want 0 and the native-refresh hook)" "$ERR"
    fi
    listing() { (cd "$TN/etc/ssl/certs" && find . -printf '%p %y %m %U:%G %l\n' | sort && sha256sum ca-certificates.crt); }
    before=$(listing)
    in_root "$TN" -- update-ca-certificates >"$WORK/uca-native.log" 2>&1
    uca=$?
    after=$(listing)
    if [[ $uca -eq 0 ]] && grep -q '^0 added, 0 removed; done.' "$WORK/uca-native.log" && [[ $before == "$after" ]]; then
        ok "after native refresh the image's update-ca-certificates reports 0 added, 0 removed and changes nothing"
    else
        not_ok "update-ca-certificates after native refresh: exit $uca, or it changed /etc/ssl/certs" "$WORK/uca-native.log"
    fi
else
    not_ok "fresh working copy of $CACHE (native)"
fi

# 3. Unprivileged start on a fresh tree: environment bundle ------------------------------
T2=$(fresh_tree nobody) || {
    not_ok "fresh working copy of $CACHE (unprivileged)"
    finish
}
cp "$FX/myNewCa.pem" "$T2$CUSTOM/myNewCa.pem" && chmod 644 "$T2$CUSTOM/myNewCa.pem"
SYS_BUNDLE=/etc/ssl/certs/ca-certificates.crt
before=$(sha "$T2$SYS_BUNDLE")
ls -la --time-style=+ "$T2/etc/ssl/certs" "$T2/usr/local/share/ca-certificates" >"$WORK/store-before" 2>&1

as_nobody "$T2" anchorage exec "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
notices=$(grep -c '^anchorage: system trust store not writable' "$ERR")
if [[ $rc -eq 0 && $notices -eq 1 ]]; then
    ok "unprivileged (65534): anchorage exec -- curl succeeds via the environment bundle (one notice line)"
else
    not_ok "unprivileged: anchorage exec -- curl: exit $rc, $notices notice line(s) (want 0 and 1)" "$ERR"
fi

as_nobody "$T2" anchorage exec "$CUSTOM" -- sh -c "openssl s_client -connect 127.0.0.1:$PORT_one -verify_return_error </dev/null" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && grep -q 'Verify return code: 0 (ok)' "$OUT"; then
    ok "unprivileged: anchorage exec -- openssl s_client -verify_return_error succeeds (SSL_CERT_FILE)"
else
    not_ok "unprivileged: openssl s_client: exit $rc" "$ERR" "$(grep -i 'verify' "$OUT" | head -3)"
fi

# shellcheck disable=SC2016  # expanded by the shell inside the rootfs
as_nobody "$T2" anchorage exec "$CUSTOM" -- sh -c 'echo "$SSL_CERT_FILE|$CURL_CA_BUNDLE|$REQUESTS_CA_BUNDLE|$NODE_EXTRA_CA_CERTS|$GIT_SSL_CAINFO"; stat -c %a "$(dirname "$SSL_CERT_FILE")"' >"$OUT" 2>"$ERR"
rc=$?
vars=$(head -1 "$OUT")
mode=$(sed -n 2p "$OUT")
IFS='|' read -r v1 v2 v3 v4 v5 <<<"$vars"
if [[ $rc -eq 0 && $v1 == /tmp/anchorage-*/anchorage-ca-bundle.pem && $v1 == "$v2" && $v1 == "$v3" && $v1 == "$v4" && $v1 == "$v5" && $mode == 700 ]]; then
    ok "unprivileged: the five variables point at one bundle in a private 0700 dir ($v1)"
else
    not_ok "unprivileged: variables/bundle dir unexpected (exit $rc)" "vars: $vars" "dir mode: $mode" "$ERR"
fi

ls -la --time-style=+ "$T2/etc/ssl/certs" "$T2/usr/local/share/ca-certificates" >"$WORK/store-after" 2>&1
if [[ $(sha "$T2$SYS_BUNDLE") == "$before" ]] && cmp -s "$WORK/store-before" "$WORK/store-after"; then
    ok "unprivileged: the system trust store is untouched"
else
    not_ok "unprivileged: the system trust store changed" "$(diff "$WORK/store-before" "$WORK/store-after" | head -20)"
fi

# 4. Rotation (root tree from step 2) ------------------------------------------------------
# The volume now holds the new CA only; the collector got a new certificate from it.
start_server two "$FX/tls2.pem" "$FX/tls2.key.pem" || {
    not_ok "start openssl s_server with tls2.pem" "$WORK/server-two.log"
    finish
}
# shellcheck disable=SC2154
URL2="https://127.0.0.1:$PORT_two/"
rm -f "$T1$CUSTOM/myNewCa.pem"
cp "$FX/ca2.pem" "$T1$CUSTOM/ca2.pem" && chmod 644 "$T1$CUSTOM/ca2.pem"

# Restart the server with the old certificate too (a collector that was not rotated).
stop_server one
start_server one "$FX/tls.pem" "$FX/tls.key.pem" || {
    not_ok "restart openssl s_server with tls.pem" "$WORK/server-one.log"
    finish
}
URL1="https://127.0.0.1:$PORT_one/"

in_root "$T1" -- anchorage --format json exec "$CUSTOM" -- "${CURL[@]}" "$URL2" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$ERR" 'r["changed"] is True'; then
    ok "rotation: after the restart the new server certificate (tls2, signed by ca2) is trusted"
else
    not_ok "rotation: anchorage exec -- curl (tls2): exit $rc, want 0 and \"changed\": true" "$ERR"
fi

in_root "$T1" -- anchorage exec "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 60 ]]; then
    ok "rotation: the old CA is gone (curl against the old tls.pem server fails, exit 60)"
else
    not_ok "rotation: curl against the old certificate: want exit 60, got $rc" "$ERR"
fi

# anchorage names managed files after the subject ("myNewCa Test Root" -> myNewCa_Test_Root.crt).
leftover=$(find "$T1/etc/ssl/certs" "$T1/usr/local/share/ca-certificates" "$T1/usr/share/ca-certificates" \
    -path "$T1$CUSTOM" -prune -o -iname '*mynewca*' -print 2>/dev/null)
if [[ -z $leftover && -n $(find "$T1/usr/local/share/ca-certificates" -path "$T1$CUSTOM" -prune -o -name 'Rotation_Root_2*' -print) ]] &&
    ! openssl verify -CAfile "$T1$SYS_BUNDLE" "$FX/tls.pem" >/dev/null 2>&1 &&
    openssl verify -CAfile "$T1$SYS_BUNDLE" "$FX/tls2.pem" >/dev/null 2>&1; then
    ok "rotation: the system bundle verifies tls2.pem, not tls.pem; Rotation_Root_2 installed, no myNewCa file left"
else
    not_ok "rotation: system store still holds the old CA or lacks the new one" "leftover: ${leftover:-none}"
fi

# 5. Kubernetes ConfigMap/Secret volume layout (container/kubernetes.yaml) ----------------
# kubelet writes the keys into a timestamped dir, points `..data` at it and makes each key
# a symlink through `..data`; an update swaps `..data` atomically. anchorage follows the
# links; each CA must be counted once (not once per path that reaches it).
# On the tree of step 3 (its system store is untouched, as checked there; a copy costs ~10 s).
[[ ${ANCHORAGE_ROOTFS_KEEP:-} == 1 ]] || safe_rm "$T1" "$WORK"
T3=$T2
rm -f "$T3$CUSTOM/myNewCa.pem"
configmap_update() { # configmap_update STAMP FILE...: what kubelet does on an update
    local stamp=$1 dir="$T3$CUSTOM" old=""
    shift
    [[ -L $dir/..data ]] && old=$(readlink "$dir/..data")
    mkdir "$dir/$stamp" && cp "$@" "$dir/$stamp/" && chmod 644 "$dir/$stamp"/*
    ln -sfn "$stamp" "$dir/..data_tmp" && mv -T "$dir/..data_tmp" "$dir/..data"
    find "$dir" -maxdepth 1 -type l ! -name '..*' -delete
    local f
    for f in "$@"; do ln -s "..data/$(basename "$f")" "$dir/$(basename "$f")"; done
    [[ -z $old ]] || safe_rm "$dir/$old" "$dir"
}
configmap_update ..2025_01_01_00_00_00.000000001 "$FX/myNewCa.pem"
in_root "$T3" -- anchorage --format json exec "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$ERR" '[c["action"] for c in r["certificates"]] == ["added"]'; then
    ok "ConfigMap layout (..data symlinks): anchorage exec -- curl succeeds, the CA counted once"
else
    not_ok "ConfigMap layout: exit $rc, want 0 and exactly one certificate \"added\"" "$ERR"
fi

configmap_update ..2025_02_01_00_00_00.000000002 "$FX/ca2.pem"
in_root "$T3" -- anchorage exec "$CUSTOM" -- "${CURL[@]}" "$URL2" >"$OUT" 2>"$ERR"
rc2=$?
in_root "$T3" -- anchorage exec "$CUSTOM" -- "${CURL[@]}" "$URL1" >"$OUT" 2>"$WORK/err1"
rc1=$?
if [[ $rc2 -eq 0 && $rc1 -eq 60 ]]; then
    ok "ConfigMap update (..data swapped to ca2) + restart: tls2 trusted, old CA gone (exit 60)"
else
    not_ok "ConfigMap update: curl tls2 exit $rc2 (want 0), curl tls exit $rc1 (want 60)" "$ERR" "$WORK/err1"
fi

finish
