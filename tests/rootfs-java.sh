#!/usr/bin/env bash
# shellcheck disable=SC2317  # mounts_under/safe_rm/cleanup are only reached from the EXIT trap
# Issue 15: Java truststores in a real Debian system (the `runtimes` rootfs of tests/rootfs.sh:
# a headless JRE 17 and Debian's ca-certificates-java).
#
# Usage: tests/rootfs-java.sh   (as root; CI runs it as root)
#
# Per scenario, on a fresh copy (`cp -a`) of the cached rootfs, with /proc mounted in the copy
# (the JVM launcher finds libjli.so through $ORIGIN, which ld.so resolves through
# /proc/self/exe; Debian's Java hook runs `java`) and a Java client (compiled here with the
# host's `javac --release 17`) that opens a TLS connection to `openssl s_server` on 127.0.0.1:
#   hook   the hook-maintained store: `anchorage --root T --java-discover install CA` from the
#          host; anchorage does not write /etc/ssl/certs/java/cacerts itself, ca-certificates-java's
#          update.d/jks-keystore (run by the tree's update-ca-certificates) does, and anchorage
#          proves by effect that the CA reached it; the JVM's default store (lib/security/cacerts
#          -> /etc/ssl/certs/java/cacerts) then trusts the server; a second run changes nothing.
#   exec   the non-root fallback: `chroot --userspec=65534:65534 T anchorage exec CA -- java Client`
#          (the system store is not writable): a PKCS#12 truststore beside the PEM bundle,
#          JAVA_TOOL_OPTIONS appended to what the container set.
#
# Output: `ok N - …` / `not ok N - …`, then `N passed, M failed`; exit 1 if any failed. Skips
# (exit 0, `SKIP: …`) exactly when tests/rootfs.sh skips; ANCHORAGE_ROOTFS_REQUIRED=1 makes a
# skip a failure. Same environment variables as tests/rootfs.sh.
set -uo pipefail

unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR
unset ANCHORAGE_SOURCES ANCHORAGE_BUNDLE_DIR ANCHORAGE_ON_ERROR ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB
unset ANCHORAGE_JAVA_TRUSTSTORE ANCHORAGE_JAVA_PASSWORD JAVA_TOOL_OPTIONS

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
# shellcheck source=tests/rootfs-lib.sh
source "$REPO/tests/rootfs-lib.sh"
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
JAVA=/usr/lib/jvm/java-17-openjdk-amd64/bin/java

WORK=""
TMPBASE=""
SERVER_PID=""
T=""

cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null
    if [[ -n $WORK && -d $WORK ]]; then
        local d
        for d in "$WORK"/*/; do
            unmount_proc "${d%/}"
        done
        if [[ ${ANCHORAGE_ROOTFS_KEEP:-} == 1 ]]; then
            log "kept working copy in $WORK"
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
    exit "$rc" # rootfs.sh already printed `not ok`
fi
if [[ -z $CACHE ]]; then
    exit 0 # rootfs.sh printed the SKIP line
fi
[[ -x $CACHE$JAVA && -x $CACHE/etc/ca-certificates/update.d/jks-keystore ]] || {
    not_ok "cached rootfs $CACHE has no JRE 17 with ca-certificates-java; the runtimes cache key should include them"
    finish
}
command -v javac >/dev/null || {
    not_ok "javac not found on the host (install openjdk-17-jdk-headless)"
    finish
}

TMPBASE=$(cd "${TMPDIR:-/tmp}" && pwd -P)
WORK=$(mktemp -d "$TMPBASE/anchorage-java.XXXXXX") || {
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

mkdir -p "$WORK/client"
cat >"$WORK/client/Client.java" <<'EOF'
import javax.net.ssl.*;
public class Client {
    public static void main(String[] a) throws Exception {
        SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket("127.0.0.1", Integer.parseInt(a[0]));
        try {
            s.startHandshake();
            System.out.println("trusted");
        } catch (Exception e) {
            System.out.println("refused: " + e);
            System.exit(3);
        } finally {
            s.close();
        }
    }
}
EOF
if ! javac --release 17 -d "$WORK/client" "$WORK/client/Client.java" >"$WORK/javac.log" 2>&1; then
    not_ok "javac Client.java" "$WORK/javac.log"
    finish
fi

PORT=""
for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    openssl s_server -accept "127.0.0.1:$port" -cert "$FX/tls.pem" -key "$FX/tls.key.pem" -www -quiet \
        </dev/null >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
            PORT=$port
            break 2
        fi
        sleep 0.1
    done
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
done
[[ -n $PORT ]] || {
    not_ok "openssl s_server did not start" "$WORK/server.log"
    finish
}
log "s_server on 127.0.0.1:$PORT"

# fresh NAME: a copy of the cache in $WORK/NAME with the binary, the client, the CA and /proc.
fresh() {
    T="$WORK/$1"
    cp -a "$CACHE" "$T" || return 1
    install -m 0755 "$BIN" "$T/usr/local/bin/anchorage" || return 1
    mkdir -p "$T/opt/client" "$T/run/cas" && cp "$WORK/client/Client.class" "$T/opt/client/" &&
        cp "$FX/myNewCa.pem" "$T/run/cas/" && chmod -R a+rX "$T/opt/client" "$T/run/cas" || return 1
    mount -t proc proc "$T/proc"
}

in_root() { # in_root [chroot options] -- CMD…
    local opts=()
    while [[ $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    shift
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb ${JTO:+JAVA_TOOL_OPTIONS="$JTO"} \
        chroot "${opts[@]}" "$T" "$@"
}

host_anchorage() {
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 "$BIN" --root "$T" "$@"
}

json_check() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
start = text.find("{")
if start < 0:
    sys.exit("no JSON object")
r, _ = json.JSONDecoder().raw_decode(text[start:])
sys.exit(0 if eval(sys.argv[2], {"r": r}) else 1)
EOF
}

CA_FP=$(openssl x509 -in "$FX/myNewCa.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
JTO=""

# ---------------------------------------------------------------------------------------
# hook: /etc/ssl/certs/java/cacerts is ca-certificates-java's; anchorage proves the effect.
if fresh hook; then
    STORE="$T/etc/ssl/certs/java/cacerts"
    if in_root -- "$JAVA" -cp /opt/client Client "$PORT" >"$WORK/hook-before.log" 2>&1; then
        not_ok "[hook] the JVM refuses the server before install (default cacerts)" "$WORK/hook-before.log"
    else
        ok "[hook] the JVM refuses the server before install (default cacerts)"
    fi
    before=$(sha256sum <"$STORE")
    host_anchorage --java-discover --format json install "$T/run/cas/myNewCa.pem" >"$WORK/hook-install.json" 2>"$WORK/hook-install.err"
    rc=$?
    if [[ $rc -eq 0 ]] && json_check "$WORK/hook-install.json" \
        'r["changed"] and "java:/etc/ssl/certs/java/cacerts" in r["certificates"][0]["stores"] and r["hook"]["ran"]'; then
        ok "[hook] anchorage --root T --java-discover install: exit 0, java:/etc/ssl/certs/java/cacerts in stores, hook ran"
    else
        not_ok "[hook] anchorage --root T --java-discover install (exit $rc)" "$WORK/hook-install.json" "$WORK/hook-install.err"
    fi
    # /etc/ssl/certs/java/ holds no link: native refresh models the tree and runs the update.d
    # hook itself (under chroot), ca-certificates-java's jks-keystore among them.
    if json_check "$WORK/hook-install.json" \
        'r["hook"]["command"] == ["anchorage", "native-refresh"] and any(h["name"].endswith("/jks-keystore") and h["exit_code"] == 0 for h in r["hook"]["update_d"])'; then
        ok "[hook] the refresh was native and ran update.d/jks-keystore (exit 0)"
    else
        not_ok "[hook] the refresh was native and ran update.d/jks-keystore" "$WORK/hook-install.json"
    fi
    host_anchorage --java-discover install --check "$T/run/cas/myNewCa.pem" >"$WORK/hook-check.txt" 2>&1
    if grep -q "java:/etc/ssl/certs/java/cacerts is maintained by ca-certificates-java" "$WORK/hook-check.txt"; then
        ok "[hook] the report names the hook that maintains the store"
    else
        not_ok "[hook] the report names the hook that maintains the store" "$WORK/hook-check.txt"
    fi
    if [[ $(sha256sum <"$STORE") != "$before" ]] &&
        keytool -list -keystore "$STORE" -storepass changeit 2>/dev/null | grep -qF "$CA_FP"; then
        ok "[hook] the CA is in /etc/ssl/certs/java/cacerts (keytool -list, by fingerprint)"
    else
        not_ok "[hook] the CA is in /etc/ssl/certs/java/cacerts (keytool -list, by fingerprint)"
    fi
    if keytool -list -keystore "$STORE" -storepass changeit 2>/dev/null | grep -q "^anchorage-"; then
        not_ok "[hook] anchorage did not write the hook's store itself (no anchorage- alias)"
    else
        ok "[hook] anchorage did not write the hook's store itself (no anchorage- alias)"
    fi
    if in_root -- "$JAVA" -cp /opt/client Client "$PORT" >"$WORK/hook-after.log" 2>&1; then
        ok "[hook] the JVM trusts the server after install"
    else
        not_ok "[hook] the JVM trusts the server after install" "$WORK/hook-after.log"
    fi
    after=$(sha256sum <"$STORE")
    host_anchorage --java-discover --format json install "$T/run/cas/myNewCa.pem" >"$WORK/hook-again.json" 2>&1
    if json_check "$WORK/hook-again.json" 'not r["changed"] and r["certificates"][0]["action"] == "unchanged"' &&
        [[ $(sha256sum <"$STORE") == "$after" ]]; then
        ok "[hook] second run: changed false, the store untouched"
    else
        not_ok "[hook] second run: changed false, the store untouched" "$WORK/hook-again.json"
    fi
    unmount_proc "$T"
else
    not_ok "[hook] copy the rootfs"
fi

# ---------------------------------------------------------------------------------------
# exec: an unprivileged container start; the JVM gets the truststore through JAVA_TOOL_OPTIONS.
if fresh exec; then
    JTO="-Xss2m"
    if in_root --userspec=65534:65534 -- "$JAVA" -cp /opt/client Client "$PORT" >"$WORK/exec-before.log" 2>&1; then
        not_ok "[exec] the JVM refuses the server without anchorage" "$WORK/exec-before.log"
    else
        ok "[exec] the JVM refuses the server without anchorage"
    fi
    if in_root --userspec=65534:65534 -- /usr/local/bin/anchorage exec /run/cas -- \
        "$JAVA" -cp /opt/client Client "$PORT" >"$WORK/exec.log" 2>&1; then
        ok "[exec] non-root exec: the JVM trusts the server (fallback truststore)"
    else
        not_ok "[exec] non-root exec: the JVM trusts the server (fallback truststore)" "$WORK/exec.log"
    fi
    # The JVM prints what it picked up: the container's option kept, ours appended.
    if grep -q "Picked up JAVA_TOOL_OPTIONS: -Xss2m -Djavax.net.ssl.trustStore=/.*anchorage-truststore.p12 -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12" "$WORK/exec.log"; then
        ok "[exec] JAVA_TOOL_OPTIONS: the existing option kept, the truststore appended"
    else
        not_ok "[exec] JAVA_TOOL_OPTIONS: the existing option kept, the truststore appended" "$WORK/exec.log"
    fi
    if keytool -list -keystore "$T/etc/ssl/certs/java/cacerts" -storepass changeit 2>/dev/null | grep -qF "$CA_FP"; then
        not_ok "[exec] the system's Java store is untouched by the unprivileged run"
    else
        ok "[exec] the system's Java store is untouched by the unprivileged run"
    fi
    JTO="-Djavax.net.ssl.trustStore=/etc/ssl/certs/java/cacerts"
    in_root --userspec=65534:65534 -- /usr/local/bin/anchorage exec /run/cas -- \
        "$JAVA" -cp /opt/client Client "$PORT" >"$WORK/exec-kept.log" 2>&1
    if grep -q "already names a trustStore; kept" "$WORK/exec-kept.log" &&
        grep -q "Picked up JAVA_TOOL_OPTIONS: -Djavax.net.ssl.trustStore=/etc/ssl/certs/java/cacerts$" "$WORK/exec-kept.log"; then
        ok "[exec] an existing trustStore in JAVA_TOOL_OPTIONS is kept, and the run says so"
    else
        not_ok "[exec] an existing trustStore in JAVA_TOOL_OPTIONS is kept, and the run says so" "$WORK/exec-kept.log"
    fi
    JTO=""
    unmount_proc "$T"
else
    not_ok "[exec] copy the rootfs"
fi

finish
