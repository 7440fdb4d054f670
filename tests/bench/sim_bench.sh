#!/bin/bash
# Simulator throughput: sensorgate-sim writing N readings as fast as it can to
# a file, beside `yes | head -n N` writing lines of the same length, in the
# same run. Best of BENCH_RUNS [3].
# Usage: tests/bench/sim_bench.sh [BUILD_DIR] [N]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-1000000}
runs=${BENCH_RUNS:-3}
sim=$build/simulator/sensorgate-sim
work=$(mktemp -d /tmp/sensorgate-simbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# ms CMD...: wall milliseconds of one run.
ms() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
best_sim="" best_yes=""
for ((i = 0; i < runs; i++)); do
  rm -f "$work/sim.txt" "$work/yes.txt"
  t=$(ms "$sim" --count "$n" --seed 1 --start-time 2023-03-15T12:00:00Z -o "$work/sim.txt")
  [[ -z $best_sim || $t -lt $best_sim ]] && best_sim=$t
  # yes writes lines as long as the simulator's average line.
  len=$(( $(stat -c %s "$work/sim.txt") / n - 1 ))
  line=$(head -c "$len" /dev/zero | tr '\0' a)
  t=$(ms sh -c "yes '$line' | head -n $n > '$work/yes.txt'")
  [[ -z $best_yes || $t -lt $best_yes ]] && best_yes=$t
done
[[ $(wc -l <"$work/sim.txt") -eq $n ]] || { echo "sim_bench: wrong line count" >&2; exit 1; }
rate() { awk -v n="$n" -v ms="$1" 'BEGIN{ if (ms < 1) ms = 1; printf "%.0f", n * 1000 / ms }'; }
echo "simulator benchmark: $n lines of $((len + 1)) bytes to a file, best of $runs runs, $(uname -m)"
printf '| writer | ms | lines/s |\n|---|---|---|\n'
printf '| sensorgate-sim | %s | %s |\n' "$best_sim" "$(rate "$best_sim")"
printf '| yes \\| head -n %s | %s | %s |\n' "$n" "$best_yes" "$(rate "$best_yes")"
