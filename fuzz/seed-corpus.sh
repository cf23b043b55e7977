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
