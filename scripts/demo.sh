#!/usr/bin/env bash
# The demo (README "The two commands"). On a fresh Debian 12 machine, from a checkout:
#   1. checks the prerequisites (scripts/prereq.sh): a Rust toolchain >= Cargo.toml's
#      rust-version (else exit 69 with the rustup commands) and the Debian packages it uses
#      (installed with apt-get when missing and root, else exit 69 with the command);
#   2. builds anchorage (cargo build --release, progress shown);
#   3. makes a CA and a server certificate for 127.0.0.1 with the vendor guide's own openssl
#      commands (tests/fixtures/make-fixtures.sh);
#   4. builds a sandbox --root tree from this machine's CA set with the real
#      update-ca-certificates (scripts/sandbox.sh), and starts `openssl s_server` on
#      127.0.0.1 (a free port) with the server certificate;
#   5. before: `openssl verify` and `curl` against the sandbox's bundle fail with "unable to get
#      local issuer certificate" (asserted); anchorage installs the guide's DER file into the
#      sandbox; after: both pass (asserted); a second run changes nothing and runs no hook
#      (asserted); `list` and `doctor` (healthy, asserted).
# Exits non-zero if any assertion fails. Nothing outside the sandbox (a temp dir, removed on
# exit) is touched, apart from the packages of step 1. Colour only on a terminal, never with
# NO_COLOR set.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$SECONDS
# This machine (and many images) set these globally; the demo names its bundle explicitly.
unset SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE || true

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    BOLD=$'\033[1m' GREEN=$'\033[32m' RED=$'\033[31m' RESET=$'\033[0m'
else
    BOLD='' GREEN='' RED='' RESET=''
    export CARGO_TERM_COLOR=never NO_COLOR=${NO_COLOR:-1}
fi

PHASES=6
phase() { printf '\n%s==> [%s/%s] %s%s\n' "$BOLD" "$1" "$PHASES" "$2" "$RESET"; }
# say CMD [COMMENT]: show the command about to run.
say() { printf '\n%s$ %s%s%s\n' "$BOLD" "$1" "$RESET" "${2:+   # $2}"; }
pass() { printf '%s=> as expected: %s%s\n' "$GREEN" "$*" "$RESET"; }
die() {
    printf '%sDEMO FAILED: %s%s\n' "$RED" "$*" "$RESET" >&2
    exit 1
}
# run CMD…: run it, keep its output (stdout and stderr) in OUT and its exit code in RC.
run() {
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
}

# ---------------------------------------------------------------------------------------
phase 1 "Prerequisites (scripts/prereq.sh)"
# shellcheck source=scripts/prereq.sh
source scripts/prereq.sh
need_rust
# build-essential: the C compiler and linker cargo needs (ring); openssl: the fixtures, the
# server, `openssl verify`; ca-certificates: the CA set and update-ca-certificates; curl: the client.
need_debs build-essential openssl ca-certificates curl
echo "cargo $(cargo --version | awk '{ print $2 }'), $(openssl version | awk '{ print $1, $2 }'), $(curl --version | head -1 | awk '{ print $1, $2 }')"

# ---------------------------------------------------------------------------------------
phase 2 "Building anchorage (cargo build --release; the first build takes a few minutes)"
cargo build --release 2>&1
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR="$REPO/$TARGET_DIR"
BIN="$TARGET_DIR/release/anchorage"
[[ -x $BIN ]] || die "cargo build did not produce $BIN"

WORK=$(mktemp -d /tmp/anchorage-demo.XXXXXX)
SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ROOT="$WORK/root"
FX="$WORK/fixtures"
BUNDLE="$ROOT/etc/ssl/certs/ca-certificates.crt"
# Shorter paths in what is shown: ROOT for the sandbox, fixtures by name.
short() { sed -e "s|$ROOT|ROOT|g" -e "s|$FX/||g"; }

# ---------------------------------------------------------------------------------------
phase 3 "A CA and a server certificate for 127.0.0.1 (the vendor guide's openssl commands)"
bash tests/fixtures/make-fixtures.sh "$FX" >/dev/null
echo "myNewCa.crt (the CA, DER), tls.pem + tls.key.pem (the server, signed by it) in $FX"

