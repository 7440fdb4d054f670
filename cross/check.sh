#!/bin/bash
# Acceptance checks of a cross build against a native (amd64) build:
#
#   cross/check.sh ARCH BUILD_DIR HOST_BUILD_DIR
#
# - the binaries are ELF for the target machine (`file`);
# - `--version` and `--replay` of the sample data give the same bytes under
#   qemu-user as natively (tests/fixtures/demo.ini; skipped, with a message,
#   when $SENSORGATE_DATA, default ../shared/data/dados_sensores.txt, is absent);
# - armhf only: a [window] size × max_keys too large for a 32-bit address
#   space is refused by --check and at start-up with exit 78, the file, line
#   and key, its true size (not a wrapped 32-bit product) and the bound (2 GiB
#   of windows); amd64 loads the same files. Over memory_max, both refuse alike.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: cross/check.sh arm64|armhf BUILD_DIR HOST_BUILD_DIR}
build=${2:?BUILD_DIR}
host=${3:?HOST_BUILD_DIR}
sysroot=${CROSS_CACHE:-$PWD/build-cross-cache}/sysroot-$arch
data=${SENSORGATE_DATA:-$PWD/../shared/data/dados_sensores.txt}
case "$arch" in
  arm64) qemu=(qemu-aarch64 -L "$sysroot"); elf='ELF 64-bit LSB .*ARM aarch64' ;;
  armhf) qemu=(qemu-arm -L "$sysroot"); elf='ELF 32-bit LSB .*ARM, EABI5' ;;
  *) echo "check.sh: unknown ARCH '$arch'" >&2; exit 64 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check.sh: FAIL: $*" >&2; exit 1; }

for bin in gateway/sensorgate simulator/sensorgate-sim; do
  f=$(file -b "$build/$bin")
  [[ $f =~ $elf ]] || fail "$build/$bin is not $elf: $f"
  echo "check.sh: $bin: $f"
done

if [ "$arch" = armhf ]; then
  # Built with 64-bit file offsets (cross/armhf.cmake): the programs import
  # glibc's *64 file calls, never the 32-bit off_t/ino_t ones (which fail past
  # 2 GiB and on 64-bit inode numbers).
  for bin in gateway/sensorgate simulator/sensorgate-sim; do
    old=$(arm-linux-gnueabihf-nm -D --undefined-only "$build/$bin" |
      awk '{ print $NF }' | sed 's/@.*//' |
      grep -xE 'open|openat|creat|pread|pwrite|lseek|ftruncate|truncate|stat|fstat|lstat|fstatat|readdir|fopen|mmap|fseeko|ftello|__xstat|__fxstat|__lxstat|__fxstatat' || true)
    [ -z "$old" ] || fail "$bin imports 32-bit file-offset calls: $(echo $old)"
  done
  echo "check.sh: armhf programs use 64-bit file offsets and inode numbers (no 32-bit open/pread/stat/readdir imported)"
fi

"${qemu[@]}" "$build/gateway/sensorgate" --version > "$tmp/version.$arch"
"$host/gateway/sensorgate" --version > "$tmp/version.amd64"
cmp "$tmp/version.amd64" "$tmp/version.$arch" || fail "--version differs"
echo "check.sh: --version identical under qemu: $(cat "$tmp/version.$arch")"

if [ -f "$data" ]; then
  t0=$(date +%s)
  "$host/gateway/sensorgate" --config tests/fixtures/demo.ini --replay "$data" \
    > "$tmp/replay.amd64" 2> "$tmp/replay.amd64.err"
  "${qemu[@]}" "$build/gateway/sensorgate" --config tests/fixtures/demo.ini --replay "$data" \
    > "$tmp/replay.$arch" 2> "$tmp/replay.$arch.err"
  cmp "$tmp/replay.amd64" "$tmp/replay.$arch" || fail "--replay output differs (stdout)"
  # The summary on stderr ends with the run's duration and speed: compare the rest.
  for f in "$tmp/replay.amd64.err" "$tmp/replay.$arch.err"; do
    sed -E 's/, [0-9.]+ s, [0-9]+ records\/s$//' "$f" > "$f.counts"
  done
  cmp "$tmp/replay.amd64.err.counts" "$tmp/replay.$arch.err.counts" || fail "--replay summary differs (stderr)"
  echo "check.sh: --replay $data: identical under qemu" \
       "($(wc -l < "$tmp/replay.$arch") lines, $(wc -c < "$tmp/replay.$arch") bytes," \
       "$(md5sum < "$tmp/replay.$arch" | cut -c1-12); $(( $(date +%s) - t0 ))s)"
