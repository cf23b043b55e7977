#!/usr/bin/env bash
# shellcheck disable=SC2317  # mounts_under/safe_rm are only reached from the EXIT trap
# anchorage against the real trust engine (p11-kit) of the RHEL, SUSE and Arch families,
# inside a Debian rootfs.
#
# Usage: tests/rootfs-p11kit.sh [FAMILY…]   (as root; CI runs it as root)
#        FAMILY: rhel, suse, arch (default: all three, in that order)
#
# Those families' hooks are thin scripts around p11-kit's `trust extract`: RHEL's
# /usr/bin/update-ca-trust, SUSE's /usr/sbin/update-ca-certificates (its update.d scripts),
# Arch's update-ca-trust, which Arch's p11-kit runs as `trust extract-compat`. Debian ships the
# same p11-kit; only its configured source paths differ. Following TESTING.md ("RHEL / SUSE /
# Arch families"), per family, on a copy of the rootfs cached by tests/rootfs.sh:
#   1. the p11-kit trust module reads the family's source paths
#      (RHEL /etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source, SUSE
#      /etc/pki/trust:/usr/share/pki/trust, Arch
#      /etc/ca-certificates/trust-source:/usr/share/ca-certificates/trust-source),
#   2. the distribution roots are in the family's vendor dir, /etc/os-release names the family,
#      Debian's update-ca-certificates is removed,
#   3. the family's hook is a STAND-IN written by this script -- not the distribution's script
#      -- making the same p11-kit extract calls into the same places: RHEL
#      /usr/bin/update-ca-trust; SUSE /usr/sbin/update-ca-certificates; Arch
#      /usr/bin/update-ca-trust behind /usr/libexec/p11-kit/trust-extract-compat, so the hook
#      anchorage runs on Arch is the real `trust extract-compat`. The certificate parsing,
#      trust filtering and bundle writing are the real p11-kit's.
# Then `anchorage --root TREE install/remove` from the host (anchorage runs the tree's own
# hook with chroot) and `anchorage exec` inside the tree (a container start) must reach the
# bundle anchorage judges for that family (src/platform.rs LAYOUTS: RHEL
# /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem, SUSE /var/lib/ca-certificates/ca-bundle.pem,
# Arch /etc/ssl/certs/ca-certificates.crt), proven with `openssl verify`.
#
# Output: `ok N - [family] …` / `not ok N - [family] …`, then `N passed, M failed`; exit 1 if
# any failed. Skips (exit 0, `SKIP: …`) exactly when tests/rootfs.sh skips;
# ANCHORAGE_ROOTFS_REQUIRED=1 makes a skip a failure. Same environment variables as
# tests/rootfs.sh.
set -uo pipefail

