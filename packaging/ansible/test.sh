#!/usr/bin/env bash
# Test the Ansible role and module for real: ansible-core from PyPI (in a venv), against
# localhost (-c local) and a --root sandbox tree (a Debian layout copied from the host, as the
# Rust tests build it), with fixtures from tests/fixtures/make-fixtures.sh.
#
# Usage: packaging/ansible/test.sh
#
# Checks: ansible-lint passes; site.yml and the test playbooks pass --syntax-check; the module
# in check mode reports the change and changes nothing; the first run changes (changed=1), the
# second does not (changed=0); state=exact removes what is not listed and state=absent removes;
# a bad source fails the task with anchorage's own message (msg, error.kind, rc 65); the role
# (site.yml) installs the binary and CAs, then is idempotent.
#
# Output: `ok N - ...` / `not ok N - ...`, then `N passed, M failed`; exit 1 if any failed.
#
# Environment:
#   ANCHORAGE_BIN=FILE        the binary (default target/release/anchorage, built if missing;
#                             scripts/test.sh passes the test-profile build)
#   ANCHORAGE_TOOLS_DIR=DIR   where the venv lives (default ~/.cache/anchorage-packaging),
#                             reused while requirements.txt is unchanged
#   ANCHORAGE_KEEP=1          keep the work directory (path printed)
# SC2317: functions run through check() look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOOLS=${ANCHORAGE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/anchorage-packaging}
VENV=$TOOLS/ansible-venv

# The machine's global settings must not decide for the binary or for Ansible.
unset ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB ANCHORAGE_PASSWORD
unset ANSIBLE_CONFIG ANSIBLE_LIBRARY ANSIBLE_ROLES_PATH ANSIBLE_INVENTORY

# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
die() {
    not_ok "$*"
    finish
}

