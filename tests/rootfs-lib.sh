#!/usr/bin/env bash
# Helpers shared by the scenario scripts that work on copies of the cached rootfs
# (tests/rootfs-p11kit.sh, tests/rootfs-java.sh, tests/rootfs-runtimes.sh). Sourced, after
# scripts/tap.sh (safe_rm logs with its `log`).

# Mount points at or below $1 (from the kernel's view).
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

# Undo the /proc mount of a copy (a lazy unmount when busy).
unmount_proc() {
    local d=$1
    [[ -n $d ]] || return 0
    if [[ -n $(mounts_under "$d/proc") ]]; then
        umount "$d/proc" 2>/dev/null || umount -l "$d/proc"
    fi
}
