#!/bin/sh
# Provision trust anchors with anchorage: an idempotent example for cloud-init user-data, a
# golden-image build step or a cron/systemd timer. POSIX sh (runs on Alpine too).
#
# Usage:  install.sh [--check] [SOURCE...]
#
#   SOURCE   CA files or directories on this machine, any encoding (PEM, DER, PKCS#7,
#            PKCS#12); default: $CA_SOURCES, or /etc/anchorage/cas. Nothing is downloaded: ship
#            the files with the image, a config drive, cloud-init `write_files`, or a mount.
#   --check  report what would change, change nothing
#
# cloud-init user-data example:
#
#   #cloud-config
#   write_files:
#     - path: /etc/anchorage/cas/company-root.crt
#       content: |
#         -----BEGIN CERTIFICATE-----
#         ...
#   runcmd:
#     - [sh, /usr/local/sbin/anchorage-install.sh]      # this file, shipped in the image
#
# Environment:
#   CA_SOURCES          default sources (colon-separated), default /etc/anchorage/cas
#   ANCHORAGE_MODE      sync (default: the managed anchors become exactly SOURCEs) or install
#                       (only add)
#   ANCHORAGE           the anchorage binary (default: `anchorage` in PATH, else
#                       /usr/local/bin/anchorage)
#   ANCHORAGE_PACKAGE   a local .deb, .rpm or portable binary installed when anchorage is missing
#   ON_CHANGE           a command run (by sh -c) only when the trust store changed, e.g.
#                       "systemctl restart my-agent"
#   ANCHORAGE_ROOT, ANCHORAGE_NSSDB, ANCHORAGE_PLATFORM ...  read by anchorage itself
#
# Idempotent: anchorage compares certificates by SHA-256 and changes nothing (and runs no
# update hook) when they are in place; this script branches on the report's `changed` to run
# ON_CHANGE only then. Exit status is anchorage's (0 ok, 1 failure, 2 usage, 65 bad input,
# 66 missing source, 69 missing program, 74 I/O error, 77 permission denied).
set -u

log() { printf 'anchorage-install: %s\n' "$*" >&2; }

CHECK=
if [ "${1:-}" = "--check" ]; then
    CHECK=--check
    shift
fi
if [ $# -eq 0 ]; then
    # Split CA_SOURCES on ':' into the positional parameters.
    old_ifs=$IFS
    IFS=:
    # shellcheck disable=SC2086 # splitting on ':' is the point
    set -- ${CA_SOURCES:-/etc/anchorage/cas}
    IFS=$old_ifs
fi
MODE=${ANCHORAGE_MODE:-sync}
case $MODE in
sync | install) ;;
*)
    log "ANCHORAGE_MODE must be sync or install, not '$MODE'"
    exit 2
    ;;
esac

# --- the binary --------------------------------------------------------------------------------
find_anchorage() {
    if [ -n "${ANCHORAGE:-}" ]; then
        [ -x "$ANCHORAGE" ] && printf '%s\n' "$ANCHORAGE"
        return
    fi
    command -v anchorage 2>/dev/null || { [ -x /usr/local/bin/anchorage ] && echo /usr/local/bin/anchorage; }
}

install_anchorage() {
    pkg=$1
    log "installing anchorage from $pkg"
    case $pkg in
    *.deb) dpkg -i "$pkg" || apt-get install -y -f ;;
    *.rpm) rpm -U --replacepkgs "$pkg" ;;
    *) install -m 0755 "$pkg" /usr/local/bin/anchorage ;;
    esac
}

# The platform's CA tooling, when anchorage says it is missing (exit 69).
install_ca_tools() {
    if command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y ca-certificates
    elif command -v dnf >/dev/null 2>&1; then
        dnf install -y ca-certificates
    elif command -v yum >/dev/null 2>&1; then
        yum install -y ca-certificates
    elif command -v zypper >/dev/null 2>&1; then
        zypper --non-interactive install ca-certificates
    elif command -v apk >/dev/null 2>&1; then
        apk add --no-cache ca-certificates
    else
        return 1
    fi
}

BIN=$(find_anchorage)
if [ -z "$BIN" ] && [ -n "${ANCHORAGE_PACKAGE:-}" ]; then
    install_anchorage "$ANCHORAGE_PACKAGE" || {
        log "could not install $ANCHORAGE_PACKAGE"
        exit 69
    }
    BIN=$(find_anchorage)
fi
if [ -z "$BIN" ]; then
    log "anchorage not found (set ANCHORAGE or ANCHORAGE_PACKAGE, or install the package)"
    exit 69
fi

# --- JSON fields: jq, else python3 -------------------------------------------------------------
# json_field FIELD < JSON: print the top-level FIELD (true/false or text), empty if absent.
json_field() {
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg f "$1" '.[$f] // empty | tostring'
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"
    else
        log "need jq or python3 to read anchorage's JSON report"
        return 1
    fi
}

# --- run ---------------------------------------------------------------------------------------
OUT=$(mktemp "${TMPDIR:-/tmp}/anchorage-install.XXXXXX") || exit 74
trap 'rm -f "$OUT"' EXIT

run() {
    # stdout: the JSON report (or failure object); stderr: anchorage's log, passed through.
    "$BIN" --format json "$MODE" $CHECK -- "$@" >"$OUT"
}

run "$@"
rc=$?
if [ $rc -eq 69 ] && [ -z "$CHECK" ]; then
    log "$(json_field msg <"$OUT")"
    log "installing the platform's CA tools, then trying once more"
    if install_ca_tools >&2; then
        run "$@"
        rc=$?
    fi
fi

case $rc in
0)
    changed=$(json_field changed <"$OUT") || exit 1
    if [ "$changed" = true ]; then
        if [ -n "$CHECK" ]; then
            log "would change the trust store (check mode)"
        else
            log "trust store changed"
            if [ -n "${ON_CHANGE:-}" ]; then
                log "running ON_CHANGE: $ON_CHANGE"
                sh -c "$ON_CHANGE" >&2 || {
                    log "ON_CHANGE failed"
                    exit 1
                }
            fi
        fi
    else
        log "trust anchors already in place"
    fi
    ;;
2) log "usage error (a bug in this script or its settings): $(json_field msg <"$OUT")" ;;
65) log "bad input, not retried -- fix or remove the file: $(json_field msg <"$OUT")" ;;
66) log "a source does not exist (not written or mounted yet?): $(json_field msg <"$OUT")" ;;
69) log "a program anchorage needs is missing: $(json_field msg <"$OUT")" ;;
74) log "I/O error (disk full? read-only file system?): $(json_field msg <"$OUT")" ;;
77) log "permission denied (run as root, or set ANCHORAGE_ROOT to a tree you own): $(json_field msg <"$OUT")" ;;
1) log "failed: $(json_field msg <"$OUT")" ;;
*) log "anchorage exited $rc (unexpected)" ;;
esac
# The report on stdout for whoever runs this (cloud-init logs it).
cat "$OUT"
exit $rc