# --- tools -------------------------------------------------------------------------------------
BIN=${ANCHORAGE_BIN:-$REPO/target/release/anchorage}
if [[ ! -x $BIN ]]; then
    echo "# building $BIN"
    (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release"
fi

stamp=$(sha256sum "$HERE/requirements.txt" | cut -c1-16)
venv_ok() {
    [[ -x $VENV/bin/ansible-playbook && -x $VENV/bin/ansible-lint && -f $VENV/.anchorage-stamp &&
        $(cat "$VENV/.anchorage-stamp") == "$stamp" ]]
}
# The tools directory is shared by every clone on the machine (packaging/build.sh too): use the
# venv under a shared flock on $TOOLS/.lock, install it only under the exclusive one.
mkdir -p "$TOOLS"
exec 9>"$TOOLS/.lock"
flock -s 9
if venv_ok; then
    echo "# ansible venv: reusing $VENV"
else
    flock -x 9
    if venv_ok; then
        echo "# ansible venv: reusing $VENV (installed by a concurrent run)"
    else
        echo "# ansible venv: installing into $VENV"
        rm -rf "$VENV"
        if python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"; then
            echo "$stamp" >"$VENV/.anchorage-stamp"
        else
            die "install ansible-core and ansible-lint from PyPI into $VENV"
        fi
    fi
    flock -s 9
fi
export PATH="$VENV/bin:$PATH"
# The whole output, then its first line: `| head -n1` closed the pipe early and Python printed a
# BrokenPipeError traceback.
ansible_version=$("$VENV/bin/ansible" --version 2>/dev/null)
lint_version=$("$VENV/bin/ansible-lint" --nocolor --version 2>/dev/null)
echo "# ${ansible_version%%$'\n'*}, ansible-lint $(awk 'NR == 1 {print $2}' <<<"$lint_version")"

# --- work directory ----------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/anchorage-ansible.XXXXXX")
if [[ ${ANCHORAGE_KEEP:-0} == 1 ]]; then
    echo "# work directory kept: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
# A private copy: the file under test must not change while the tests run (a rebuild).
cp "$BIN" "$WORK/anchorage" || die "copy $BIN"
BIN=$WORK/anchorage
FX=$WORK/fixtures
bash "$REPO/tests/fixtures/make-fixtures.sh" "$FX" >/dev/null || die "make fixtures"
export ANSIBLE_CONFIG=$HERE/ansible.cfg
export ANSIBLE_LOCAL_TEMP=$WORK/ansible-local ANSIBLE_REMOTE_TEMP=$WORK/ansible-remote
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_DEPRECATION_WARNINGS=0
cd "$HERE" || die "cd $HERE"

# sandbox DIR: a Debian-layout tree like the Rust tests' debian_tree().
sandbox() {
    local d=$1
    rm -rf "$d"
    mkdir -p "$d/etc/ssl/certs" "$d/usr/share" "$d/usr/local/share/ca-certificates" &&
        cp -a /usr/share/ca-certificates "$d/usr/share/" &&
        cp /etc/ca-certificates.conf "$d/etc/ca-certificates.conf"
}
# snapshot DIR: a digest of every path, type, mode and content under DIR.
snapshot() {
    (cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
}
# play LOG ARGS...: run ansible-playbook, output to LOG, return its exit code.
play() {
    local log=$1
    shift
    ansible-playbook "$@" >"$log" 2>&1
}
# recap LOG FIELD: the number after FIELD= in LOG's PLAY RECAP line for localhost.
recap() {
    sed -n "s/^localhost .*[[:space:]]$2=\([0-9]*\).*/\1/p" "$1" | tail -n1
}
# expect_play DESC LOG CHANGED: the play succeeded with changed=CHANGED and failed=0.
expect_play() {
    local desc=$1 log=$2 rc=$3 want=$4 changed failed
    changed=$(recap "$log" changed)
    failed=$(recap "$log" failed)
    if [[ $rc -eq 0 && $changed == "$want" && $failed == 0 ]]; then
        ok "$desc (changed=$changed)"
    else
        not_ok "$desc (exit $rc, changed=${changed:-?} failed=${failed:-?}, want changed=$want; log follows)"
        sed 's/^/#   /' "$log"
    fi
}
LOGS=$WORK/logs
mkdir -p "$LOGS"

# --- lint and syntax ---------------------------------------------------------------------------
if ansible-lint --nocolor >"$LOGS/lint.log" 2>&1; then
    ok "ansible-lint passes ($(grep -o 'Passed: .*' "$LOGS/lint.log" | head -n1))"
else
    not_ok "ansible-lint passes (log follows)"
    sed 's/^/#   /' "$LOGS/lint.log"
fi
for pb in site.yml tests/module.yml tests/bad-source.yml; do
    if ansible-playbook -i inventory.example.yml --syntax-check "$pb" >"$LOGS/syntax.log" 2>&1; then
        ok "$pb: --syntax-check"
    else
        not_ok "$pb: --syntax-check (log follows)"
        sed 's/^/#   /' "$LOGS/syntax.log"
    fi
done

# --- the module --------------------------------------------------------------------------------
SB=$WORK/root
sandbox "$SB" || die "build the sandbox tree"
M=(-i "localhost," -c local -e "ansible_python_interpreter=$VENV/bin/python" -e "sandbox=$SB" -e "anchorage_bin=$BIN")

# module LOG DESC CHANGED SOURCES-JSON EXPECT-JSON [ARGS...]: run tests/module.yml on $SB.
module() {
    local log=$LOGS/$1 desc=$2 want=$3 sources=$4 expect=$5 rc
    shift 5
    play "$log" "${M[@]}" -e "{\"sources\": $sources, \"expect\": $expect}" "$@" tests/module.yml
    rc=$?
    expect_play "$desc" "$log" $rc "$want"
}
ONE="[\"$FX/myNewCa.crt\"]"
CA2="[\"$FX/ca2.pem\"]"
lacks() { ! grep -qF -- "$1" "$2"; } # lacks TEXT FILE
# managed ROOT SUBJECT-SUBSTRING...: exactly these anchors are managed in ROOT, all in the bundle.
managed() {
    local root=$1
    shift
    "$BIN" --root "$root" --format json list | python3 -c '
import json, sys
c = json.load(sys.stdin)["certificates"]
want = sys.argv[1:]
sys.exit(not (len(c) == len(want) and all(x["in_bundle"] for x in c)
              and all(any(w in x["subject"] for x in c) for w in want)))' "$@"
}

before=$(snapshot "$SB")
module check1.log "module, check mode on a fresh tree: would_add" 1 "$ONE" '["would_add"]' --check
check "module, check mode changed nothing in the tree" test "$before" == "$(snapshot "$SB")"
module run1.log "module, first run: added" 1 "$ONE" '["added"]'
check "module, first run: the CA is managed and in the bundle" managed "$SB" "myNewCa Test Root"
module run2.log "module, second run: unchanged" 0 "$ONE" '["unchanged"]'
before=$(snapshot "$SB")
module check2.log "module, check mode when in place: unchanged" 0 "$ONE" '["unchanged"]' --check
check "module, check mode changed nothing in the tree" test "$before" == "$(snapshot "$SB")"
module exact1.log "module, state=exact --check: would add ca2, would remove myNewCa" 1 "$CA2" '["would_add", "would_remove"]' -e state=exact --check
module exact2.log "module, state=exact: adds ca2, removes myNewCa" 1 "$CA2" '["added", "removed"]' -e state=exact
check "module, state=exact: only ca2 is managed now" managed "$SB" "Rotation Root 2"
module exact3.log "module, state=exact again: unchanged" 0 "$CA2" '["unchanged"]' -e state=exact
module absent1.log "module, state=absent: removed" 1 "$CA2" '["removed"]' -e state=absent
module absent2.log "module, state=absent again: nothing to do" 0 "$CA2" '[]' -e state=absent
check "module, state=absent: nothing managed any more" managed "$SB"
module p12.log "module, PKCS#12 with password (in the environment, not argv): would_add the CA, skip the server cert" 1 \
    "[\"$FX/default.p12\"]" '["would_add", "skipped"]' -e 'p12_password="s3cret pass"' --check
check "module: the password is not in the play's output" lacks "s3cret pass" "$LOGS/p12.log"

# --- a bad source ------------------------------------------------------------------------------
BAD=$FX/garbage.bin
expected=$("$BIN" --root "$SB" --format json install "$BAD" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["msg"])')
if [[ -z $expected ]]; then
    not_ok "the binary's own failure message for $BAD"
else
    play "$LOGS/bad1.log" "${M[@]}" -e "{\"sources\": [\"$BAD\"], \"expect\": []}" tests/module.yml
    rc=$?
    if [[ $rc -ne 0 && $(recap "$LOGS/bad1.log" failed) == 1 ]] && grep -qF "FAILED!" "$LOGS/bad1.log" &&
        grep -qF "\"msg\": \"$expected\"" "$LOGS/bad1.log"; then
        ok "bad source: the task fails with anchorage's message ($expected)"
    else
        not_ok "bad source: the task fails with anchorage's message '$expected' (exit $rc; log follows)"
        sed 's/^/#   /' "$LOGS/bad1.log"
    fi
    play "$LOGS/bad2.log" "${M[@]}" -e "bad_source=$BAD" -e "{\"expected_msg\": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$expected")}" tests/bad-source.yml
    rc=$?
    if [[ $rc -eq 0 && $(recap "$LOGS/bad2.log" rescued) == 1 ]]; then
        ok "bad source: failure result has msg, error.kind=bad_input, error.path and rc=65"
    else
        not_ok "bad source: failure result fields (exit $rc; log follows)"
        sed 's/^/#   /' "$LOGS/bad2.log"
    fi
