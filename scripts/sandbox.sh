#!/usr/bin/env bash
# Make a sandbox --root tree (Debian layout) from this machine's own CA set, to try anchorage
# without touching the system trust store.
#
# Usage: scripts/sandbox.sh DIR        (DIR must not exist or be empty)
#
# DIR gets: usr/share/ca-certificates (a copy of the host's), etc/ca-certificates.conf (a copy),
# an empty usr/local/share/ca-certificates, and etc/ssl/certs with the bundle
# ca-certificates.crt built by the host's real update-ca-certificates pointed into DIR (every
# directory it reads or writes, including its hooks directory, is inside DIR; the host's
# /etc/ssl/certs and its update.d hooks are not touched). Needs the `ca-certificates` package
# (installed when missing and run as root; see scripts/prereq.sh). Not root is fine otherwise.
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 DIR   (DIR must not exist or be empty)" >&2
    exit 2
fi
# shellcheck source=scripts/prereq.sh
source "$(dirname "${BASH_SOURCE[0]}")/prereq.sh"

DIR=$1
if [[ -e $DIR || -L $DIR ]]; then
    if [[ ! -d $DIR || -L $DIR ]]; then
        echo "sandbox: $DIR exists and is not a directory; give a new or empty directory" >&2
        exit 73
    fi
    if [[ -n $(find "$DIR" -mindepth 1 -maxdepth 1 -print -quit) ]]; then
        echo "sandbox: $DIR is not empty; refusing to build a sandbox over it (give a new or empty directory)" >&2
        exit 73
    fi
fi

need_debs ca-certificates
HOOK=$(PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH command -v update-ca-certificates) || {
    echo "sandbox: update-ca-certificates not found (package ca-certificates)" >&2
    exit 69
}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
mkdir -p "$DIR/etc/ssl/certs" "$DIR/etc/ca-certificates/update.d" "$DIR/usr/share" \
    "$DIR/usr/local/share/ca-certificates"
cp -a /usr/share/ca-certificates "$DIR/usr/share/"
cp /etc/ca-certificates.conf "$DIR/etc/ca-certificates.conf"

# The real hook, every path pointed into DIR (as anchorage itself runs it for a --root tree).
# Its rehash always warns about the bundle file sitting in etc/ssl/certs: that line is noise.
"$HOOK" \
    --certsconf "$DIR/etc/ca-certificates.conf" \
    --certsdir "$DIR/usr/share/ca-certificates" \
    --localcertsdir "$DIR/usr/local/share/ca-certificates" \
    --etccertsdir "$DIR/etc/ssl/certs" \
    --hooksdir "$DIR/etc/ca-certificates/update.d" 2>&1 |
    grep -v 'does not contain exactly one certificate or CRL' | sed 's/^/  /' || true

# The host hook wrote host paths ($DIR/usr/share/…); make the links what the tree's own hook
# writes (/usr/share/…), as anchorage does after running it (doctor reports host-path links).
for link in "$DIR"/etc/ssl/certs/*; do
    [[ -L $link ]] || continue
    target=$(readlink "$link")
    case $target in "$DIR"/*) ln -sfn "${target#"$DIR"}" "$link" ;; esac
done

BUNDLE="$DIR/etc/ssl/certs/ca-certificates.crt"
COUNT=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$BUNDLE" 2>/dev/null || true)
if [[ ${COUNT:-0} -eq 0 ]]; then
    echo "sandbox: update-ca-certificates did not build $BUNDLE" >&2
    exit 1
fi

cat <<EOF
Sandbox ready: $DIR
  Debian layout, $COUNT CA certificates from this machine's /usr/share/ca-certificates
  bundle: $BUNDLE
Next:
  anchorage --root $DIR doctor
  anchorage --root $DIR install CA-FILE        # PEM, DER, PKCS#7 or PKCS#12
  openssl verify -CAfile $BUNDLE SERVER-CERT
  curl --cacert $BUNDLE https://HOST/
Remove it with: rm -rf $DIR
EOF
