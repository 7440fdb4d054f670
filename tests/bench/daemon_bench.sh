#!/bin/bash
# Daemon costs: CPU seconds per hour while idle (3 followed files, no new
# lines: no busy polling), and peak RSS while following 10,000 keys.
# Usage: tests/bench/daemon_bench.sh [BUILD_DIR] [IDLE_SECONDS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
idle=${2:-60}
skip_idle=${SKIP_IDLE:-0}
gate=$build/gateway/sensorgate
sim=$build/simulator/sensorgate-sim
work=$(mktemp -d /tmp/sensorgate-daemonbench.XXXXXX)
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- idle: three files, no new lines -----------------------------------------
for f in a b c; do "$sim" --equipment 5 --count 1000 --seed 1 --start-time 2023-03-15T12:00:00Z -o "$work/$f.log"; done
cat >"$work/idle.ini" <<INI
[gateway]
state_dir = $work/state-idle
[file]
path = $work/*.log
from = beginning
[alert]
above = 75
stale_after = 1h
[http]
listen = 127.0.0.1:0
INI
"$gate" --config "$work/idle.ini" 2>"$work/idle.err" &
pid=$!
for _ in $(seq 100); do grep -q "started" "$work/idle.err" 2>/dev/null && break; sleep 0.1; done
sleep 2  # let it finish reading the 3,000 lines before the idle measurement starts
t0=$(cpu_ticks $pid); s0=$(date +%s%N)
sleep "$idle"
t1=$(cpu_ticks $pid); s1=$(date +%s%N)
kill -TERM $pid; wait $pid || true; pid=""
awk -v t="$((t1 - t0))" -v hz="$ticks" -v ns="$((s1 - s0))" 'BEGIN {
  secs = ns / 1e9; cpu = t / hz
  printf "idle: 3 files, no new lines, %.0f s: %.2f CPU s (clock ticks of 1/%d s) -> %.2f CPU s per hour\n", secs, cpu, hz, cpu * 3600 / secs }'

# --- peak RSS while following 10,000 keys ---------------------------------------
"$sim" --equipment 10000 --count 1000000 --seed 2 --start-time 2023-03-15T12:00:00Z -o "$work/big.txt"
cat >"$work/big.ini" <<INI
[gateway]
state_dir = $work/state-big
[file]
path = $work/big.txt
from = beginning
[window]
size = 60
max_keys = 10000
[alert]
above = 75
clear_below = 73
min_samples = 10
[http]
listen = 127.0.0.1:0
INI
s0=$(date +%s%N)
"$gate" --config "$work/big.ini" 2>"$work/big.err" &
pid=$!
port=""
for _ in $(seq 100); do port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/big.err" | head -1); [[ -n $port ]] && break; sleep 0.1; done
# Wait until all 1,000,000 records are read (via /metrics), then read VmHWM.
# (every 0.5 s: each /metrics answer lists 30,000 per-key series)
for _ in $(seq 1200); do
  n=$(exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && sed -n 's/^sensorgate_records_read_total //p' <&3)
  [[ $n == 1000000 ]] && break
  sleep 0.5
done
s1=$(date +%s%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill -TERM $pid; wait $pid || true; pid=""
echo "following 10,000 keys (size 60, 1,000,000 records, HTTP on): peak RSS ${hwm} KiB; read in $(( (s1 - s0) / 1000000 )) ms"
