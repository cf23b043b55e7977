#!/usr/bin/env bash
# Kubernetes node mode (issue 17, container/kubernetes-node.yaml), run the way the DaemonSet
# runs it, without a cluster: a copy of the cached debootstrapped Debian rootfs is the node
# (/host); the ConfigMap volume is a kubelet-style symlink farm (`..TIMESTAMP/` holding the keys,
# `..data` pointing at it, each key a link through `..data`) that the test swaps atomically to
# rotate, as kubelet's atomic writer does; anchorage runs outside the rootfs with the command
# of the manifest (its container paths mapped to the test's directories). Checks: the node's
# own curl (chroot) trusts the ConfigMap's CA, then after the swap the new CA and not the old;
# the metrics file appears in the node's textfile directory and follows; SIGTERM ends the watch.
#
# Usage: tests/kubernetes-node.sh   (as root; scripts/test.sh runs it after the rootfs tests)
# Output: TAP-style (scripts/tap.sh); SKIP (exit 0) without root or without the cached rootfs
# (tests/rootfs.sh builds it), unless ANCHORAGE_ROOTFS_REQUIRED=1.
# Environment: ANCHORAGE_BIN (default target/debug/anchorage).
# SC2016: the bash -c bodies get their values as $1, $2 on purpose. SC2317: functions run
# through check(), wait_for() and trap look unreachable to shellcheck.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR || true

skip() {
    echo "SKIP: $*"
    [[ ${ANCHORAGE_ROOTFS_REQUIRED:-0} == 1 ]] && exit 1
    exit 0
}
[[ $(id -u) == 0 ]] || skip "needs root (chroot, a node's root file system)"
BIN=${ANCHORAGE_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/anchorage}
[[ -x $BIN ]] || skip "no anchorage binary at $BIN (cargo build, or set ANCHORAGE_BIN)"
CACHE=$(bash "$HERE/rootfs.sh" --cache-only base 2>/dev/null | sed -n 's/^CACHE=//p')
[[ -n $CACHE && -d $CACHE ]] || skip "no cached Debian rootfs (tests/rootfs.sh --cache-only base failed)"

WORK=$(mktemp -d /tmp/anchorage-k8snode.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    case $WORK in /tmp/anchorage-k8snode.*) rm -rf "$WORK" ;; esac
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NODE=$WORK/node
CM=$WORK/configmap
T=$SECONDS
cp -a "$CACHE" "$NODE"
log "node: a copy of $CACHE ($((SECONDS - T)) s)"
# The node_exporter package's textfile directory on the node.
mkdir -p "$NODE/var/lib/prometheus/node-exporter"

# The manifest's container command, its container paths mapped: the hostPath / mount → the
# node, the ConfigMap mount → the farm.
mapfile -t CMD < <(python3 - "$REPO/container/kubernetes-node.yaml" "$NODE" "$CM" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = next(d for d in docs if d.get("kind") == "DaemonSet")
spec = ds["spec"]["template"]["spec"]
vols = {v["name"]: v for v in spec["volumes"]}
c = spec["containers"][0]
mapping = {}
for m in c["volumeMounts"]:
    v = vols[m["name"]]
    if (v.get("hostPath") or {}).get("path") == "/":
        mapping[m["mountPath"]] = sys.argv[2]
    elif "configMap" in v or "secret" in v:
        mapping[m["mountPath"]] = sys.argv[3]
for a in c["command"]:
    for k in sorted(mapping, key=len, reverse=True):
        if a == k or a.startswith(k.rstrip("/") + "/"):
            a = mapping[k] + a[len(k):]
            break
    print(a)
PY
)
if [[ ${CMD[0]:-} == anchorage && ${CMD[1]:-} == watch ]]; then
    ok "the manifest's command: ${CMD[*]}"
else
    not_ok "container/kubernetes-node.yaml: a DaemonSet running anchorage watch (got: ${CMD[*]:-nothing})"
    finish
fi
CMD[0]=$BIN
PROM=$NODE/var/lib/prometheus/node-exporter/anchorage.prom

