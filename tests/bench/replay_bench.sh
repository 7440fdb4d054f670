#!/bin/bash
# Replay benchmark: sensorgate --replay beside `wc -l` and the same computation
# in mawk (tests/bench/replay.awk), on generated files of N records in the
# sample's format, with 50 keys and with 10,000 keys. Prints lines/s, the
# ratios, peak RSS, and callgrind instructions per record.
#
# Usage: tests/bench/replay_bench.sh [BUILD_DIR] [N]
#   BUILD_DIR holds gateway/sensorgate and simulator/sensorgate-sim [build]
#   N records per file [1000000]; BENCH_RUNS runs each, best kept [3];
#   BENCH_CALLGRIND=0 skips the instruction count.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-1000000}
runs=${BENCH_RUNS:-3}
gate=$build/gateway/sensorgate
sim=$build/simulator/sensorgate-sim
work=$(mktemp -d /tmp/sensorgate-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for tool in mawk wc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "replay_bench: $tool is missing (apt-get install mawk time)" >&2; exit 1; }
done

size=60 above=75.0123 clear=73.0123 min_samples=10  # thresholds no window average can equal exactly
cat > "$work/bench.ini" <<INI
[window]
size = $size
max_keys = 10000
[alert]
above = $above
clear_below = $clear
min_samples = $min_samples
INI

# best_of CMD...: runs CMD $runs times; prints "seconds max_rss_kib" of the
# fastest run (wall time from the nanosecond clock, RSS from /usr/bin/time).
best_of() {
  local best="" rss="" i t0 t1 t r
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/time" "$@" >"$work/out" 2>"$work/err"
    t1=$(date +%s%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b - a) / 1e9}')
    r=$(tail -n 1 "$work/time")
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t rss=$r; fi
  done
  echo "$best $rss"
}
rate() { awk -v n="$n" -v s="$1" 'BEGIN{ if (s <= 0) s = 0.005; printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0) b = 0.005; if (a <= 0) a = 0.005; printf "%.2f", b / a }'; }

echo "replay benchmark: $n records a file, window size $size, best of $runs runs, $(nproc) cores, $(uname -m)"
printf '| keys | tool | seconds | lines/s | vs wc -l | vs mawk | peak RSS |\n|---|---|---|---|---|---|---|\n'
for keys in 50 10000; do
  file=$work/readings-$keys.txt
  "$sim" --equipment "$keys" --count "$n" --seed 7 --start-time 2023-03-15T12:00:00Z --hot $((keys <= 1000 ? keys / 10 : 0)) -o "$file"
  lines=$(wc -l <"$file")
  [[ $lines -eq $n ]] || { echo "replay_bench: expected $n lines, got $lines" >&2; exit 1; }

  read -r wc_s wc_rss < <(best_of wc -l "$file")
  read -r awk_s awk_rss < <(best_of mawk -v size=$size -v above=$above -v clear=$clear -v min_samples=$min_samples -f "$src/tests/bench/replay.awk" "$file")
  cp "$work/out" "$work/awk.out"
  read -r sg_s sg_rss < <(best_of "$gate" --config "$work/bench.ini" --replay "$file")
  cp "$work/out" "$work/sg.out"

  # Same computation: the same alert events in the same order and the same
  # windows; avg is left out of the comparison (awk sums without compensation).
  strip() { sed 's/"avg":[^,]*,//' "$1"; }
  diff <(grep '"alert"' "$work/awk.out" | strip /dev/stdin) <(grep '"alert"' "$work/sg.out" | strip /dev/stdin) >/dev/null \
    || { echo "replay_bench: alert events differ between mawk and sensorgate ($keys keys)" >&2; exit 1; }
  diff <(grep '"window"' "$work/awk.out" | strip /dev/stdin | sort) <(grep '"window"' "$work/sg.out" | strip /dev/stdin | sort) >/dev/null \
    || { echo "replay_bench: window lines differ between mawk and sensorgate ($keys keys)" >&2; exit 1; }

  printf '| %s | wc -l | %s | %s | 1.00 | | %s KiB |\n' "$keys" "$wc_s" "$(rate "$wc_s")" "$wc_rss"
  printf '| %s | mawk | %s | %s | %s | 1.00 | %s KiB |\n' "$keys" "$awk_s" "$(rate "$awk_s")" "$(ratio "$awk_s" "$wc_s")" "$awk_rss"
  printf '| %s | sensorgate | %s | %s | %s | %s | %s KiB |\n' "$keys" "$sg_s" "$(rate "$sg_s")" "$(ratio "$sg_s" "$wc_s")" "$(ratio "$sg_s" "$awk_s")" "$sg_rss"
  alerts=$(grep -c '"alert"' "$work/sg.out" || true)
  echo "  ($keys keys: $alerts alert events, identical in mawk and sensorgate; window lines identical but for avg rounding)" >&2

  if [[ ${BENCH_CALLGRIND:-1} != 0 ]] && command -v valgrind >/dev/null; then
    # Two runs, 100,000 and 200,000 records: their difference is the cost of
    # a record without the start-up (libraries, configuration, arena).
    count_ir() {
      head -n "$1" "$file" >"$work/head.txt"
      valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$gate" --config "$work/bench.ini" \
        --replay "$work/head.txt" >/dev/null 2>"$work/cg.err"
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.err"
    }
    ir1=$(count_ir 100000)
    ir2=$(count_ir 200000)
    echo "  ($keys keys: $(((ir2 - ir1) / 100000)) instructions per record (callgrind, marginal: 200,000-record run minus 100,000-record run); $((ir1 / 100000)) with start-up over 100,000 records)" >&2
  fi
  rm -f "$file"
done
