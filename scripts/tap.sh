# shellcheck shell=bash
# TAP-style reporting shared by the shell test scripts (sourced, not run):
#   ok DESC                   count a pass:            ok N - DESC
#   not_ok DESC [FILE|TEXT]…  count a failure:         not ok N - DESC, then each further
#                             argument (a file's first 60 lines, or the text) indented as
#                             diagnostics
#   check DESC CMD…           ok when CMD succeeds (its output discarded), not_ok otherwise
#   log TEXT                  a comment line:          # TEXT
#   finish                    "P passed, F failed"; exit 0 if none failed, else 1
TAP_START=$SECONDS
PASSED=0
FAILED=0
N=0

log() { printf '# %s\n' "$*"; }

ok() {
    N=$((N + 1))
    PASSED=$((PASSED + 1))
    printf 'ok %d - %s\n' "$N" "$1"
}

not_ok() {
    N=$((N + 1))
    FAILED=$((FAILED + 1))
    printf 'not ok %d - %s\n' "$N" "$1"
    shift
    local d
    for d in "$@"; do
        if [[ -f $d ]]; then
            sed 's/^/#   /' "$d" | head -60
        else
            printf '#   %s\n' "$d"
        fi
    done
}

check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

finish() {
    log "total time: $((SECONDS - TAP_START))s"
    printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
    [[ $FAILED -eq 0 ]] && exit 0
    exit 1
}
