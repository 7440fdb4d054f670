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
#   space is refused by --check with exit 78 and its true size, not a wrapped
#   32-bit product.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: cross/check.sh arm64|armhf BUILD_DIR HOST_BUILD_DIR}
build=${2:?BUILD_DIR}
host=${3:?HOST_BUILD_DIR}
sysroot=${CROSS_CACHE:-/work/cross-cache}/sysroot-$arch
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

  # Known gap (gateway/daemon/config_schema.cc, reported): a plan within
  # memory_max but past a 32-bit address space passes --check on armhf and
  # fails only at start-up with exit 1. Reported here, not failed on.
  sed -e 's/^memory_max = .*/memory_max = 16GiB/' -e 's/^max_keys = .*/max_keys = 10000/' \
    "$tmp/huge.ini" > "$tmp/mid.ini"
  set +e
  "${qemu[@]}" "$build/gateway/sensorgate" --config "$tmp/mid.ini" --check > "$tmp/mid.out" 2>&1
  rc=$?
  set -e
  if [ "$rc" = 78 ]; then
    echo "check.sh: armhf refuses a 7.5 GiB plan (within memory_max, past 32 bits) with exit 78"
  else
    echo "check.sh: WARNING: armhf --check exits $rc for a 7.5 GiB window plan within memory_max" \
         "that a 32-bit process cannot allocate (start-up then fails with exit 1, not 78)"
  fi
fi
echo "check.sh: $arch OK"
