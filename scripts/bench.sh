#!/usr/bin/env bash
# On-demand benchmark (not part of CI's pass/fail): anchorage vs the manual way on identical
# temporary Debian trees, in one run, with hyperfine and /usr/bin/time -v. Prints one table and
# writes target/bench/results.json. Needs root (like the hook), hyperfine, the real
# update-ca-certificates. Loopback only; touches nothing outside its temporary directory.
#
#   scripts/bench.sh            # full run (~2-4 minutes)
#   RUNS=5 scripts/bench.sh     # fewer hyperfine runs for the slow (hook) commands
#   REFRESH_ONLY=1 scripts/bench.sh  # only section 6, native refresh (issue 18)
#   JAVA_ONLY=1 scripts/bench.sh     # only section 7, Java truststores (issue 15; needs keytool)
set -euo pipefail
cd "$(dirname "$0")/.."
unset SSL_CERT_FILE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO || true
command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 69; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 69; }
RUNS=${RUNS:-10}
REFRESH_ONLY=${REFRESH_ONLY:-}
JAVA_ONLY=${JAVA_ONLY:-}
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"

if [ -n "$REFRESH_ONLY$JAVA_ONLY" ]; then
  cargo build --release --quiet --bin anchorage
else
  cargo build --release --quiet --bin anchorage --example gen_bundle