# ---------------------------------------------------------------------------------------
phase 4 "A sandbox --root tree from this machine's CA set, and a TLS server on 127.0.0.1"
say "scripts/sandbox.sh $ROOT"
scripts/sandbox.sh "$ROOT"

openssl s_server -accept 127.0.0.1:0 -cert "$FX/tls.pem" -key "$FX/tls.key.pem" -www \
    </dev/null >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log")
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "openssl s_server did not start: $(cat "$WORK/server.log")"
    sleep 0.1
done
[[ -n $PORT ]] || die "openssl s_server did not report its port"
URL="https://127.0.0.1:$PORT/"
say "openssl s_server -accept 127.0.0.1:0 -cert tls.pem -key tls.key.pem -www &" "free port: $PORT (stopped on exit)"

# curl_sandbox: curl against the server with the sandbox's bundle; prints what happened.
CURL=(curl -sS --noproxy '*' --max-time 10 --cacert "$BUNDLE" -o /dev/null -w 'HTTP %{http_code}\n' "$URL")
CURL_SHOWN="curl --cacert ROOT/etc/ssl/certs/ca-certificates.crt $URL"

# ---------------------------------------------------------------------------------------
phase 5 "Before and after: anchorage installs the guide's DER CA into the sandbox"
say "openssl verify -CAfile ROOT/etc/ssl/certs/ca-certificates.crt tls.pem" "before"
run openssl verify -CAfile "$BUNDLE" "$FX/tls.pem"
printf '%s\n' "$OUT" | short
[[ $RC -ne 0 ]] || die "before: openssl verify passed, but the CA is not installed yet"
grep -q 'unable to get local issuer certificate' <<<"$OUT" ||
    die "before: openssl verify failed for another reason than the untrusted CA"
pass "openssl verify exit $RC: unable to get local issuer certificate (the bundle exists, the CA is not in it)"

say "$CURL_SHOWN" "before"
run "${CURL[@]}"
printf '%s\n' "$OUT"
if [[ $RC -ne 60 ]] || ! grep -q 'unable to get local issuer certificate' <<<"$OUT"; then
    die "before: curl exit $RC, want 60 (unable to get local issuer certificate)"
fi
pass "curl exit 60: the server's CA is not trusted"

say "anchorage --root ROOT install myNewCa.crt" "the DER file the guide produces"
run "$BIN" --root "$ROOT" install "$FX/myNewCa.crt"
printf '%s\n' "$OUT" | short
[[ $RC -eq 0 ]] || die "anchorage install: exit $RC"

say "openssl verify -CAfile ROOT/etc/ssl/certs/ca-certificates.crt tls.pem" "after"
run openssl verify -CAfile "$BUNDLE" "$FX/tls.pem"
printf '%s\n' "$OUT" | short
[[ $RC -eq 0 ]] || die "after: openssl verify exit $RC"
pass "openssl verify passes"

say "$CURL_SHOWN" "after"
run "${CURL[@]}"
printf '%s\n' "$OUT"
[[ $RC -eq 0 && $OUT == "HTTP 200" ]] || die "after: curl exit $RC, want 0 and HTTP 200"
pass "curl trusts the server"

# ---------------------------------------------------------------------------------------
phase 6 "Idempotence and inspection"
say "anchorage --root ROOT install --format json myNewCa.pem" "again, as PEM: no change, no hook"
run "$BIN" --root "$ROOT" install --format json "$FX/myNewCa.pem"
printf '%s\n' "$OUT" | short
if [[ $RC -ne 0 ]] || ! grep -q '"changed": *false' <<<"$OUT" || ! grep -q '"hook": *null' <<<"$OUT"; then
    die "second install: exit $RC, want 0, \"changed\": false and \"hook\": null"
fi
pass "changed: false, no hook run"

say "anchorage --root ROOT list"
run "$BIN" --root "$ROOT" list
printf '%s\n' "$OUT" | short
[[ $RC -eq 0 ]] || die "list: exit $RC"

say "anchorage --root ROOT doctor"
run "$BIN" --root "$ROOT" doctor
printf '%s\n' "$OUT" | short
[[ $RC -eq 0 ]] || die "doctor: exit $RC (a problem found)"
pass "doctor: healthy (exit 0)"

printf '\n%sDemo passed in %ss%s; the sandbox and the server are removed on exit.\n' "$GREEN" "$((SECONDS - START))" "$RESET"
