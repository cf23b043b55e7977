#!/usr/bin/env bash
# The systemd units of packaging/systemd/ (issue 17): `systemd-analyze verify` on them the way
# the packages install them, and their contract.
#
# Usage: tests/systemd.sh [UNIT_DIR [BINARY]]
#   UNIT_DIR  the units to check (default packaging/systemd; packaging/check-packages.sh passes
#             the .deb's lib/systemd/system)
#   BINARY    the anchorage to install as /usr/bin/anchorage (default $ANCHORAGE_BIN, else
#             target/debug/anchorage)
#
# `systemd-analyze verify` needs no running systemd (this machine's PID 1 is not systemd), but
# it checks that ExecStart's binary exists (and would run `man` for Documentation= man: pages —
# the units name none, so verify passes where man-db is not installed): it runs
# with --root on a scratch tree holding the host's unit directory (for sysinit.target & co.),
# the units under /lib/systemd/system and the binary as /usr/bin/anchorage, with MANPATH at the
# pages `anchorage man --dir` writes. A copy with a missing binary must fail (the check is
# real). Output: TAP-style (scripts/tap.sh); SKIP when systemd-analyze is not installed.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"

UNITS=${1:-$REPO/packaging/systemd}
BIN=${2:-${ANCHORAGE_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/anchorage}}
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
    exit 0
fi
[[ -x $BIN ]] || { not_ok "the binary $BIN exists (cargo build)"; finish; }
ALL=(anchorage-sync.service anchorage-sync.path anchorage-metrics.service anchorage-metrics.timer)
WORK=$(mktemp -d /tmp/anchorage-systemd.XXXXXX)
# shellcheck disable=SC2317 # the EXIT trap
cleanup() { case $WORK in /tmp/anchorage-systemd.*) rm -rf "$WORK" ;; esac; }
trap cleanup EXIT

for u in "${ALL[@]}"; do
    check "$u exists" test -s "$UNITS/$u"
done
mkroot() { # mkroot DIR BINARY|"": a scratch root for verify
    mkdir -p "$1/lib/systemd" "$1/usr/bin" "$1/etc/systemd/system"
    cp -a /lib/systemd/system "$1/lib/systemd/"
    for u in "${ALL[@]}"; do cp "$UNITS/$u" "$1/lib/systemd/system/"; done
    if [[ -n $2 ]]; then cp "$2" "$1/usr/bin/anchorage"; fi
}
mkdir -p "$WORK/man/man1"
"$BIN" man --dir "$WORK/man/man1" >/dev/null
mkroot "$WORK/root" "$BIN"
if MANPATH=$WORK/man systemd-analyze verify --root="$WORK/root" "${ALL[@]}" >"$WORK/verify.log" 2>&1; then
    ok "systemd-analyze verify ${ALL[*]} (binary, man pages, dependencies)"
else
    not_ok "systemd-analyze verify" "$WORK/verify.log"
fi
mkroot "$WORK/nobin" ""
if MANPATH=$WORK/man systemd-analyze verify --root="$WORK/nobin" anchorage-sync.service >"$WORK/nobin.log" 2>&1; then
    not_ok "verify fails when /usr/bin/anchorage is missing (the check is real)"
else
    check "verify fails when /usr/bin/anchorage is missing (the check is real)" grep -q "/usr/bin/anchorage" "$WORK/nobin.log"
fi

# The contract (issue 17): what each unit runs and when.
key() { sed -n "s/^$2=//p" "$UNITS/$1"; }
check "anchorage-sync.service: Type=oneshot" test "$(key anchorage-sync.service Type)" == oneshot
check "anchorage-sync.service: ExecStart=/usr/bin/anchorage sync /etc/anchorage/cas" \
    test "$(key anchorage-sync.service ExecStart)" == "/usr/bin/anchorage sync /etc/anchorage/cas"
check "anchorage-sync.service: writes the metrics (anchorage metrics --output …)" \
    grep -Eq '^Exec(StartPost|StopPost)=-?/usr/bin/anchorage metrics --output /var/lib/prometheus/node-exporter/[a-z-]+\.prom$' "$UNITS/anchorage-sync.service"
check "anchorage-sync.path: PathChanged=/etc/anchorage/cas, Unit=anchorage-sync.service" \
    test "$(key anchorage-sync.path PathChanged):$(key anchorage-sync.path Unit)" == "/etc/anchorage/cas:anchorage-sync.service"
check "anchorage-metrics.timer: OnCalendar=daily, Unit=anchorage-metrics.service" \
    test "$(key anchorage-metrics.timer OnCalendar):$(key anchorage-metrics.timer Unit)" == "daily:anchorage-metrics.service"
check "anchorage-metrics.service: oneshot anchorage metrics --output" \
    grep -Eq '^ExecStart=/usr/bin/anchorage metrics --output /' "$UNITS/anchorage-metrics.service"

# The commands the units run, against a scratch --root tree (ANCHORAGE_ROOT): they work as
# written (the sync's source directory and the metrics file are host paths, as on a machine).
T=$WORK/tree
mkdir -p "$T/etc/ssl/certs" "$T/usr/share" "$T/usr/local/share/ca-certificates" "$T/var/lib" "$WORK/cas" "$WORK/textfile"
cp -a /usr/share/ca-certificates "$T/usr/share/" && cp /etc/ca-certificates.conf "$T/etc/"
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/ca.key" -out "$WORK/cas/ca.pem" -days 30 -nodes \
    -subj "/CN=systemd unit test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
unitcmd() { # unitcmd UNIT KEY: the command line, with the unit's paths pointed at the scratch dirs
    key "$1" "$2" | sed -e 's/^-//' -e "s#^/usr/bin/anchorage#$BIN#" -e "s#/etc/anchorage/cas#$WORK/cas#" \
        -e "s#/var/lib/prometheus/node-exporter#$WORK/textfile#"
}
read -ra sync_cmd <<<"$(unitcmd anchorage-sync.service ExecStart)"
read -ra metrics_cmd <<<"$(unitcmd anchorage-sync.service ExecStopPost)"
if ANCHORAGE_ROOT=$T "${sync_cmd[@]}" >"$WORK/sync.log" 2>&1 && ANCHORAGE_ROOT=$T "${metrics_cmd[@]}" >>"$WORK/sync.log" 2>&1 &&
    grep -q '^anchorage_last_run_success 1$' "$WORK/textfile/anchorage.prom" && grep -q 'systemd unit test CA' "$WORK/textfile/anchorage.prom"; then
    ok "anchorage-sync.service's commands: the CA synced, the metrics written"
else
    not_ok "anchorage-sync.service's commands" "$WORK/sync.log"
fi
finish