fi
BIN="$TARGET/release/anchorage"
GEN="$TARGET/release/examples/gen_bundle"
OUT="$TARGET/bench"
mkdir -p "$OUT"
W=$(mktemp -d /tmp/anchorage-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

HOOK=(update-ca-certificates)
hook_args() { # the host hook pointed into tree $1 (what anchorage runs under --root)
  echo "--certsconf $1/etc/ca-certificates.conf --certsdir $1/usr/share/ca-certificates --localcertsdir $1/usr/local/share/ca-certificates --etccertsdir $1/etc/ssl/certs --hooksdir $1/etc/ca-certificates/update.d"
}
template_tree() {
  mkdir -p "$1/etc/ssl/certs" "$1/usr/share" "$1/usr/local/share/ca-certificates"
  cp -a /usr/share/ca-certificates "$1/usr/share/"
  cp /etc/ca-certificates.conf "$1/etc/"
  # shellcheck disable=SC2046
  "${HOOK[@]}" $(hook_args "$1") >/dev/null 2>&1
}

echo "preparing trees and inputs in $W ..."
bash tests/fixtures/make-fixtures.sh "$W/fx" >/dev/null
CA="$W/fx/myNewCa.crt"
template_tree "$W/template"
ms() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['results'][0]; print(f\"{d['mean']*1000:.3f} {d['stddev']*1000:.3f} {d['min']*1000:.3f}\")" "$1"; }
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'; }

# 6. Native refresh (issue 18) against update-ca-certificates on the same trees. The native
# template is the same tree with the links the tree's own hook would write (no host paths).
refresh_section() {
  cp -a "$W/template" "$W/ntemplate"
  for l in "$W/ntemplate"/etc/ssl/certs/*; do
    [ -L "$l" ] || continue
    t=$(readlink "$l")
    case $t in "$W/template"/*) ln -sfn "${t#"$W/template"}" "$l" ;; esac
  done
  mkdir -p "$W/ca100"
  for i in $(seq 1 100); do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=Refresh Bench $i/O=Anchorage Bench" -days 3650 -out "$W/ca100/ca$i.pem" 2>/dev/null
  done
  local ca100; ca100=$(echo "$W"/ca100/*.pem)
  cat > "$W/vendor.sh" <<EOS
#!/bin/sh
set -e
mkdir -p $W/vf/usr/local/share/ca-certificates/custom
openssl x509 -inform DER -in $CA -out $W/vf/usr/local/share/ca-certificates/custom/myNewCa.crt
exec update-ca-certificates $(hook_args "$W/vf")
EOS
  chmod +x "$W/vendor.sh"
  # rn, rh: the tree as an image has it (links to /usr/share/…); rv: the links the host hook
  # writes at that path (settled in --prepare, not measured), as the vendor's step meets them.
  local rn="rm -rf $W/nf && cp -a $W/ntemplate $W/nf" rh="rm -rf $W/hf && cp -a $W/ntemplate $W/hf"
  local rv vf_args
  vf_args=$(hook_args "$W/vf")
  rv="rm -rf $W/vf && cp -a $W/template $W/vf && update-ca-certificates $vf_args >/dev/null 2>&1"
  run_h() { hyperfine -N -w 1 -r "$1" --prepare "sh -c '$2'" --export-json "$OUT/$3.json" "$4" >/dev/null; ms "$OUT/$3.json" | cut -d' ' -f1; }
  n_first=$(run_h 20 "$rn" native-first "$BIN --root $W/nf install --refresh native $CA")
  h_first=$(run_h "$RUNS" "$rh" hook-first "$BIN --root $W/hf install --refresh hook $CA")
  v_first=$(run_h "$RUNS" "$rv" vendor-first "$W/vendor.sh")
  mkdir -p "$W/src6" && cp "$W/fx/myNewCa.pem" "$W/src6/"
  n_exec=$(run_h 20 "$rn" native-exec "$BIN --root $W/nf exec $W/src6 -- true")
  n_add100=$(run_h 10 "$rn" native-add100 "$BIN --root $W/nf install --refresh native $ca100")
  h_add100=$(run_h "$RUNS" "$rh" hook-add100 "$BIN --root $W/hf install --refresh hook $ca100")
  n_rm100=$(run_h 10 "$rn && $BIN --root $W/nf install --refresh native $ca100 >/dev/null" native-rm100 "$BIN --root $W/nf remove --refresh native $ca100")
  h_rm100=$(run_h "$RUNS" "$rh && $BIN --root $W/hf install --refresh hook $ca100 >/dev/null" hook-rm100 "$BIN --root $W/hf remove --refresh hook $ca100")
  sh -c "$rn" && "$BIN" --root "$W/nf" install --refresh native "$CA" >/dev/null
  n_noop=$(run_h 50 "true" native-noop "$BIN --root $W/nf install $CA")
  python3 - "$OUT/refresh.json" <<EOF
import json, sys
r = {"first_install": {"native_ms": $n_first, "hook_mode_ms": $h_first, "vendor_ms": $v_first, "ratio": $n_first / $v_first},
     "exec_first_start": {"native_ms": $n_exec, "vendor_ms": $v_first, "ratio": $n_exec / $v_first},
     "add_100": {"native_ms": $n_add100, "hook_ms": $h_add100, "ratio": $n_add100 / $h_add100},
     "remove_100": {"native_ms": $n_rm100, "hook_ms": $h_rm100, "ratio": $n_rm100 / $h_rm100},
     "noop_ms": $n_noop}
json.dump(r, open(sys.argv[1], "w"), indent=2)
print(f"{'native refresh (issue 18)':<44} {'native':>14} {'reference':>14} {'ratio':>9}  target")
print(f"{'first install of one CA vs copy + hook':<44} {$n_first:>11.1f} ms {$v_first:>11.1f} ms {$n_first / $v_first:>9.4f}  <= 0.05")
print(f"{'  (anchorage --refresh hook)':<44} {$h_first:>11.1f} ms")
print(f"{'exec first start vs copy + hook':<44} {$n_exec:>11.1f} ms {$v_first:>11.1f} ms {$n_exec / $v_first:>9.4f}  <= 0.05")
print(f"{'install 100 anchors vs --refresh hook':<44} {$n_add100:>11.1f} ms {$h_add100:>11.1f} ms {$n_add100 / $h_add100:>9.4f}  <= 0.1")
print(f"{'remove 100 anchors vs --refresh hook':<44} {$n_rm100:>11.1f} ms {$h_rm100:>11.1f} ms {$n_rm100 / $h_rm100:>9.4f}  <= 0.1")
print(f"{'no-op install after a native refresh':<44} {$n_noop:>11.2f} ms")
print("written:", sys.argv[1])
EOF
}
if [ -n "$REFRESH_ONLY" ]; then
  refresh_section
  exit 0
fi

# 7. Java truststores (issue 15): one anchor added to the JDK's ~150-entry cacerts (JKS, and
# the same entries as PKCS#12) by anchorage vs `keytool -importcert` (a JVM start), side by
# side; and the no-op install with and without --java-truststore (the store judged by
# fingerprints, not rewritten). The CA is already in the system store (--no-update), so the
# measured change is the truststore's alone.
java_section() {
  command -v keytool >/dev/null || { echo "keytool missing: apt-get install openjdk-17-jdk-headless" >&2; return 69; }
  local jt="$W/jt" src=/etc/ssl/certs/java/cacerts
  [ -f "$src" ] || { echo "no $src: apt-get install ca-certificates-java" >&2; return 69; }
  cp -a "$W/template" "$jt"
  mkdir -p "$jt/etc/ssl/certs/java" "$W/jorig"
  cp "$src" "$W/jorig/cacerts.jks"
  keytool -importkeystore -noprompt -srckeystore "$src" -srcstorepass changeit -destkeystore "$W/jorig/cacerts.p12" \
    -deststoretype PKCS12 -deststorepass changeit >/dev/null 2>&1
  local entries
  entries=$(keytool -list -keystore "$src" -storepass changeit 2>/dev/null | sed -n 's/^Your keystore contains \([0-9]*\) entries/\1/p')
  "$BIN" --root "$jt" install --no-update "$CA" >/dev/null 2>&1
  local js="--java-truststore /etc/ssl/certs/java/cacerts"
  run_j() { hyperfine -N -w "$1" -r "$2" --prepare "sh -c '$3'" --export-json "$OUT/$4.json" "$5" >/dev/null; ms "$OUT/$4.json" | cut -d' ' -f1; }
  local r_jks="cp $W/jorig/cacerts.jks $jt/etc/ssl/certs/java/cacerts" r_p12="cp $W/jorig/cacerts.p12 $jt/etc/ssl/certs/java/cacerts"
  local a_jks k_jks a_p12 k_p12
  a_jks=$(run_j 3 30 "$r_jks" java-add-jks "$BIN --root $jt $js install --no-update $CA")
  k_jks=$(run_j 1 "$RUNS" "$r_jks" keytool-add-jks "keytool -importcert -noprompt -keystore $jt/etc/ssl/certs/java/cacerts -storepass changeit -alias bench -file $CA")
  a_p12=$(run_j 3 30 "$r_p12" java-add-p12 "$BIN --root $jt $js install --no-update $CA")
  k_p12=$(run_j 1 "$RUNS" "$r_p12" keytool-add-p12 "keytool -importcert -noprompt -keystore $jt/etc/ssl/certs/java/cacerts -storepass changeit -alias bench -file $CA")
  sh -c "$r_jks"
  # shellcheck disable=SC2086  # $js is two words
  "$BIN" --root "$jt" $js install --no-update "$CA" >/dev/null 2>&1
  hyperfine -N -w 5 -m 200 --export-json "$OUT/java-noop.json" \
    "$BIN --root $jt install --no-update $CA" "$BIN --root $jt $js install --no-update $CA" >/dev/null
  python3 - "$OUT/java-noop.json" "$OUT/java.json" "$entries" "$a_jks" "$k_jks" "$a_p12" "$k_p12" <<'EOF'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
without, with_ = res[0]["mean"] * 1000, res[1]["mean"] * 1000
n = sys.argv[3]
a_jks, k_jks, a_p12, k_p12 = map(float, sys.argv[4:8])
r = {"entries": int(n or 0), "add_one_jks": {"anchorage_ms": a_jks, "keytool_ms": k_jks},
     "add_one_pkcs12": {"anchorage_ms": a_p12, "keytool_ms": k_p12},
     "noop": {"without_ms": without, "with_java_truststore_ms": with_, "delta_ms": with_ - without}}
json.dump(r, open(sys.argv[2], "w"), indent=2)
print(f"{'Java truststores (issue 15), ' + n + ' entries':<44} {'anchorage':>14} {'keytool':>14} {'ratio':>9}  target")
print(f"{'add one anchor to cacerts (JKS)':<44} {a_jks:>11.2f} ms {k_jks:>11.1f} ms {a_jks / k_jks:>9.4f}  <= 20 ms")
print(f"{'add one anchor to cacerts (PKCS#12)':<44} {a_p12:>11.2f} ms {k_p12:>11.1f} ms {a_p12 / k_p12:>9.4f}  <= 20 ms")
print(f"{'no-op install without / with the store':<44} {without:>11.2f} ms {with_:>11.2f} ms {'':>9}  delta {with_ - without:.2f} ms <= 2 ms")
print("written:", sys.argv[2])
EOF
}
if [ -n "$JAVA_ONLY" ]; then
  java_section
  exit 0
fi

# A 4096-bit RSA template makes ~1.8 KB PEM certificates: 10,000 of them are ~18 MB.
openssl req -x509 -newkey rsa:4096 -nodes -keyout /dev/null -subj "/CN=Bench Root/O=Anchorage Bench" \
  -days 3650 -outform DER -out "$W/big.der" 2>/dev/null
"$GEN" "$W/big.der" 10000 "$W/bundle10k.pem"
for n in 1 100 1000 10000; do "$GEN" "$W/big.der" "$n" "$W/scale$n/"; done


# 1. no-op: everything in place.
cp -a "$W/template" "$W/noop"
"$BIN" --root "$W/noop" install "$CA" >/dev/null
hyperfine -N -w 5 -m 200 --export-json "$OUT/noop-anchorage.json" "$BIN --root $W/noop install $CA" >/dev/null
# shellcheck disable=SC2046
hyperfine -N -w 1 -r "$RUNS" --export-json "$OUT/noop-hook.json" "update-ca-certificates $(hook_args "$W/noop")" >/dev/null
read -r noop_a noop_a_sd noop_a_min < <(ms "$OUT/noop-anchorage.json")
read -r noop_h noop_h_sd _ < <(ms "$OUT/noop-hook.json")
noop_rss=$(rss "$BIN" --root "$W/noop" install "$CA")
# shellcheck disable=SC2046
noop_hook_rss=$(rss update-ca-certificates $(hook_args "$W/noop"))

# 2. first install vs the manual way, each on a fresh copy of the same tree.
cat > "$W/manual.sh" <<EOS
#!/bin/sh
set -e
mkdir -p $W/first/usr/local/share/ca-certificates/custom
openssl x509 -inform DER -in $CA -out $W/first/usr/local/share/ca-certificates/custom/myNewCa.crt
exec update-ca-certificates $(hook_args "$W/first")
EOS
chmod +x "$W/manual.sh"
reset_first="rm -rf $W/first && cp -a $W/template $W/first"
hyperfine -N -w 1 -r "$RUNS" --prepare "sh -c '$reset_first'" --export-json "$OUT/first-anchorage.json" "$BIN --root $W/first install $CA" >/dev/null
hyperfine -N -w 1 -r "$RUNS" --prepare "sh -c '$reset_first'" --export-json "$OUT/first-manual.json" "$W/manual.sh" >/dev/null
read -r first_a first_a_sd _ < <(ms "$OUT/first-anchorage.json")
read -r first_m first_m_sd _ < <(ms "$OUT/first-manual.json")
sh -c "$reset_first"; first_rss=$(rss "$BIN" --root "$W/first" install "$CA")

# 3. 10,000-certificate bundle under --check (decode + policy + plan; output to /dev/null).
bundle_mb=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e6:.1f}')" "$W/bundle10k.pem")
hyperfine -N -w 2 -r 20 --export-json "$OUT/bundle10k.json" "$BIN --root $W/noop install --check --format json $W/bundle10k.pem" >/dev/null
read -r b10k b10k_sd _ < <(ms "$OUT/bundle10k.json")
b10k_rss=$(rss "$BIN" --root "$W/noop" install --check --format json "$W/bundle10k.pem")
b10k_mbs=$(python3 -c "print(f'{$bundle_mb/($b10k/1000):.0f}')")

# 4. exec restart cost vs the guide's "update-ca-certificates at every start".
mkdir -p "$W/src" && cp "$W/fx/myNewCa.pem" "$W/src/"
cp -a "$W/template" "$W/exec"
"$BIN" --root "$W/exec" exec "$W/src" -- true 2>/dev/null
hyperfine -N -w 5 -m 200 --export-json "$OUT/exec-anchorage.json" "$BIN --root $W/exec exec $W/src -- true" >/dev/null
# shellcheck disable=SC2046
hyperfine -w 1 -r "$RUNS" --export-json "$OUT/exec-hook.json" "update-ca-certificates $(hook_args "$W/exec") >/dev/null && true" >/dev/null
read -r exec_a exec_a_sd _ < <(ms "$OUT/exec-anchorage.json")
read -r exec_h exec_h_sd _ < <(ms "$OUT/exec-hook.json")

# 5. scaling: install N source anchors with --no-update into a fresh tree.
declare -A scale
mkdir -p "$W/trash"
for n in 1 100 1000 10000; do
  # The previous tree is moved aside, not deleted: on ext4 without a journal (this machine's
  # disk) the inode allocator skips inodes freed in the last ~30 s one by one, which after
  # deleting 10,000 files makes creating 10,000 new ones quadratic in the kernel (measured:
  # 4.6 s, 4.3 s of it system time in find_inode_bit/recently_deleted). sync: the single
  # syncfs of the measured run then flushes anchorage's own files, not the copy's.
  reset="if [ -e $W/scale ]; then mv $W/scale $W/trash/\$(date +%s%N); fi; cp -a $W/template $W/scale && sync"
  hyperfine -N -w 1 -r 5 --prepare "sh -c '$reset'" --export-json "$OUT/scale$n.json" "$BIN --root $W/scale install --no-update $W/scale$n/" >/dev/null
  read -r t _ _ < <(ms "$OUT/scale$n.json")
  scale[$n]=$t
done

refresh_section
java_section

strip -o "$W/stripped" "$BIN"
size=$(stat -c %s "$W/stripped")

python3 - "$OUT/results.json" <<EOF
import json, sys
r = {
  "noop": {"anchorage_ms": $noop_a, "anchorage_sd_ms": $noop_a_sd, "anchorage_min_ms": $noop_a_min, "hook_ms": $noop_h, "hook_sd_ms": $noop_h_sd,
           "ratio": $noop_a / $noop_h, "anchorage_rss_kb": $noop_rss, "hook_rss_kb": $noop_hook_rss},
  "first_install": {"anchorage_ms": $first_a, "anchorage_sd_ms": $first_a_sd, "manual_ms": $first_m, "manual_sd_ms": $first_m_sd,
                    "ratio": $first_a / $first_m, "anchorage_rss_kb": $first_rss},
  "bundle_10k_check": {"ms": $b10k, "sd_ms": $b10k_sd, "mb": $bundle_mb, "mb_per_s": $b10k_mbs, "rss_kb": $b10k_rss},
  "exec_restart": {"anchorage_ms": $exec_a, "anchorage_sd_ms": $exec_a_sd, "hook_ms": $exec_h, "hook_sd_ms": $exec_h_sd, "ratio": $exec_a / $exec_h},
  "scaling_no_update_ms": {"1": ${scale[1]}, "100": ${scale[100]}, "1000": ${scale[1000]}, "10000": ${scale[10000]}},
  "stripped_binary_bytes": $size,
}
json.dump(r, open(sys.argv[1], "w"), indent=2)
t = r
print()
print(f"{'measure':<44} {'anchorage':>14} {'reference':>14} {'ratio':>9}  target")
print(f"{'no-op install (everything in place)':<44} {t['noop']['anchorage_ms']:>11.2f} ms {t['noop']['hook_ms']:>11.1f} ms {t['noop']['ratio']:>9.4f}  <= 0.01")
print(f"{'first install of one CA vs copy + hook':<44} {t['first_install']['anchorage_ms']:>11.1f} ms {t['first_install']['manual_ms']:>11.1f} ms {t['first_install']['ratio']:>9.3f}  <= 1.05")
print(f"{'exec restart vs update-ca-certificates':<44} {t['exec_restart']['anchorage_ms']:>11.2f} ms {t['exec_restart']['hook_ms']:>11.1f} ms {t['exec_restart']['ratio']:>9.4f}")
b = t['bundle_10k_check']
print(f"{'10,000-cert bundle --check (' + str(b['mb']) + ' MB)':<44} {b['ms']:>11.1f} ms {'':>14} {'':>9}  <= 100 ms; {b['mb_per_s']} MB/s")
print(f"{'peak RSS: no-op / first install / 10k':<44} {t['noop']['anchorage_rss_kb']/1024:>6.1f} / {t['first_install']['anchorage_rss_kb']/1024:.1f} / {b['rss_kb']/1024:.1f} MB (hook no-op {t['noop']['hook_rss_kb']/1024:.1f} MB)  <= 10 / - / 48 MB")
print(f"{'stripped binary':<44} {t['stripped_binary_bytes']/1e6:>11.2f} MB {'':>14} {'':>9}  <= 8 MB")
s = t['scaling_no_update_ms']
print(f"{'scaling, install --no-update of N anchors':<44} " + ", ".join(f"N={k}: {v:.1f} ms" for k, v in s.items()))
per = {k: v / int(k) for k, v in s.items()}
print(f"{'  per anchor':<44} " + ", ".join(f"N={k}: {v*1000:.0f} us" for k, v in per.items()))
print()
print("written:", sys.argv[1])
EOF
