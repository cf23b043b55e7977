#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup/safe_rm/mounts_under are only reached from the EXIT trap
# Issue 16 in a real Debian bookworm system: do the agents' runtimes trust the CA after
# `anchorage exec`, with the TLS variables pre-set to the system bundle (as many images do)?
#
# Usage: tests/rootfs-runtimes.sh   (as root; CI runs it as root)
#
# On copies (`cp -a`) of the cached "runtimes" rootfs of tests/rootfs.sh (python3-requests +
# python3-certifi, nodejs, gnutls-bin, curl), with the binary under test at
# /usr/local/bin/anchorage and the guide-000 CA mounted at /run/cas/myNewCa.pem, against
# `openssl s_server` on 127.0.0.1 (loopback only, started on the host; the chroot shares its
# network):
#   * as root: curl, Python requests, Node.js and gnutls-cli fail before and succeed under
#     `anchorage exec /run/cas -- …` (system store), SSL_CERT_FILE, CURL_CA_BUNDLE,
#     REQUESTS_CA_BUNDLE and NODE_EXTRA_CA_CERTS pre-set to /etc/ssl/certs/ca-certificates.crt;
#     `doctor --runtimes` names Node.js (Debian's 18: NODE_EXTRA_CA_CERTS only) and reports it
#     fixed under exec's environment;
#   * as an unprivileged user (`chroot --userspec=65534:65534`), the same variables pre-set:
#     curl, Python and Node.js fail before, succeed under `anchorage exec` (environment bundle),
#     still fail with `--keep-env` (the behaviour before issue 16). gnutls-cli reads only the
#     system bundle (no variable), so it cannot be fixed without root: checked as failing.
#     (`doctor --runtimes` judges *managed* anchors; the environment fallback manages none, so
#     there is nothing for it to judge in this scenario.)
# Mounts /proc in each copy, as every container has it (Debian's Java hook, run by
# update-ca-certificates, starts a JVM, which needs /proc/self/exe: without it the hook does
# nothing and exits 0 — `doctor --runtimes` then rightly reports the java row); /dev is
# debootstrap's static nodes. Every mount is undone before a copy is removed.
#
# Output: `ok N - …` / `not ok N - …`, then `N passed, M failed`; exit 1 if any failed. Skips
# (exit 0, `SKIP: …`) exactly when tests/rootfs.sh skips; ANCHORAGE_ROOTFS_REQUIRED=1 makes a
# skip a failure. Same environment variables as tests/rootfs.sh (ANCHORAGE_BIN: the binary
# to test, default target/release/anchorage; ANCHORAGE_ROOTFS_KEEP=1 keeps the copies).
set -uo pipefail

unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR
unset ANCHORAGE_SOURCES ANCHORAGE_BUNDLE_DIR ANCHORAGE_ON_ERROR ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
# shellcheck source=tests/rootfs-lib.sh
source "$REPO/tests/rootfs-lib.sh"
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt

WORK=""
TMPBASE=""
SERVER_PID=""

