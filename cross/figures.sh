#!/bin/bash
# The README's figures for the edge builds (issue 13, Acceptance 4):
#
#   cross/figures.sh            stripped sizes of the packaged binaries
#   FIGURES=1 cross/figures.sh  also the peak RSS of a replay of 1,000,000
#                               readings over 10,000 keys (made by sensorgate-sim)
#
# Reads build-cross-{arm64,armhf} and $CROSS_HOST_BUILD (default
# build-cross-amd64) and their packages/. Under qemu-user the
# RSS is the emulator process's VmHWM (GNU time's %M, the same counter): guest
# code and data, the libraries it loaded, plus qemu itself and its translated
# code cache. The same run of `sensorgate --version` is shown as the baseline
# (qemu + loaded libraries, no windows).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${CROSS_CACHE:-$PWD/build-cross-cache}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A prefix=([amd64]="" [arm64]=aarch64-linux-gnu- [armhf]=arm-linux-gnueabihf-)
declare -A tree=([amd64]=${CROSS_HOST_BUILD:-build-cross-amd64} [arm64]=build-cross-arm64 [armhf]=build-cross-armhf)

echo "stripped binaries, as packaged (bytes; MiB):"
for arch in amd64 arm64 armhf; do
  deb=$(ls "${tree[$arch]}"/packages/sensorgate_*_$arch.deb)
  mkdir -p "$tmp/$arch"
  dpkg-deb -x "$deb" "$tmp/$arch"
  for bin in sensorgate sensorgate-sim; do
    b=$(stat -c %s "$tmp/$arch/usr/bin/$bin")
    awk -v a="$arch" -v n="$bin" -v b="$b" 'BEGIN { printf "  %-6s %-15s %9d  %.2f MiB\n", a, n, b, b / 1048576 }'
  done
  printf '  %-6s %-15s %s\n' "$arch" ".deb" "$(stat -c %s "$deb") bytes"
  "${prefix[$arch]}size" "$tmp/$arch/usr/bin/sensorgate" | sed 's/^/    size: /'
done
echo "largest symbols of sensorgate (arm64, from the unstripped build; bytes, section, name):"
aarch64-linux-gnu-nm -t d --size-sort -r -C -S build-cross-arm64/gateway/sensorgate > "$tmp/nm"
head -n 15 "$tmp/nm" | awk '{ printf "    %8d %s ", $2 + 0, $3; $1=$2=$3=""; print substr($0, 4) }'
echo "text by source library (arm64, bytes of symbols defined by each namespace prefix):"
awk '
  { n = $2 + 0; $1=$2=$3=""; s = substr($0, 4)
    if (s ~ /^simdjson::/) k = "simdjson"; else if (s ~ /^sensorgate::/) k = "sensorgate";
    else if (s ~ /^std::|^void std::|^__gnu_cxx::/) k = "std (templates instantiated here)"; else k = "other";
    t[k] += n }
  END { for (k in t) printf "    %-36s %9d\n", k, t[k] }' "$tmp/nm"

[ "${FIGURES:-0}" = 1 ] || exit 0

data=$cache/sim-1M-10k.jsonl
if [ ! -s "$data" ]; then
  "${tree[amd64]}"/simulator/sensorgate-sim --equipment 10000 --count 1000000 --seed 1 \
    --start-time 2023-03-15T12:00:00Z > "$data.tmp"
  mv "$data.tmp" "$data"
fi
cat > "$tmp/rss.ini" <<'INI'
[gateway]
name = rss

[window]
size = 60
max_keys = 10000

[alert]
above = 75
clear_below = 73
for = 2s
min_samples = 10
INI
echo "peak RSS, replay of $(wc -l < "$data") readings over 10,000 keys, [window] size 60 (KiB):"
for arch in amd64 arm64 armhf; do
  run=()
  case "$arch" in
    arm64) run=(qemu-aarch64 -L "$cache/sysroot-arm64") ;;
    armhf) run=(qemu-arm -L "$cache/sysroot-armhf") ;;
  esac
  bin=${tree[$arch]}/gateway/sensorgate
  /usr/bin/time -f '%M %e' -o "$tmp/base" "${run[@]}" "$bin" --version > /dev/null
  /usr/bin/time -f '%M %e' -o "$tmp/rss" "${run[@]}" "$bin" --config "$tmp/rss.ini" --replay "$data" \
    > "$tmp/out.$arch" 2> /dev/null
  read -r base _ < "$tmp/base"
  read -r rss secs < "$tmp/rss"
  printf '  %-6s replay %7d KiB (%ss)   --version baseline %7d KiB   difference %7d KiB   %s\n' \
    "$arch" "$rss" "$secs" "$base" "$((rss - base))" "${run[0]:-native}"
done
cmp -s "$tmp/out.amd64" "$tmp/out.arm64" && cmp -s "$tmp/out.amd64" "$tmp/out.armhf" &&
  echo "  (the three replays' outputs are byte-identical)"
