#!/usr/bin/env bash
# Check the artefacts packaging/build.sh put in target/dist/, then install the .deb for real --
# in a chroot (a copy of tests/rootfs.sh's cached Debian rootfs), never on the host.
#
# Usage: packaging/check-packages.sh          (after packaging/build.sh; as root for the chroot)
#
# Checks: the portable binaries (glibc symbol versions <= 2.17 with objdump -T, static musl,
# they run here); the .deb with dpkg-deb -I/-c (Depends ca-certificates, Recommends
# libnss3-tools, binary in /usr/bin identical to the portable one, man pages, bash/zsh/fish
# completions, README and licences); the .rpm with rpm -qip/-qlp (Requires ca-certificates,
# Recommends nss-tools, gzip payload) and unpacked by rpm itself into a scratch --root; then,
# in a chroot of the cached Debian rootfs: dpkg -i, anchorage --version, anchorage doctor, and
# dpkg -r; packaging/install.sh runs on the host with the binary installed there against a
# --root sandbox (the minimal rootfs has neither jq nor python3). The
# chroot is deleted on exit (also on failure or interrupt); the host's dpkg database is never
# changed. The musl and aarch64 binaries are checked when present (packaging/build.sh --all).
#
# Output: `ok N - ...` / `not ok N - ...`, then `N passed, M failed`; exit 1 if any failed.
# Needs dpkg-deb and rpm (Debian's `rpm` package: installed with apt-get when missing and root).
# SC2016: the bash -c bodies get their values as $1, $2 on purpose. SC2317: functions run
# through check() and trap look unreachable to shellcheck.
# shellcheck disable=SC2016,SC2317
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=$REPO/target/dist
unset ANCHORAGE_ROOT ANCHORAGE_PLATFORM ANCHORAGE_FORMAT ANCHORAGE_NSSDB ANCHORAGE_PASSWORD ANCHORAGE

# shellcheck source=scripts/tap.sh
source "$REPO/scripts/tap.sh"
# has TEXT PATTERN: TEXT matches the extended regular expression PATTERN (multi-line).
has() { grep -Eq -- "$2" <<<"$1"; }

VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -n1)
GNU=$DIST/anchorage-$VERSION-x86_64-linux-gnu
MUSL=$DIST/anchorage-$VERSION-x86_64-linux-musl
ARM=$DIST/anchorage-$VERSION-aarch64-linux-gnu
DEB=$DIST/anchorage_${VERSION}-1_amd64.deb
RPM=$DIST/anchorage-${VERSION}-1.x86_64.rpm
for f in "$GNU" "$DEB" "$RPM"; do
    if [[ ! -f $f ]]; then
        not_ok "$f exists (run packaging/build.sh first)"
        finish
    fi
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/anchorage-pkgcheck.XXXXXX")
cleanup() {
    rm -rf "$WORK" # the chroot copy included (nothing is mounted in it)
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v rpm >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    echo "# installing Debian's rpm package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null 2>&1; }
fi

# --- portable binaries -------------------------------------------------------------------------
max_glibc() { # the highest GLIBC_x.y version FILE needs
    if readelf -h "$1" | grep -q 'Machine:.*X86-64'; then objdump -T "$1"; else readelf -W --dyn-syms "$1"; fi |
        grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n1
}
glibc_ok() {
    local max
    max=$(max_glibc "$1")
    [[ -n $max && $(printf '%s\n2.17\n' "$max" | sort -V | tail -n1) == 2.17 ]]
}
check "x86_64 glibc binary: objdump -T shows no symbol version above GLIBC_2.17 (max GLIBC_$(max_glibc "$GNU"))" glibc_ok "$GNU"
check "x86_64 glibc binary runs here: $("$GNU" --version 2>&1 | head -n1)" "$GNU" --version
if [[ -f $MUSL ]]; then
    check "x86_64 musl binary is static (no PT_INTERP, no NEEDED)" \
        bash -c '! readelf -W -l "$1" | grep -q INTERP && ! readelf -W -d "$1" | grep -q NEEDED' _ "$MUSL"
    check "x86_64 musl binary runs here" "$MUSL" --version
else
    echo "# not built: $MUSL (only packaging/build.sh --all builds it)"
fi
if [[ -f $ARM ]]; then
    check "aarch64 binary is an AArch64 ELF" bash -c 'readelf -h "$1" | grep -q "Machine:.*AArch64"' _ "$ARM"
    check "aarch64 binary: no symbol version above GLIBC_2.17 (max GLIBC_$(max_glibc "$ARM"))" glibc_ok "$ARM"
else
    echo "# not built: $ARM (only packaging/build.sh --all builds it)"
fi

# The man pages the binary writes: anchorage.1 and one anchorage-SUBCOMMAND.1 per subcommand.
"$GNU" man --dir "$WORK/man" >/dev/null 2>&1
PAGES=$(cd "$WORK/man" 2>/dev/null && printf '%s\n' *.1 | LC_ALL=C sort)
# has_pages LISTING PREFIX: every page of $PAGES, gzipped, is in LISTING under PREFIX.
has_pages() {
    local page
    [[ $PAGES == *anchorage-install.1* ]] || return 1
    while read -r page; do
        grep -q "$2/${page//./\\.}\\.gz\$" <<<"$1" || return 1
    done <<<"$PAGES"
}

# --- .deb --------------------------------------------------------------------------------------
info=$(dpkg-deb -I "$DEB" 2>&1)
files=$(dpkg-deb -c "$DEB" 2>&1)
check "deb: Package anchorage, Version $VERSION-1, Architecture amd64" \
    bash -c 'grep -q "^ Package: anchorage$" <<<"$1" && grep -q "^ Version: $2-1$" <<<"$1" && grep -q "^ Architecture: amd64$" <<<"$1"' _ "$info" "$VERSION"
check "deb: Depends on ca-certificates ($(sed -n 's/^ Depends: //p' <<<"$info"))" has "$info" '^ Depends: .*ca-certificates'
check "deb: Recommends libnss3-tools" has "$info" '^ Recommends: .*libnss3-tools'
check "deb: /usr/bin/anchorage, mode 0755" has "$files" '^-rwxr-xr-x .* \./usr/bin/anchorage$'
check "deb: man page" has "$files" ' \./usr/share/man/man1/anchorage\.1\.gz$'
check "deb: man pages of the subcommands ($(tr '\n' ' ' <<<"$PAGES"))" has_pages "$files" ' \./usr/share/man/man1'
check "deb: bash completion" has "$files" ' \./usr/share/bash-completion/completions/anchorage$'
check "deb: zsh completion" has "$files" ' \./usr/share/zsh/vendor-completions/_anchorage$'
check "deb: fish completion" has "$files" ' \./usr/share/fish/vendor_completions\.d/anchorage\.fish$'
check "deb: README, licences and copyright" bash -c 'for f in README.md LICENSE-MIT LICENSE-APACHE copyright; do grep -q " \./usr/share/doc/anchorage/$f$" <<<"$1" || exit 1; done' _ "$files"
mkdir -p "$WORK/deb"
dpkg-deb -x "$DEB" "$WORK/deb"
check "deb: its /usr/bin/anchorage is the portable binary" cmp -s "$GNU" "$WORK/deb/usr/bin/anchorage"
check "deb: the man page is the one the binary generates" \
    bash -c 'cmp -s <(zcat "$1/usr/share/man/man1/anchorage.1.gz") <("$2" man)' _ "$WORK/deb" "$GNU"
check "deb: the subcommands' man pages are the ones the binary generates" \
    bash -c 'while read -r p; do cmp -s <(zcat "$1/usr/share/man/man1/$p.gz") "$2/$p" || exit 1; done <<<"$3"' _ "$WORK/deb" "$WORK/man" "$PAGES"
check "deb: the completions are the ones the binary generates" \
    bash -c 'cmp -s "$1/usr/share/bash-completion/completions/anchorage" <("$2" completions bash) &&
             cmp -s "$1/usr/share/zsh/vendor-completions/_anchorage" <("$2" completions zsh) &&
             cmp -s "$1/usr/share/fish/vendor_completions.d/anchorage.fish" <("$2" completions fish)' _ "$WORK/deb" "$GNU"
UNITS="anchorage-sync.service anchorage-sync.path anchorage-metrics.service anchorage-metrics.timer"
check "deb: systemd units in /lib/systemd/system ($UNITS)" \
    bash -c 'for u in $2; do grep -q " \./lib/systemd/system/$u$" <<<"$1" || exit 1; done' _ "$files" "$UNITS"
check "deb: the units are packaging/systemd's" \
    bash -c 'for u in $3; do cmp -s "$1/lib/systemd/system/$u" "$2/packaging/systemd/$u" || exit 1; done' _ "$WORK/deb" "$REPO" "$UNITS"
mkdir -p "$WORK/debctl"
dpkg-deb -e "$DEB" "$WORK/debctl"
check "deb: installed disabled (no maintainer script enables or starts a unit)" \
    bash -c '! grep -lsE "deb-systemd-helper|systemctl" "$1"/postinst "$1"/preinst >/dev/null' _ "$WORK/debctl"
check "deb: systemd-analyze verify on the packaged units and binary (tests/systemd.sh)" \
    bash "$REPO/tests/systemd.sh" "$WORK/deb/lib/systemd/system" "$WORK/deb/usr/bin/anchorage"

# --- .rpm --------------------------------------------------------------------------------------
if ! command -v rpm >/dev/null 2>&1; then
    not_ok "rpm is installed (apt-get install -y rpm)"
else
    rinfo=$(rpm -qip "$RPM" 2>&1)
    rfiles=$(rpm -qlp "$RPM" 2>&1)
    check "rpm: Name anchorage, Version $VERSION, Release 1, Architecture x86_64" \
        bash -c 'grep -Eq "^Name +: anchorage$" <<<"$1" && grep -Eq "^Version +: $2$" <<<"$1" && grep -Eq "^Release +: 1$" <<<"$1" && grep -Eq "^Architecture *: x86_64$" <<<"$1"' _ "$rinfo" "$VERSION"
    check "rpm: License MIT OR Apache-2.0" has "$rinfo" '^License +: MIT OR Apache-2.0$'
    requires=$(rpm -qp --requires "$RPM" 2>&1)
    check "rpm: Requires ca-certificates ($(grep -v '^rpmlib(' <<<"$requires" | tr '\n' ' '))" has "$requires" '^ca-certificates$'
    check "rpm: Recommends nss-tools" has "$(rpm -qp --recommends "$RPM" 2>&1)" '^nss-tools$'
    check "rpm: gzip payload (readable by rpm 4.11 on RHEL 7)" test "$(rpm -qp --qf '%{PAYLOADCOMPRESSOR}' "$RPM" 2>/dev/null)" == gzip
    check "rpm: /usr/bin/anchorage" has "$rfiles" '^/usr/bin/anchorage$'
    check "rpm: man page" has "$rfiles" '^/usr/share/man/man1/anchorage\.1\.gz$'
    check "rpm: man pages of the subcommands" has_pages "$rfiles" '^/usr/share/man/man1'
    check "rpm: bash, zsh and fish completions" bash -c 'for f in /usr/share/bash-completion/completions/anchorage /usr/share/zsh/site-functions/_anchorage /usr/share/fish/vendor_completions.d/anchorage.fish; do grep -qx "$f" <<<"$1" || exit 1; done' _ "$rfiles"
    check "rpm: systemd units in /usr/lib/systemd/system, no scriptlets" \
        bash -c 'for u in anchorage-sync.service anchorage-sync.path anchorage-metrics.service anchorage-metrics.timer; do grep -qx "/usr/lib/systemd/system/$u" <<<"$1" || exit 1; done; [[ -z $(rpm -qp --scripts "$2" 2>/dev/null) ]]' _ "$rfiles" "$RPM"
    check "rpm: README and licences" bash -c 'for f in /usr/share/doc/anchorage/README.md /usr/share/licenses/anchorage/LICENSE-MIT /usr/share/licenses/anchorage/LICENSE-APACHE; do grep -qx "$f" <<<"$1" || exit 1; done' _ "$rfiles"
    # rpm itself unpacks the payload into a scratch root (no scriptlets, no dependencies there).
    if rpm --root "$WORK/rpmroot" --dbpath /rpmdb --initdb >/dev/null 2>&1 &&
        rpm --root "$WORK/rpmroot" --dbpath /rpmdb -i --nodeps --nosignature --nodigest "$RPM" >"$WORK/rpm-i.log" 2>&1; then
        ok "rpm: rpm -i --root unpacks it"
    else
        not_ok "rpm: rpm -i --root unpacks it: $(tr '\n' ' ' <"$WORK/rpm-i.log")"
    fi
    check "rpm: its /usr/bin/anchorage is the portable binary, mode 0755" \
        bash -c 'cmp -s "$1" "$2/usr/bin/anchorage" && [[ $(stat -c %a "$2/usr/bin/anchorage") == 755 ]]' _ "$GNU" "$WORK/rpmroot"
fi
for pkg in "$DIST"/anchorage_"$VERSION"-1_arm64.deb "$DIST"/anchorage-"$VERSION"-1.aarch64.rpm; do
    [[ -f $pkg ]] || continue
    case $pkg in
    *.deb) check "arm64 deb: Architecture arm64" has "$(dpkg-deb -f "$pkg" Architecture)" '^arm64$' ;;
    *.rpm) command -v rpm >/dev/null && check "aarch64 rpm: Architecture aarch64" test "$(rpm -qp --qf '%{ARCH}' "$pkg" 2>/dev/null)" == aarch64 ;;
    esac
