#!/usr/bin/env bash
# shellcheck disable=SC2317  # mounts_under/safe_rm are only reached from the EXIT trap
# anchorage against the RHEL family's real trust engine (p11-kit), inside a Debian rootfs.
#
# Usage: tests/rootfs-p11kit.sh      (as root; CI runs it as root)
#
# RHEL's /usr/bin/update-ca-trust is a thin script around p11-kit's `trust extract`. Debian
# ships the same p11-kit; only its configured source paths differ. Following TESTING.md
# ("RHEL / SUSE / Arch families"), on a copy of the rootfs cached by tests/rootfs.sh:
#   1. the p11-kit trust module reads RHEL's source paths
#      (/etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source),
#   2. the distribution roots are in the vendor dir, /etc/os-release says RHEL, Debian's
#      update-ca-certificates is removed (RHEL has none),
#   3. /usr/bin/update-ca-trust is a STAND-IN written by this script -- not Red Hat's
#      script -- making the same `p11-kit extract` calls as RHEL/Fedora's `update-ca-trust
#      extract`. The certificate parsing, trust filtering and bundle writing are the real
#      p11-kit's.
# Then `anchorage --root TREE install/remove` from the host (anchorage runs the tree's own
# hook with chroot) and `anchorage exec` inside the tree (the UBI container start) must
# reach /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem, proven with `openssl verify`.
#
# Output: `ok N - …` / `not ok N - …`, then `N passed, M failed`; exit 1 if any failed.
# Skips (exit 0, `SKIP: …`) exactly when tests/rootfs.sh skips; ANCHORAGE_ROOTFS_REQUIRED=1
# makes a skip a failure. Same environment variables as tests/rootfs.sh.
set -uo pipefail

unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR
unset ANCHORAGE_SOURCES ANCHORAGE_BUNDLE_DIR ANCHORAGE_ON_ERROR ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
CUSTOM=/usr/local/share/ca-certificates/custom
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXTRACTED=/etc/pki/ca-trust/extracted
TLS_BUNDLE=$EXTRACTED/pem/tls-ca-bundle.pem
ANCHORS=/etc/pki/ca-trust/source/anchors
VENDOR=/usr/share/pki/ca-trust-source/anchors

WORK=""
TMPBASE=""


mounts_under() {
    awk -v p="$1" '{ gsub(/\\040/, " ", $5); if ($5 == p || index($5, p "/") == 1) print $5 }' /proc/self/mountinfo
}

