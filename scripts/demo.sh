#!/usr/bin/env bash
# The demo (README "Run the demo"): makes a CA and a server certificate with the vendor
# guide's own openssl commands, builds a sandbox --root tree from this machine's
# ca-certificates, and shows anchorage installing the DER CA there: before, the server
# certificate does not verify against the tree's bundle; after, it does; a second run changes
# nothing and runs no hook. Nothing outside the sandbox is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
unset SSL_CERT_FILE SSL_CERT_DIR || true

cargo build --release --quiet
BIN="$PWD/target/release/anchorage"
WORK=$(mktemp -d /tmp/anchorage-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
FX="$WORK/fixtures"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

echo "Generating a CA and a server certificate (guide-000 commands) in $FX ..."
bash tests/fixtures/make-fixtures.sh "$FX" >/dev/null

echo "Building a sandbox Debian trust store in $ROOT ..."
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/usr/share" "$ROOT/usr/local/share/ca-certificates"
cp -a /usr/share/ca-certificates "$ROOT/usr/share/"
cp /etc/ca-certificates.conf "$ROOT/etc/"
"$BIN" --root "$ROOT" doctor >/dev/null 2>&1 || true

say openssl verify -CAfile ROOT/etc/ssl/certs/ca-certificates.crt tls.pem "   # before"
openssl verify -CAfile "$ROOT/etc/ssl/certs/ca-certificates.crt" "$FX/tls.pem" 2>&1 | tail -1 || true

say anchorage --root ROOT install myNewCa.crt "   # the DER file the guide produces"
"$BIN" --root "$ROOT" install "$FX/myNewCa.crt"

say openssl verify -CAfile ROOT/etc/ssl/certs/ca-certificates.crt tls.pem "   # after"
openssl verify -CAfile "$ROOT/etc/ssl/certs/ca-certificates.crt" "$FX/tls.pem"

say anchorage --root ROOT install --format json myNewCa.pem "   # again, as PEM: no change, no hook"
"$BIN" --root "$ROOT" install --format json "$FX/myNewCa.pem"

say anchorage --root ROOT list
"$BIN" --root "$ROOT" list

say anchorage --root ROOT doctor
"$BIN" --root "$ROOT" doctor
echo
echo "Demo done; the sandbox is removed on exit."