done

# --- install the .deb for real, in a chroot ----------------------------------------------------
# Not on the host: a copy of the real Debian rootfs that tests/rootfs.sh caches (debootstrap, the
# same one the rootfs tests use; built here when missing) gets `dpkg -i`, and is deleted with
# $WORK (nothing is mounted in it). The host's package database is never touched, so two runs at
# once cannot collide on the dpkg lock or on /usr/bin/anchorage.
if [[ $(id -u) != 0 ]]; then
    echo "# SKIP: dpkg -i in a chroot needs root"
    finish
fi
cache_out=$(bash "$REPO/tests/rootfs.sh" --cache-only 2>&1)
CACHE=$(sed -n 's/^CACHE=//p' <<<"$cache_out" | tail -n1)
if [[ -z $CACHE || ! -d $CACHE ]]; then
    grep -v '^CACHE=' <<<"$cache_out" | sed 's/^/# /'
    if grep -q '^SKIP:' <<<"$cache_out"; then
        echo "# SKIP: dpkg -i: no Debian rootfs to install into (see above) -- a skip, not a pass"
    else
        not_ok "dpkg -i: the cached Debian rootfs (tests/rootfs.sh --cache-only)"
    fi
    finish
fi
CH=$WORK/chroot
cp -a "$CACHE" "$CH"
in_chroot() { chroot "$CH" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"; }
cp "$DEB" "$CH/tmp/anchorage.deb"
if in_chroot dpkg -i /tmp/anchorage.deb >"$WORK/dpkg-i.log" 2>&1; then
    ok "dpkg -i $(basename "$DEB") (in a chroot of the cached Debian rootfs)"
else
    not_ok "dpkg -i $(basename "$DEB"): $(tr '\n' ' ' <"$WORK/dpkg-i.log")"
    finish
fi
check "dpkg: anchorage is installed ($(in_chroot dpkg-query -W -f='${Status} ${Version}' anchorage))" \
    test "$(in_chroot dpkg-query -W -f='${Status}' anchorage)" == "install ok installed"
ver=$(in_chroot /usr/bin/anchorage --version 2>&1)
check "anchorage --version: $ver" has "$ver" "^anchorage $VERSION "
doctor=$(in_chroot anchorage doctor 2>&1)
rc=$?
if [[ ($rc -eq 0 || $rc -eq 1) ]] && has "$doctor" '^platform:'; then
    ok "anchorage doctor: exit $rc, $(grep '^platform:' <<<"$doctor" | tr -s ' ')"
else
    not_ok "anchorage doctor: exit $rc (want 0 or 1 and a 'platform:' line): $(tr '\n' ' ' <<<"$doctor")"
fi
check "man page installed where man looks" test -s "$CH/usr/share/man/man1/anchorage.1.gz"
check "systemd units installed, none enabled (no link to them under /etc/systemd/system)" \
    bash -c 'test -s "$1/lib/systemd/system/anchorage-sync.path" && [[ -z $(find "$1/etc/systemd/system" -lname "*anchorage*" 2>/dev/null) ]]' _ "$CH"
check "bash completion loads: $(in_chroot bash -c 'source /usr/share/bash-completion/completions/anchorage 2>/dev/null && complete -p anchorage' 2>&1)" \
    in_chroot bash -c 'source /usr/share/bash-completion/completions/anchorage && complete -p anchorage >/dev/null'

# --- packaging/install.sh with the installed binary, on a --root sandbox ------------------------
# On the host (install.sh needs jq or python3, which the minimal rootfs lacks), with PATH finding
# the binary the package installed in the chroot (the portable binary runs on the host).
SB=$WORK/root
mkdir -p "$SB/etc/ssl/certs" "$SB/usr/share" "$SB/usr/local/share/ca-certificates" "$WORK/cas" "$WORK/pkgbin"
cp -a /usr/share/ca-certificates "$SB/usr/share/" && cp /etc/ca-certificates.conf "$SB/etc/"
ln -s "$CH/usr/bin/anchorage" "$WORK/pkgbin/anchorage"
if bash "$REPO/tests/fixtures/make-fixtures.sh" "$WORK/fx" >/dev/null 2>&1; then
    cp "$WORK/fx/myNewCa.crt" "$WORK/fx/ca2.der" "$WORK/cas/"
    inst() { # inst LOG ARGS...: run install.sh (PATH finds the packaged anchorage), stdout to LOG.json
        local log=$1
        shift
        PATH="$WORK/pkgbin:$PATH" ANCHORAGE_ROOT=$SB ON_CHANGE="echo restarted >>$WORK/on-change" sh "$REPO/packaging/install.sh" "$@" >"$WORK/$log.json" 2>"$WORK/$log.err"
    }
    field() { python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1])).get(sys.argv[2])).lower())' "$WORK/$1.json" "$2"; }
    inst check "--check" "$WORK/cas"
    rc=$?
    check "install.sh --check: exit 0, changed=true, nothing written, ON_CHANGE not run" \
        test "$rc:$(field check changed):$(find "$SB/usr/local/share/ca-certificates" -type f | wc -l):$([[ -e $WORK/on-change ]] && echo ran)" == "0:true:0:"
    inst first "$WORK/cas"
    rc=$?
    check "install.sh first run: exit 0, changed=true, ON_CHANGE ran once" \
        test "$rc:$(field first changed):$(cat "$WORK/on-change" 2>/dev/null)" == "0:true:restarted"
    inst second "$WORK/cas"
    rc=$?
    check "install.sh second run: exit 0, changed=false, ON_CHANGE not run again" \
        test "$rc:$(field second changed):$(wc -l <"$WORK/on-change")" == "0:false:1"
    inst bad "$WORK/fx/garbage.bin"
    rc=$?
    check "install.sh, bad input: exit 65 and says so ($(tail -n1 "$WORK/bad.err"))" \
        bash -c '[[ $1 == 65 ]] && grep -q "bad input" "$2"' _ "$rc" "$WORK/bad.err"
    inst missing "$WORK/not-there"
    rc=$?
    check "install.sh, missing source: exit 66" bash -c '[[ $1 == 66 ]] && grep -q "does not exist" "$2"' _ "$rc" "$WORK/missing.err"
    ANCHORAGE=$WORK/no-such-binary inst nobin "$WORK/cas"
    rc=$?
    check "install.sh, no binary: exit 69" test "$rc" == 69
else
    not_ok "make fixtures for install.sh"
fi

# --- remove ------------------------------------------------------------------------------------
if in_chroot dpkg -r anchorage >"$WORK/dpkg-r.log" 2>&1; then
    ok "dpkg -r anchorage"
else
    not_ok "dpkg -r anchorage: $(tr '\n' ' ' <"$WORK/dpkg-r.log")"
fi
check "chroot clean: no /usr/bin/anchorage, package not installed" \
    bash -c '[[ ! -e $1/usr/bin/anchorage && $(chroot "$1" dpkg-query -W -f="\${Status}" anchorage 2>/dev/null) != *" installed" ]]' _ "$CH"

finish
