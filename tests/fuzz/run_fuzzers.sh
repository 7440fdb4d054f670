#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time. Usage: tests/fuzz/run_fuzzers.sh [SECONDS_EACH] [BUILD_DIR]
# (FUZZ_TARGETS="http_fuzz" runs only those named).
set -eu
seconds=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$src/build-fuzz}
targets=${FUZZ_TARGETS:-record_fuzz config_fuzz mqtt_fuzz http_fuzz}
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSENSORGATE_BUILD_TESTS=OFF -DSENSORGATE_BUILD_FUZZERS=ON \
  -DCMAKE_C_FLAGS="-fsanitize=address,undefined,fuzzer-no-link" \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" >/dev/null
cmake --build "$build" -j2 --target $targets
for target in $targets; do
  rm -f "$build/$target-"*
  corpus=$(mktemp -d)
  cp "$src/tests/fuzz/corpus/${target%_fuzz}"/* "$corpus"/
  echo "== $target: ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/$target" -max_total_time="$seconds" -max_len=70000 -print_final_stats=1 \
    -artifact_prefix="$build/$target-" "$corpus" 2>&1 | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done' || true
  # libFuzzer exits non-zero on a crash; grep above hides it, so look for artifacts.
  if ls "$build/$target-"* >/dev/null 2>&1; then
    echo "$target found a crash: $(ls "$build/$target-"*)"; exit 1
  fi
  rm -rf "$corpus"
done
echo "fuzzers: no crash"