FAMILIES=("$@")
[[ ${#FAMILIES[@]} -gt 0 ]] || FAMILIES=(rhel suse arch)
for fam in "${FAMILIES[@]}"; do
    case $fam in
    rhel | suse | arch) ;;
    *)
        echo "usage: $0 [rhel|suse|arch]…" >&2
        exit 2
        ;;
    esac
done

unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO SSL_CERT_DIR XDG_RUNTIME_DIR
unset ANCHORAGE_SOURCES ANCHORAGE_BUNDLE_DIR ANCHORAGE_ON_ERROR ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
# shellcheck source=tests/rootfs-lib.sh
source "$REPO/tests/rootfs-lib.sh"
CUSTOM=/usr/local/share/ca-certificates/custom
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

WORK=""
TMPBASE=""

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
# The families. Each setup_FAMILY sets the paths anchorage uses for it (src/platform.rs
# LAYOUTS: anchors dir, hook, bundle), the p11-kit source paths, the vendor dir, a hashed
# CApath its hook writes, and writes the family's os-release and stand-in hook into $T.

# os_release NAME ID ID_LIKE VERSION_ID
os_release() {
    rm -f "$T/etc/os-release" "$T/usr/lib/os-release"
    cat >"$T/etc/os-release" <<EOF
NAME="$1"
ID="$2"
ID_LIKE="$3"
VERSION_ID="$4"
PRETTY_NAME="$1 $4 (stand-in: Debian rootfs, p11-kit configured like $1)"
EOF
}

setup_rhel() {
    SOURCE_PATHS=/etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source
    VENDOR=/usr/share/pki/ca-trust-source/anchors
    ANCHORS=/etc/pki/ca-trust/source/anchors
    BUNDLE=/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem
    CAPATH=/etc/pki/ca-trust/extracted/pem/directory-hash
    HOOK_RUN=(/usr/bin/update-ca-trust extract)
    HOOK_TAIL='["/usr/bin/update-ca-trust", "extract"]'
    os_release "Red Hat Enterprise Linux" rhel fedora 9.4
    mkdir -p "$T"/etc/pki/ca-trust/extracted/{pem,openssl,java,edk2} "$T/etc/pki/tls/certs"
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
}

setup_suse() {
    SOURCE_PATHS=/etc/pki/trust:/usr/share/pki/trust
    VENDOR=/usr/share/pki/trust/anchors
    ANCHORS=/etc/pki/trust/anchors
    BUNDLE=/var/lib/ca-certificates/ca-bundle.pem
    CAPATH=/var/lib/ca-certificates/pem
    HOOK_RUN=(/usr/sbin/update-ca-certificates)
    HOOK_TAIL='["/usr/sbin/update-ca-certificates"]'
    os_release "SLES" sles suse 15.5
    mkdir -p "$T/var/lib/ca-certificates"
    cat >"$T/usr/sbin/update-ca-certificates" <<'EOF'
#!/bin/sh
# STAND-IN for SUSE's /usr/sbin/update-ca-certificates (package ca-certificates), written by
# anchorage's tests/rootfs-p11kit.sh into a Debian test rootfs. NOT SUSE's script: SUSE's runs
# the scripts of /usr/lib/ca-certificates/update.d/; this one makes the p11-kit `trust extract`
# calls those scripts make (certbundle.run, etc_ssl.run, openssl.run, java.run), into the same
# places under /var/lib/ca-certificates. The parsing, trust filtering and output are the real
# p11-kit's.
set -e
D=/var/lib/ca-certificates
# certbundle.run: the PEM bundle (/etc/ssl/ca-bundle.pem links to it), written, then renamed
trust extract --format=pem-bundle --purpose=server-auth --filter=ca-anchors --overwrite "$D/ca-bundle.pem.new"
mv -f "$D/ca-bundle.pem.new" "$D/ca-bundle.pem"
# etc_ssl.run: the hashed directory /etc/ssl/certs links to
trust extract --format=pem-directory-hash --purpose=server-auth --filter=ca-anchors --overwrite "$D/pem"
# openssl.run: OpenSSL's trusted-certificate directory
trust extract --format=openssl-directory --filter=certificates --overwrite "$D/openssl"
# java.run
trust extract --format=java-cacerts --purpose=server-auth --filter=ca-anchors --overwrite "$D/java-cacerts"
EOF
    chmod 755 "$T/usr/sbin/update-ca-certificates"
    # SUSE: /etc/ssl/certs is a link to the hashed directory, /etc/ssl/ca-bundle.pem to the bundle.
    rm -rf --one-file-system -- "$T/etc/ssl/certs"
    ln -s /var/lib/ca-certificates/pem "$T/etc/ssl/certs"
    ln -sfn /var/lib/ca-certificates/ca-bundle.pem "$T/etc/ssl/ca-bundle.pem"
}

setup_arch() {
    SOURCE_PATHS=/etc/ca-certificates/trust-source:/usr/share/ca-certificates/trust-source
    VENDOR=/usr/share/ca-certificates/trust-source/anchors
    ANCHORS=/etc/ca-certificates/trust-source/anchors
    BUNDLE=/etc/ssl/certs/ca-certificates.crt
    CAPATH=/etc/ca-certificates/extracted/cadir
    HOOK_RUN=(/usr/bin/trust extract-compat)
    HOOK_TAIL='["/usr/bin/trust", "extract-compat"]'
    os_release "Arch Linux" arch "" rolling
    mkdir -p "$T/etc/ca-certificates/extracted" "$T/usr/libexec/p11-kit"
    cat >"$T/usr/bin/update-ca-trust" <<'EOF'
#!/bin/sh
# STAND-IN for Arch's /usr/bin/update-ca-trust (package ca-certificates-utils), written by
# anchorage's tests/rootfs-p11kit.sh into a Debian test rootfs. Arch's p11-kit runs it as
# `trust extract-compat` (its trust-extract-compat links here; in this tree the link is in
# Debian's p11-kit libexec dir). NOT Arch's script: it makes the same p11-kit `trust extract`
# calls into /etc/ca-certificates/extracted; /etc/ssl/certs/ca-certificates.crt links to
# tls-ca-bundle.pem as Arch's package ships it. The parsing, trust filtering and output are
# the real p11-kit's.
set -e
DEST=/etc/ca-certificates/extracted
trust extract --overwrite --format=openssl-bundle --filter=certificates --comment "$DEST/ca-bundle.trust.crt"
trust extract --overwrite --format=pem-bundle --filter=ca-anchors --comment --purpose server-auth "$DEST/tls-ca-bundle.pem"
trust extract --overwrite --format=pem-bundle --filter=ca-anchors --comment --purpose email "$DEST/email-ca-bundle.pem"
trust extract --overwrite --format=pem-bundle --filter=ca-anchors --comment --purpose code-signing "$DEST/objsign-ca-bundle.pem"
trust extract --overwrite --format=java-cacerts --filter=ca-anchors --purpose server-auth "$DEST/java-cacerts.jks"
trust extract --overwrite --format=pem-directory-hash --filter=ca-anchors --purpose server-auth "$DEST/cadir"
EOF
    chmod 755 "$T/usr/bin/update-ca-trust"
    ln -sfn /usr/bin/update-ca-trust "$T/usr/libexec/p11-kit/trust-extract-compat"
    # Debian's /etc/ssl/certs (its hook's links and bundle) is not Arch's: only the bundle link.
    rm -rf --one-file-system -- "$T/etc/ssl/certs"
    mkdir -p "$T/etc/ssl/certs"
    ln -s ../../ca-certificates/extracted/tls-ca-bundle.pem "$T$BUNDLE"
}

# ---------------------------------------------------------------------------------------
# The scenarios, for one family.
run_family() {
    local fam=$1 rc rc1 rc2 base after anchor_files vendor_roots
    T="$WORK/$fam"
    log "[$fam] copying $CACHE"
    cp -a "$CACHE" "$T" || {
        not_ok "[$fam] copy $CACHE"
        return
    }
    [[ -c $T/dev/null ]] || { rm -f "$T/dev/null" && mknod -m 666 "$T/dev/null" c 1 3; }
    rm -f "$T/usr/sbin/update-ca-certificates" # Debian's; SUSE's stand-in replaces it
    "setup_$fam"

    sed -i "s|^x-init-reserved:.*\$|x-init-reserved: paths=$SOURCE_PATHS|" "$T/usr/share/p11-kit/modules/p11-kit-trust.module"
    mkdir -p "$T$VENDOR" "$T$ANCHORS"
    cp "$T"/usr/share/ca-certificates/mozilla/*.crt "$T$VENDOR/"
    vendor_roots=$(find "$T$VENDOR" -type f | wc -l)
    install -m 755 "$BIN" "$T/usr/local/bin/anchorage"
    install -d -m 755 "$T$CUSTOM"
    # shellcheck disable=SC2016  # ${Version} is dpkg-query's format, not ours
    log "[$fam] tree: layout of $fam on Debian p11-kit $(in_root dpkg-query -W -f '${Version}' p11-kit 2>/dev/null) (paths=$SOURCE_PATHS); $vendor_roots vendor roots in $VENDOR; stand-in hook: ${HOOK_RUN[*]}"

    # 1. Baseline ----------------------------------------------------------------------
    in_root "${HOOK_RUN[@]}" >"$OUT" 2>"$ERR"
    rc=$?
    base=$(count_certs "$T$BUNDLE")
    if [[ $rc -eq 0 && $base -gt 100 && $base -le $vendor_roots ]] && ! verifies "$T$BUNDLE" "$FX/tls.pem"; then
        ok "[$fam] baseline: ${HOOK_RUN[*]} (stand-in, real p11-kit) extracts $base server-auth anchors to $BUNDLE; tls.pem not trusted"
    else
        not_ok "[$fam] baseline: ${HOOK_RUN[*]} exit $rc, $base certificates in $BUNDLE" "$OUT" "$ERR"
    fi

    # 2. install from the host with --root -------------------------------------------------
    host_anchorage --format json install "$FX/myNewCa.der" >"$OUT" 2>"$ERR"
    rc=$?
    if [[ $rc -eq 0 ]] && json_check "$OUT" "r['platform'] == '$fam' and r['changed'] is True and [c['action'] for c in r['certificates']] == ['added'] and r['hook']['ran'] and r['hook']['exit_code'] == 0 and 'chroot' in r['hook']['command'][0] and r['hook']['command'][-len($HOOK_TAIL):] == $HOOK_TAIL"; then
        ok "[$fam] anchorage --root TREE install myNewCa.der: platform $fam, added, the tree's hook (${HOOK_RUN[*]}) ran via chroot"
    else
        not_ok "[$fam] anchorage --root TREE install myNewCa.der: exit $rc" "$OUT" "$ERR"
    fi

    anchor_files=$(find "$T$ANCHORS" -maxdepth 1 -type f -name 'anchorage-*' -printf '%f\n' | paste -sd' ')
    after=$(count_certs "$T$BUNDLE")
    if [[ -n $anchor_files && $after -eq $((base + 1)) && -z $(find "$T/usr/local/share/ca-certificates" -mindepth 1 -path "$T$CUSTOM" -prune -o -print) ]]; then
        ok "[$fam] anchor $anchor_files in $ANCHORS; $BUNDLE $base -> $after certificates (p11-kit parsed it)"
    else
        not_ok "[$fam] anchor files: '${anchor_files}', $BUNDLE $base -> $after (want +1)"
    fi

    if verifies "$T$BUNDLE" "$FX/tls.pem" && openssl verify -CApath "$T$CAPATH" "$FX/tls.pem" >/dev/null 2>&1; then
        ok "[$fam] openssl verify tls.pem passes with $BUNDLE and with the hashed CApath $CAPATH"
    else
        not_ok "[$fam] openssl verify tls.pem against $BUNDLE / CApath $CAPATH fails"
    fi

    in_root trust list --filter=ca-anchors >"$OUT" 2>"$ERR"
    if grep -q '^ *label: myNewCa Test Root$' "$OUT"; then
        ok "[$fam] p11-kit inside the tree lists 'myNewCa Test Root' as a CA anchor (trust list)"
    else
        not_ok "[$fam] trust list inside the tree does not show myNewCa Test Root"
    fi

    # 3. idempotent --------------------------------------------------------------------------
    host_anchorage --format json install "$FX/myNewCa.pem" >"$OUT" 2>"$ERR"
    rc=$?
    if [[ $rc -eq 0 ]] && json_check "$OUT" 'r["changed"] is False and r["hook"] is None'; then
        ok "[$fam] install again (PEM this time): unchanged, hook not run"
    else
        not_ok "[$fam] install again: exit $rc, want changed false and hook null" "$OUT" "$ERR"
    fi

    # 4. remove ------------------------------------------------------------------------------
    host_anchorage --format json remove "$FX/myNewCa.der" >"$OUT" 2>"$ERR"
    rc=$?
    after=$(count_certs "$T$BUNDLE")
    if [[ $rc -eq 0 ]] && json_check "$OUT" 'r["changed"] is True and r["hook"]["ran"]' &&
        [[ $after -eq $base && -z $(find "$T$ANCHORS" -maxdepth 1 -name 'anchorage-*') ]] && ! verifies "$T$BUNDLE" "$FX/tls.pem"; then
        ok "[$fam] anchorage --root TREE remove myNewCa.der: anchor gone, $BUNDLE back to $base, tls.pem no longer verifies"
    else
        not_ok "[$fam] remove: exit $rc, $BUNDLE has $after (want $base)" "$OUT" "$ERR"
    fi

    # 5. The container start on this family: exec inside the tree -----------------------------
    cp "$FX/myNewCa.pem" "$T$CUSTOM/myNewCa.pem"
    cp "$FX/tls.pem" "$FX/tls2.pem" "$T/tmp/"
    in_root anchorage --format json exec "$CUSTOM" -- openssl verify -CAfile "$BUNDLE" /tmp/tls.pem >"$OUT" 2>"$ERR"
    rc=$?
    if [[ $rc -eq 0 ]] && json_check "$ERR" "r['platform'] == '$fam' and r['changed'] is True and r['hook']['ran']"; then
        ok "[$fam] chroot: anchorage exec $CUSTOM -- openssl verify -CAfile $BUNDLE succeeds"
    else
        not_ok "[$fam] chroot: anchorage exec -- openssl verify: exit $rc" "$OUT" "$ERR"
    fi

    rm -f "$T$CUSTOM/myNewCa.pem"
    cp "$FX/ca2.pem" "$T$CUSTOM/ca2.pem"
    in_root anchorage exec "$CUSTOM" -- openssl verify -CAfile "$BUNDLE" /tmp/tls2.pem >"$OUT" 2>"$ERR"
    rc2=$?
    in_root anchorage exec "$CUSTOM" -- openssl verify -CAfile "$BUNDLE" /tmp/tls.pem >"$WORK/out1" 2>&1
    rc1=$?
    after=$(count_certs "$T$BUNDLE")
    if [[ $rc2 -eq 0 && $rc1 -ne 0 && $after -eq $((base + 1)) ]]; then
        ok "[$fam] rotation: ca2 trusted, myNewCa removed ($BUNDLE: $after)"
    else
        not_ok "[$fam] rotation: verify tls2 exit $rc2 (want 0), tls exit $rc1 (want non-zero), bundle $after (want $((base + 1)))" "$ERR" "$WORK/out1"
    fi

    if [[ ${ANCHORAGE_ROOTFS_KEEP:-} != 1 ]]; then
        safe_rm "$T" "$WORK"
    fi
}

OUT="$WORK/out"
ERR="$WORK/err"
for fam in "${FAMILIES[@]}"; do
    run_family "$fam"
done

finish