else
  echo "check.sh: SKIP --replay comparison: $data is absent (set SENSORGATE_DATA)"
fi

if [ "$arch" = armhf ]; then
  # 100000 × 100000 × 8 bytes = 74.5 GiB > memory_max 64 GiB; in 32-bit size_t
  # arithmetic the product would wrap to 2.5 GiB and pass.
  cat > "$tmp/huge.ini" <<'INI'
[gateway]
name = huge
state_dir = /tmp
memory_max = 64GiB

[file]
path = /nonexistent/*.log

[window]
size = 100000
max_keys = 100000
INI
  set +e
  "${qemu[@]}" "$build/gateway/sensorgate" --config "$tmp/huge.ini" --check > "$tmp/huge.out" 2>&1
  rc=$?
  set -e
  cat "$tmp/huge.out"
  [ "$rc" = 78 ] || fail "size × max_keys beyond 32 bits: exit $rc, expected 78"
  grep -q '74\.[0-9] GiB' "$tmp/huge.out" || fail "the refusal does not name the true size (74.5 GiB)"
  "$host/gateway/sensorgate" --config "$tmp/huge.ini" --check > "$tmp/huge.amd64" 2>&1 || true
  cmp "$tmp/huge.amd64" "$tmp/huge.out" || fail "the refusal differs from amd64's"
  echo "check.sh: armhf refuses size × max_keys = 74.5 GiB with exit 78, as amd64 does"

  # Within memory_max but past what a 32-bit process can address: refused by
  # --check and by start-up with exit 78, naming the file, the line and the
  # key, and the bound (2 GiB of windows where pointers have 32 bits); amd64
  # loads the same files (memory_max = 16GiB holds them).
  #   size × max_keys × 8      true size   a 32-bit size_t product
  #   100000 × 10000           7.5 GiB     wraps to 3.2 GiB
  #   100000 × 4100            3.1 GiB     fits in 32 bits, not in the address space
  #   100000 × 6000            4.5 GiB     wraps to 505 MB
  #   65536 × 8193             4 GiB       2^32 + 2^19: wraps to 512 KiB
  plan() {  # NAME SIZE MAX_KEYS
    sed -e 's/^memory_max = .*/memory_max = 16GiB/' -e "s/^size = .*/size = $2/" -e "s/^max_keys = .*/max_keys = $3/" \
      "$tmp/huge.ini" > "$tmp/$1.ini"
  }
  refused() {  # NAME SIZE MAX_KEYS TRUE_SIZE [--check]
    local name=$1 line rc
    plan "$name" "$2" "$3"
    line=$(grep -n '^max_keys' "$tmp/$name.ini" | cut -d: -f1)
    set +e
    timeout 120 "${qemu[@]}" "$build/gateway/sensorgate" --config "$tmp/$name.ini" ${5:-} > "$tmp/$name.out" 2>&1
    rc=$?
    set -e
    cat "$tmp/$name.out"
    [ "$rc" = 78 ] || fail "$name: $2 × $3 × 8 = $4 ${5:-(start-up)}: exit $rc, expected 78"
    grep -qF "$tmp/$name.ini:$line: [window] max_keys = $3: the windows need $4 (" "$tmp/$name.out" ||
      fail "$name: the refusal does not name file, line, key and the true size $4"
    grep -qF 'more than a 32-bit process can hold: at most 2 GiB of windows' "$tmp/$name.out" ||
      fail "$name: the refusal does not say what is allowed"
    "$host/gateway/sensorgate" --config "$tmp/$name.ini" --check > "$tmp/$name.amd64" 2>&1 ||
      fail "$name: amd64 refuses a plan within memory_max: $(cat "$tmp/$name.amd64")"
    echo "check.sh: armhf refuses size × max_keys = $4 $([ -n "${5:-}" ] && echo "with $5" || echo at start-up)," \
         "exit 78 (amd64 loads it)"
  }
  refused mid 100000 10000 '7.5 GiB' --check
  refused above3g 100000 4100 '3.1 GiB' --check
  refused past32 100000 6000 '4.5 GiB' --check
  refused wraps 65536 8193 '4 GiB' --check
  refused wraps-startup 65536 8193 '4 GiB'
  plan within 100000 2600
  "${qemu[@]}" "$build/gateway/sensorgate" --config "$tmp/within.ini" --check > "$tmp/within.out" 2>&1 ||
    fail "a 1.9 GiB plan is refused on armhf: $(cat "$tmp/within.out")"
  echo "check.sh: armhf accepts a 1.9 GiB plan (100000 × 2600): $(grep 'memory plan: total' "$tmp/within.out")"
fi
echo "check.sh: $arch OK"