# rm -rf only for a directory strictly inside $2 with no mounts below it.
safe_rm() {
    local path=$1 base=$2
    [[ -n $path && -n $base && $path == "$base"/?* && $path != */../* && $path != */.. && -d $path && ! -L $path ]] || {
        log "refusing to remove '$path' (not a directory inside '$base')"
        return 1
    }
    if [[ -n $(mounts_under "$path") ]]; then
        log "refusing to remove '$path': mounts below it"
        return 1
    fi
    rm -rf --one-file-system -- "$path"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    if [[ -n $WORK && -d $WORK ]]; then
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
# The cached Debian rootfs (built by tests/rootfs.sh; it includes p11-kit).
cache_out=$("$REPO/tests/rootfs.sh" --cache-only)
rc=$?
CACHE=$(sed -n 's/^CACHE=//p' <<<"$cache_out" | tail -1)
grep -v '^CACHE=' <<<"$cache_out"
if [[ $rc -ne 0 ]]; then
    # rootfs.sh already printed `not ok` (e.g. ANCHORAGE_ROOTFS_REQUIRED=1 and no mirror).
    exit "$rc"
fi
if [[ -z $CACHE ]]; then
    exit 0 # rootfs.sh printed the SKIP line
fi
[[ -x $CACHE/usr/bin/trust ]] || {
    not_ok "cached rootfs $CACHE has no p11-kit (/usr/bin/trust); the cache key should include it"
    finish
}

TMPBASE=$(cd "${TMPDIR:-/tmp}" && pwd -P)
WORK=$(mktemp -d "$TMPBASE/anchorage-p11kit.XXXXXX") || {
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

in_root() {
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb chroot "$T" "$@"
}

# anchorage on the host, operating on the tree (--root), as `anchorage --root T …` in an image build.
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

count_certs() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || echo 0; }

verifies() { # verifies CAFILE CERT
    openssl verify -CAfile "$1" "$2" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------
# The RHEL-configured tree
T="$WORK/rhel"
log "copying $CACHE"
cp -a "$CACHE" "$T" || {
    not_ok "copy $CACHE"
    finish
}
[[ -c $T/dev/null ]] || { rm -f "$T/dev/null" && mknod -m 666 "$T/dev/null" c 1 3; }

MODULE="$T/usr/share/p11-kit/modules/p11-kit-trust.module"
sed -i 's|^x-init-reserved:.*$|x-init-reserved: paths=/etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source|' "$MODULE"
mkdir -p "$T$VENDOR" "$T$ANCHORS" "$T$EXTRACTED"/{pem,openssl,java,edk2} "$T/etc/pki/tls/certs"
cp "$T"/usr/share/ca-certificates/mozilla/*.crt "$T$VENDOR/"
VENDOR_ROOTS=$(find "$T$VENDOR" -type f | wc -l)
rm -f "$T/etc/os-release" "$T/usr/sbin/update-ca-certificates"
cat >"$T/etc/os-release" <<'EOF'
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (stand-in: Debian rootfs, p11-kit configured like RHEL)"
EOF

cat >"$T/usr/bin/update-ca-trust" <<'EOF'
#!/bin/sh
# STAND-IN for RHEL's /usr/bin/update-ca-trust (package ca-certificates), written by
# anchorage's tests/rootfs-p11kit.sh into a Debian test rootfs. NOT Red Hat's script: it
# makes the same p11-kit calls as RHEL/Fedora's `update-ca-trust extract`; the parsing,
# trust filtering and output are the real p11-kit's.
set -e
case "${1:-extract}" in
extract) ;;
*) echo "update-ca-trust (stand-in): only 'extract' is supported" >&2; exit 2 ;;
esac
DEST=/etc/pki/ca-trust/extracted
# Prevent p11-kit from reading user configuration files.
export P11_KIT_NO_USER_CONFIG=1
# OpenSSL PEM bundle that includes trust flags (BEGIN TRUSTED CERTIFICATE)
p11-kit extract --format=openssl-bundle --filter=certificates --overwrite --comment $DEST/openssl/ca-bundle.trust.crt
p11-kit extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose server-auth $DEST/pem/tls-ca-bundle.pem
p11-kit extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose email $DEST/pem/email-ca-bundle.pem
p11-kit extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose code-signing $DEST/pem/objsign-ca-bundle.pem
p11-kit extract --format=java-cacerts --filter=ca-anchors --overwrite --purpose server-auth $DEST/java/cacerts
p11-kit extract --format=edk2-cacerts --filter=ca-anchors --overwrite --purpose=server-auth $DEST/edk2/cacerts.bin
# Hashed directory of BEGIN TRUSTED-style certs (usable as OpenSSL CApath and by GnuTLS)
p11-kit extract --format=pem-directory-hash --filter=ca-anchors --overwrite --purpose server-auth $DEST/pem/directory-hash
ln -sfn ../tls-ca-bundle.pem $DEST/pem/directory-hash/ca-certificates.crt
ln -sfn ../tls-ca-bundle.pem $DEST/pem/directory-hash/ca-bundle.crt
EOF
chmod 755 "$T/usr/bin/update-ca-trust"
ln -sfn /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem "$T/etc/pki/tls/certs/ca-bundle.crt"
install -m 755 "$BIN" "$T/usr/local/bin/anchorage"
install -d -m 755 "$T$CUSTOM"
# shellcheck disable=SC2016  # ${Version} is dpkg-query's format, not ours
log "tree: RHEL layout on Debian p11-kit $(in_root dpkg-query -W -f '${Version}' p11-kit 2>/dev/null); $VENDOR_ROOTS vendor roots"

OUT="$WORK/out"
ERR="$WORK/err"

# 1. Baseline --------------------------------------------------------------------------
in_root /usr/bin/update-ca-trust extract >"$OUT" 2>"$ERR"
rc=$?
BASE=$(count_certs "$T$TLS_BUNDLE")
if [[ $rc -eq 0 && $BASE -gt 100 && $BASE -le $VENDOR_ROOTS ]] && ! verifies "$T$TLS_BUNDLE" "$FX/tls.pem"; then
    ok "baseline: stand-in update-ca-trust (real p11-kit) extracts $BASE server-auth anchors; tls.pem not trusted"
else
    not_ok "baseline: stand-in update-ca-trust exit $rc, $BASE certificates in tls-ca-bundle.pem" "$ERR"
fi

# 2. install from the host with --root -----------------------------------------------------
host_anchorage --format json install "$FX/myNewCa.der" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$OUT" 'r["platform"] == "rhel" and r["changed"] is True and r["hook"]["ran"] and r["hook"]["exit_code"] == 0 and "chroot" in r["hook"]["command"][0] and r["hook"]["command"][-2:] == ["/usr/bin/update-ca-trust", "extract"]'; then
    ok "anchorage --root TREE install myNewCa.der: platform rhel, changed, the tree's hook ran via chroot"
else
    not_ok "anchorage --root TREE install myNewCa.der: exit $rc" "$OUT" "$ERR"
fi

anchor_files=$(find "$T$ANCHORS" -maxdepth 1 -type f -name 'anchorage-*' -printf '%f\n' | paste -sd' ')
after=$(count_certs "$T$TLS_BUNDLE")
if [[ -n $anchor_files && $after -eq $((BASE + 1)) && -z $(find "$T/usr/local/share/ca-certificates" -mindepth 1 -path "$T$CUSTOM" -prune -o -print) ]]; then
    ok "anchor $anchor_files in $ANCHORS; tls-ca-bundle.pem $BASE -> $after certificates (p11-kit parsed it)"
else
    not_ok "anchor files: '${anchor_files}', tls-ca-bundle.pem $BASE -> $after (want +1)"
fi

if verifies "$T$TLS_BUNDLE" "$FX/tls.pem" && openssl verify -CApath "$T$EXTRACTED/pem/directory-hash" "$FX/tls.pem" >/dev/null 2>&1; then
    ok "openssl verify tls.pem passes with tls-ca-bundle.pem and with the directory-hash CApath"
else
    not_ok "openssl verify tls.pem against the extracted bundle / directory-hash fails"
fi

in_root trust list --filter=ca-anchors >"$OUT" 2>"$ERR"
if grep -q '^ *label: myNewCa Test Root$' "$OUT"; then
    ok "p11-kit inside the tree lists 'myNewCa Test Root' as a CA anchor (trust list)"
else
    not_ok "trust list inside the tree does not show myNewCa Test Root"
fi

# 3. idempotent ------------------------------------------------------------------------------
host_anchorage --format json install "$FX/myNewCa.pem" >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$OUT" 'r["changed"] is False and r["hook"] is None'; then
    ok "install again (PEM this time): unchanged, hook not run"
else
    not_ok "install again: exit $rc, want changed false and hook null" "$OUT" "$ERR"
fi

# 4. remove ----------------------------------------------------------------------------------
host_anchorage --format json remove "$FX/myNewCa.der" >"$OUT" 2>"$ERR"
rc=$?
after=$(count_certs "$T$TLS_BUNDLE")
if [[ $rc -eq 0 ]] && json_check "$OUT" 'r["changed"] is True and r["hook"]["ran"]' &&
    [[ $after -eq $BASE && -z $(find "$T$ANCHORS" -maxdepth 1 -name 'anchorage-*') ]] && ! verifies "$T$TLS_BUNDLE" "$FX/tls.pem"; then
    ok "anchorage --root TREE remove myNewCa.der: anchor gone, tls-ca-bundle.pem back to $BASE, tls.pem no longer verifies"
else
    not_ok "remove: exit $rc, tls-ca-bundle.pem has $after (want $BASE)" "$OUT" "$ERR"
fi

# 5. The container start on this family (Dockerfile.ubi): exec inside the tree -------------
cp "$FX/myNewCa.pem" "$T$CUSTOM/myNewCa.pem"
cp "$FX/tls.pem" "$FX/tls2.pem" "$T/tmp/"
in_root anchorage --format json exec "$CUSTOM" -- openssl verify -CAfile "$TLS_BUNDLE" /tmp/tls.pem >"$OUT" 2>"$ERR"
rc=$?
if [[ $rc -eq 0 ]] && json_check "$ERR" 'r["platform"] == "rhel" and r["changed"] is True and r["hook"]["ran"]'; then
    ok "chroot: anchorage exec $CUSTOM -- openssl verify (tls-ca-bundle.pem) succeeds"
else
    not_ok "chroot: anchorage exec -- openssl verify: exit $rc" "$OUT" "$ERR"
fi

rm -f "$T$CUSTOM/myNewCa.pem"
cp "$FX/ca2.pem" "$T$CUSTOM/ca2.pem"
in_root anchorage exec "$CUSTOM" -- openssl verify -CAfile "$TLS_BUNDLE" /tmp/tls2.pem >"$OUT" 2>"$ERR"
rc2=$?
in_root anchorage exec "$CUSTOM" -- openssl verify -CAfile "$TLS_BUNDLE" /tmp/tls.pem >"$WORK/out1" 2>&1
rc1=$?
after=$(count_certs "$T$TLS_BUNDLE")
if [[ $rc2 -eq 0 && $rc1 -ne 0 && $after -eq $((BASE + 1)) ]]; then
    ok "rotation on the RHEL layout: ca2 trusted, myNewCa removed (tls-ca-bundle.pem: $after)"
else
    not_ok "rotation: verify tls2 exit $rc2 (want 0), tls exit $rc1 (want non-zero), bundle $after (want $((BASE + 1)))" "$ERR" "$WORK/out1"
fi

finish