cleanup() {
    local d
    if [[ -n $WORK && -d $WORK ]]; then
        for d in "$WORK"/*/; do
            unmount_proc "${d%/}"
        done
    fi
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    fi
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
cache_out=$("$REPO/tests/rootfs.sh" --cache-only runtimes)
rc=$?
CACHE=$(sed -n 's/^CACHE=//p' <<<"$cache_out" | tail -1)
grep -v '^CACHE=' <<<"$cache_out"
if [[ $rc -ne 0 ]]; then
    exit "$rc" # rootfs.sh printed `not ok` (ANCHORAGE_ROOTFS_REQUIRED=1 and no mirror)
fi
if [[ -z $CACHE ]]; then
    exit 0 # rootfs.sh printed the SKIP line
fi
for p in usr/bin/node usr/bin/gnutls-cli usr/bin/curl usr/lib/python3/dist-packages/requests; do
    [[ -e $CACHE/$p ]] || {
        not_ok "cached rootfs $CACHE has no /$p; the runtimes flavour of tests/rootfs.sh should include it"
        finish
    }
done

TMPBASE=$(cd "${TMPDIR:-/tmp}" && pwd -P)
WORK=$(mktemp -d "$TMPBASE/anchorage-runtimes.XXXXXX") || {
    not_ok "cannot create a temp dir under $TMPBASE"
    finish
}
chmod 755 "$WORK"

BIN=${ANCHORAGE_BIN:-$REPO/target/release/anchorage}
if [[ ! -x $BIN ]]; then
    log "building $BIN (cargo build --release)"
    (cd "$REPO" && cargo build --release --quiet) || {
        not_ok "cargo build --release"
        finish
    }
fi

FX="$WORK/fx"
if ! "$REPO/tests/fixtures/make-fixtures.sh" "$FX" >"$WORK/fixtures.log" 2>&1; then
    not_ok "generate fixtures (tests/fixtures/make-fixtures.sh)" "$WORK/fixtures.log"
    finish
fi

# The server the agents reach: the guide-000 CA's server certificate (SAN 127.0.0.1).
for _ in 1 2 3 4 5; do
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    openssl s_server -accept "127.0.0.1:$PORT" -cert "$FX/tls.pem" -key "$FX/tls.key" -www -quiet \
        </dev/null >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    up=0
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    [[ $up == 1 ]] && break
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
done
if [[ -z $SERVER_PID ]]; then
    not_ok "start openssl s_server on 127.0.0.1" "$WORK/server.log"
    finish
fi
log "s_server on 127.0.0.1:$PORT"
URL="https://127.0.0.1:$PORT/"

# The clients, run inside the tree by `sh -c`: one `NAME=OK|FAIL` line each.
CLIENTS="curl -sS -o /dev/null --max-time 20 $URL && echo curl=OK || echo curl=FAIL
python3 -c 'import requests, sys; requests.get(sys.argv[1], timeout=20)' $URL >/dev/null 2>&1 && echo python=OK || echo python=FAIL
node -e 'require(\"https\").get(process.argv[1], r => process.exit(0)).on(\"error\", () => process.exit(1))' $URL >/dev/null 2>&1 && echo node=OK || echo node=FAIL
gnutls-cli --port $PORT 127.0.0.1 </dev/null >/dev/null 2>&1 && echo gnutls=OK || echo gnutls=FAIL"

# A fresh copy of the cache with the binary and the mounted CA.
new_tree() {
    T="$WORK/$1"
    cp -a "$CACHE" "$T" || return 1
    install -m 0755 "$BIN" "$T/usr/local/bin/anchorage" &&
        mkdir -p "$T/run/cas" &&
        install -m 0644 "$FX/myNewCa.pem" "$T/run/cas/myNewCa.pem" &&
        mount -t proc proc "$T/proc"
}

# in_tree USERSPEC CMD…: the image's own environment plus the variables pre-set to the
# system bundle (as a Dockerfile ENV would).
in_tree() {
    local spec=$1
    shift
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb \
        SSL_CERT_FILE=$SYSTEM_BUNDLE CURL_CA_BUNDLE=$SYSTEM_BUNDLE \
        REQUESTS_CA_BUNDLE=$SYSTEM_BUNDLE NODE_EXTRA_CA_CERTS=$SYSTEM_BUNDLE \
        chroot --userspec="$spec" "$T" "$@"
}

# expect FILE DESC NAME=STATE…: one check per client.
expect() {
    local out=$1 desc=$2 want
    shift 2
    for want in "$@"; do
        if grep -qx "$want" "$out"; then
            ok "$desc: $want"
        else
            not_ok "$desc: $want" "$out"
        fi
    done
}

# ---------------------------------------------------------------------------------------
# As root: the system store.
if new_tree root; then
    in_tree 0:0 sh -c "$CLIENTS" >"$WORK/root-before.out" 2>&1
    expect "$WORK/root-before.out" "root, before" curl=FAIL python=FAIL node=FAIL gnutls=FAIL
    in_tree 0:0 anchorage exec /run/cas -- sh -c "$CLIENTS" >"$WORK/root-after.out" 2>"$WORK/root-after.err"
    expect "$WORK/root-after.out" "root, under anchorage exec" curl=OK python=OK node=OK gnutls=OK
    # Debian's Node.js 18 reads the system store only through NODE_EXTRA_CA_CERTS.
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 chroot "$T" \
        anchorage --format json doctor --runtimes=strict >"$WORK/root-doctor.json" 2>&1
    rc=$?
    if [[ $rc == 1 ]] && python3 - "$WORK/root-doctor.json" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
rows = {x["runtime"]: x for x in r["runtimes"]}
node = rows["node"]
assert not node["trusts"] and "NODE_EXTRA_CA_CERTS" in node["fix"], node
assert rows["openssl"]["trusts"] and rows["gnutls"]["trusts"], rows
assert all(x["trusts"] for x in r["runtimes"] if x["runtime"] == "python-certifi"), rows
java = [x for x in r["runtimes"] if x["runtime"] == "java"]
assert [x["path"] for x in java] == ["/etc/ssl/certs/java/cacerts"], java
assert java[0]["trusts"], java
EOF
        ok "root: doctor --runtimes=strict without the variables: exit 1, node lacks NODE_EXTRA_CA_CERTS; openssl, gnutls, Debian's certifi and the JVM's cacerts (ca-certificates-java's hook) trust"
    else
        not_ok "root: doctor --runtimes=strict without the variables (exit $rc)" "$WORK/root-doctor.json"
    fi
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 chroot "$T" \
        anchorage exec /run/cas -- anchorage doctor --runtimes=strict >"$WORK/root-doctor-exec.out" 2>&1
    rc=$?
    if [[ $rc == 0 ]] && grep -q '^runtime: *node /usr/bin/node: trusts' "$WORK/root-doctor-exec.out"; then
        ok "root: doctor --runtimes=strict under exec's environment: exit 0, node trusts"
    else
        not_ok "root: doctor --runtimes=strict under exec's environment (exit $rc)" "$WORK/root-doctor-exec.out"
    fi
    unmount_proc "$T"
    safe_rm "$T" "$WORK"
else
    not_ok "copy the cached rootfs"
fi

# As an unprivileged user: the environment bundle.
if new_tree user; then
    in_tree 65534:65534 sh -c "$CLIENTS" >"$WORK/user-before.out" 2>&1
    expect "$WORK/user-before.out" "uid 65534, before" curl=FAIL python=FAIL node=FAIL gnutls=FAIL
    in_tree 65534:65534 anchorage exec --keep-env /run/cas -- sh -c "$CLIENTS" >"$WORK/user-keep.out" 2>"$WORK/user-keep.err"
    expect "$WORK/user-keep.out" "uid 65534, exec --keep-env (the old rule)" curl=FAIL python=FAIL node=FAIL
    in_tree 65534:65534 anchorage exec /run/cas -- sh -c "$CLIENTS" >"$WORK/user-after.out" 2>"$WORK/user-after.err"
    expect "$WORK/user-after.out" "uid 65534, under anchorage exec" curl=OK python=OK node=OK
    # GnuTLS reads only the system bundle: no variable can help it without root.
    expect "$WORK/user-after.out" "uid 65534, under anchorage exec (GnuTLS has no variable)" gnutls=FAIL
    if grep -q "via SSL_CERT_FILE" "$WORK/user-after.err"; then
        ok "uid 65534: exec says where the bundle is and which variables point at it"
    else
        not_ok "uid 65534: exec's notice" "$WORK/user-after.err"
    fi
    unmount_proc "$T"
    safe_rm "$T" "$WORK"
else
    not_ok "copy the cached rootfs"
fi

finish
