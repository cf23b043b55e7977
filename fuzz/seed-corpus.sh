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
echo "seeded $(ls "$tmp" | wc -l) files into $here/corpus/decode"