cd "$WORK" || exit 1
ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
for n in 1 2; do
    openssl req -x509 -newkey rsa:2048 -keyout "ca$n.key" -out "ca$n.pem" -days 3650 -nodes \
        -subj "/CN=Node Test Root $n" "${ext[@]}" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout "tls$n.key" -out "tls$n.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"san$n.ext"
    openssl x509 -req -in "tls$n.csr" -CA "ca$n.pem" -CAkey "ca$n.key" -CAcreateserial -days 30 \
        -extfile "san$n.ext" -out "tls$n.pem" 2>/dev/null
done
sha() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port)
P2=$(free_port)
openssl s_server -accept "127.0.0.1:$P1" -cert tls1.pem -key tls1.key -www -quiet >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -accept "127.0.0.1:$P2" -cert tls2.pem -key tls2.key -www -quiet >/dev/null 2>&1 &
PIDS+=($!)

# What kubelet's atomic writer does: new timestamped dir, `..data_tmp` renamed over `..data`,
# key links through `..data`, the old dir and stale links removed.
GEN=0
publish() { # publish FILE... (as keys named after the files)
    GEN=$((GEN + 1))
    local ts="..2026_11_30_00_00_0$GEN.$$" old="" f e
    mkdir -p "$CM/$ts"
    for f in "$@"; do cp "$f" "$CM/$ts/$(basename "$f")"; done
    [[ -L $CM/..data ]] && old=$(readlink "$CM/..data")
    ln -s "$ts" "$CM/..data_tmp" && mv -T "$CM/..data_tmp" "$CM/..data"
    for f in "$@"; do [[ -L $CM/$(basename "$f") ]] || ln -s "..data/$(basename "$f")" "$CM/$(basename "$f")"; done
    for e in "$CM"/*; do
        [[ -e $e ]] || rm -f "$e" # a key link whose file is gone
    done
    [[ -n $old ]] && rm -rf "${CM:?}/$old"
    return 0
}
# node_trusts PORT: the node's own curl, in the node's root (chroot), trusts the server.
node_trusts() { chroot "$NODE" curl -sS -o /dev/null --max-time 5 "https://127.0.0.1:$1/" 2>/dev/null; }
# wait_for DESC CMD...: CMD succeeds within 60 s.
wait_for() {
    local desc=$1 start=$SECONDS
    shift
    while ((SECONDS - start < 60)); do
        if "$@"; then
            ok "$desc ($((SECONDS - start)) s)"
            return 0
        fi
        sleep 0.3
    done
    not_ok "$desc" "$WORK/watch.err"
    return 1
}
untrusted() { ! node_trusts "$1"; }
prom_has() { grep -q "$1" "$PROM" 2>/dev/null; }

check "before: the node's curl does not trust CA 1 (exit 60)" untrusted "$P1"
mkdir -p "$CM"
cp ca1.pem myNewCa.pem
publish myNewCa.pem
"${CMD[@]}" >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH=$!
PIDS+=("$WATCH")
wait_for "the DaemonSet's first sync: the node's curl trusts the ConfigMap's CA" node_trusts "$P1"
wait_for "the metrics in the node's textfile directory name CA 1" prom_has "$(sha ca1.pem)"
check "promtool check metrics on the node's anchorage.prom" bash -c 'promtool check metrics <"$1"' _ "$PROM"
# Rotation, guide 001: the new CA beside the old, then the old retired.
publish myNewCa.pem ca2.pem
wait_for "ConfigMap update (..data swapped): CA 2 trusted beside CA 1" node_trusts "$P2"
check "CA 1 still trusted while both are published" node_trusts "$P1"
publish ca2.pem
wait_for "ConfigMap update (..data swapped): CA 1 retired" untrusted "$P1"
check "CA 2 still trusted" node_trusts "$P2"
wait_for "the metrics follow (CA 1 gone, CA 2 there)" bash -c 'grep -q "$2" "$1" && ! grep -q "$3" "$1"' _ "$PROM" "$(sha ca2.pem)" "$(sha ca1.pem)"
check "anchorage stayed outside the node (no anchorage binary in it)" test ! -e "$NODE/usr/local/bin/anchorage"
kill -TERM "$WATCH"
wait "$WATCH"
rc=$?
check "SIGTERM: the watch ends with exit 0 (exit $rc)" test "$rc" == 0
finish