fi

# --- the role (site.yml) -----------------------------------------------------------------------
SB2=$WORK/root2
sandbox "$SB2" || die "build the second sandbox tree"
R=(-i tests/inventory.yml -e "sandbox=$SB2" -e "work=$WORK/role" -e "anchorage_bin=$BIN")
mkdir -p "$WORK/role/bin" # stands for /usr/local/bin
CAS='{"anchorage_ca_files": ["'"$FX/myNewCa.crt"'", "'"$FX/ca2.der"'"]}'
before=$(snapshot "$SB2")
play "$LOGS/site0.log" "${R[@]}" -e "$CAS" --check site.yml
# would copy the binary, create the CA dir, copy the CA files (one loop task); the module is
# skipped (no binary yet). The recap counts changed tasks, not loop items.
expect_play "site.yml --check on a fresh host: would install binary and CA files" "$LOGS/site0.log" $? 3
check "site.yml --check on a fresh host changed nothing" test "$before" == "$(snapshot "$SB2")" -a ! -e "$WORK/role/bin/anchorage"
play "$LOGS/site1.log" "${R[@]}" -e "$CAS" site.yml
# binary copied, CA dir created, CA files copied, anchors synced = 4 changed tasks
expect_play "site.yml, first run: binary, CA files and anchors installed" "$LOGS/site1.log" $? 4
check "site.yml: the role's binary is the built one" cmp -s "$BIN" "$WORK/role/bin/anchorage"
check "site.yml: both CAs managed and in the bundle" managed "$SB2" "myNewCa Test Root" "Rotation Root 2"
play "$LOGS/site2.log" "${R[@]}" -e "$CAS" site.yml
expect_play "site.yml, second run: idempotent" "$LOGS/site2.log" $? 0
before=$(snapshot "$SB2")
play "$LOGS/site3.log" "${R[@]}" -e '{"anchorage_ca_files": ["'"$FX/myNewCa.crt"'"]}' --check site.yml
expect_play "site.yml --check with one CA dropped from the list: would remove it" "$LOGS/site3.log" $? 1
check "site.yml --check changed nothing in the tree" test "$before" == "$(snapshot "$SB2")"
play "$LOGS/site4.log" "${R[@]}" -e '{"anchorage_ca_files": ["'"$FX/myNewCa.crt"'"]}' site.yml
expect_play "site.yml with one CA dropped from the list: removes it" "$LOGS/site4.log" $? 1
check "site.yml: only myNewCa managed now" managed "$SB2" "myNewCa Test Root"

finish
