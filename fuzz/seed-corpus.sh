#!/usr/bin/env bash
# Seed fuzz/corpus/decode from the test fixtures (tests/fixtures/make-fixtures.sh): every
# certificate, key, PKCS#7 and PKCS#12 encoding the decoder knows. The corpus directory is
# git-ignored; libFuzzer adds what it finds to it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/../tests/fixtures/make-fixtures.sh" "$tmp" >/dev/null
mkdir -p "$here/corpus/decode"
for f in "$tmp"/*; do
    cp "$f" "$here/corpus/decode/seed-$(basename "$f")"
done
# Bundles of 256 blocks or more are decoded on several threads: seed that path too.
ca="$tmp/myNewCa.pem"
blk=$'-----BEGIN X-----\n-----END X-----\n'
{ cat "$ca"; for _ in $(seq 300); do printf '%s' "$blk"; done; } >"$here/corpus/decode/seed-parallel-1"
{ for _ in 1 2; do for _ in $(seq 150); do printf '%s' "$blk"; done; cat "$ca"; done; } >"$here/corpus/decode/seed-parallel-2"
echo "seeded $(($(find "$tmp" -type f | wc -l) + 2)) files into $here/corpus/decode"
# Java keystores (fuzz target jks): trusted certificates, a private-key entry with its chain,
# JCEKS, and JCEKS with a secret-key entry. Only when keytool is installed.
if command -v keytool >/dev/null; then
    mkdir -p "$here/corpus/jks"
    kt() { keytool -noprompt -storepass changeit -keypass changeit "$@" >/dev/null 2>&1; }
    kt -importcert -alias a -file "$tmp/myNewCa.pem" -keystore "$tmp/t.jks" -storetype JKS
    kt -importcert -alias b -file "$tmp/ca2.pem" -keystore "$tmp/t.jks" -storetype JKS
    kt -genkeypair -alias k -keyalg EC -dname CN=leaf -keystore "$tmp/k.jks" -storetype JKS
    kt -importcert -alias a -file "$tmp/myNewCa.pem" -keystore "$tmp/k.jks" -storetype JKS
    kt -importcert -alias a -file "$tmp/myNewCa.pem" -keystore "$tmp/t.jceks" -storetype JCEKS
    kt -genseckey -alias s -keyalg AES -keysize 128 -keystore "$tmp/s.jceks" -storetype JCEKS
    for f in t.jks k.jks t.jceks s.jceks; do cp "$tmp/$f" "$here/corpus/jks/seed-$f"; done
    echo "seeded 4 keystores into $here/corpus/jks"
fi
