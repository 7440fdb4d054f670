#!/bin/bash
# Daemon costs: CPU seconds per hour and wake-ups per second while idle (3
# followed files, no new lines: no busy polling; wake-ups are the loop's
# epoll_wait returns, counted by strace when it is installed), memory (RSS,
# PSS and private, from /proc/PID/smaps_rollup) idle and at 10,000 keys x 60
# with HTTP on, then the same with MQTT connected as well (a mosquitto of its
# own on a free 127.0.0.1 port, started and stopped here; skipped when
# mosquitto is not installed), peak RSS while following 10,000 keys, and the
# longest /healthz stall while a backlog of CATCHUP_LINES lines is read.
# Usage: tests/bench/daemon_bench.sh [BUILD_DIR] [IDLE_SECONDS]
#   SKIP_IDLE=1 skips the idle part; STEADY_SECONDS [10], 0 skips the steady
#   part; CATCHUP_LINES [2000000], 0 skips the catch-up; SKIP_MQTT=1 skips
#   the run with MQTT.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
idle=${2:-60}
skip_idle=${SKIP_IDLE:-0}
gate=$build/gateway/sensorgate
sim=$build/simulator/sensorgate-sim
work=$(mktemp -d /tmp/sensorgate-daemonbench.XXXXXX)
pid=""
broker_pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; [[ -n $broker_pid ]] && kill $broker_pid 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# memory PID: "RSS r KiB, PSS p KiB, private q KiB (...)" (private: clean +
# dirty pages no other process maps: what this process costs the machine).
# Private splits into anonymous mappings (heap, windows, stacks) and the
# pages of mapped files only this process maps: those written (the
# libraries' relocated data) and those only read (their code, when no other
# process runs the same binaries: page cache, shared as soon as another
# process maps them).
memory() {
  awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {q += $2}
       END {printf "RSS %d KiB, PSS %d KiB, private %d KiB = %.1f MiB", r, p, q, q / 1024}' "/proc/$1/smaps_rollup"
  awk '/^[0-9a-f]+-[0-9a-f]+ / {file = ($6 != "" && $6 !~ /^\[/)}
       /^Private_Clean:/ {if (file) fc += $2; else a += $2}
       /^Private_Dirty:/ {if (file) fd += $2; else a += $2}
       END {printf " (anonymous %d KiB; mapped files %d KiB: %d written, %d read only)", a, fc + fd, fd, fc}' "/proc/$1/smaps"
  # MEMORY_DETAIL=1: each mapping's private KiB (file or anonymous), largest first.
  if [[ ${MEMORY_DETAIL:-0} == 1 ]]; then
    echo
    awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 != "" ? $6 : "[anonymous]")}
         /^Private_(Clean|Dirty):/ {q[name] += $2}
         END {for (n in q) if (q[n] > 0) printf "  %6d KiB  %s\n", q[n], n}' "/proc/$1/smaps" | sort -rn
  fi
}

# --- idle: three files, no new lines -----------------------------------------
if [[ $skip_idle != 1 ]]; then
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
echo "idle memory: $(memory $pid)"
t0=$(cpu_ticks $pid); s0=$(date +%s%N)
if command -v strace >/dev/null; then
  # Every return of the loop's epoll_wait is a wake-up.
  strace -f -qq -c -e trace=epoll_wait,epoll_pwait -o "$work/idle.strace" -p "$pid" &
  tracer=$!
  sleep "$idle"
  kill -INT $tracer; wait $tracer || true
  wakeups=$(awk '$NF ~ /^epoll_p?wait$/ {n += $4} END {print n + 0}' "$work/idle.strace")
  echo "idle wake-ups: $wakeups in $idle s: $(awk -v n="$wakeups" -v s="$idle" 'BEGIN {printf "%.2f", n / s}') per second"
else
  sleep "$idle"
fi
t1=$(cpu_ticks $pid); s1=$(date +%s%N)
kill -TERM $pid; wait $pid || true; pid=""
awk -v t="$((t1 - t0))" -v hz="$ticks" -v ns="$((s1 - s0))" 'BEGIN {
  secs = ns / 1e9; cpu = t / hz
  printf "idle: 3 files, no new lines, %.0f s: %.2f CPU s (clock ticks of 1/%d s) -> %.2f CPU s per hour\n", secs, cpu, hz, cpu * 3600 / secs }'
fi

# --- steady input: CPU per record following a file written at STEADY_RATE -----
# lines/s, against reading the same file in bulk (a fresh gateway reading it
# from its beginning). STEADY_SECONDS [10], 0 skips it.
steady=${STEADY_SECONDS:-10}
rate=${STEADY_RATE:-200000}
if [[ $steady -gt 0 ]]; then
: >"$work/steady.log"
cat >"$work/steady.ini" <<INI
[gateway]
state_dir = $work/state-steady
[file]
path = $work/steady.log
from = beginning
[alert]
above = 75
INI
"$gate" --config "$work/steady.ini" 2>"$work/steady.err" &
pid=$!
for _ in $(seq 100); do grep -q "started" "$work/steady.err" 2>/dev/null && break; sleep 0.1; done
t0=$(cpu_ticks $pid)
w0=$(awk '{print $1}' /proc/uptime)
"$sim" --equipment 50 --rate "$rate" --count $((rate * steady)) --seed 4 --start-time 2023-03-15T12:00:00Z -o "$work/steady.log"
w1=$(awk '{print $1}' /proc/uptime)
sleep 1  # the last batch
t1=$(cpu_ticks $pid)
lines=$(wc -l <"$work/steady.log")
kill -TERM $pid; wait $pid || true; pid=""
# The bulk read three times (fresh state each): the median, as one read's
# CPU ticks vary by a third from run to run on a shared machine.
bulks=()
for r in 1 2 3; do
  sed "s|state-steady|state-bulk-$r|" "$work/steady.ini" >"$work/bulk.ini"
  "$gate" --config "$work/bulk.ini" 2>"$work/bulk.err" &
  pid=$!
  b0=$(cpu_ticks $pid)
  for _ in $(seq 600); do grep -q "started" "$work/bulk.err" 2>/dev/null && break; sleep 0.1; done
  # Caught up when the checkpoint holds the file's size (written within 10 s).
  size=$(stat -c %s "$work/steady.log")
  for _ in $(seq 300); do grep -q "\"offset\":$size" "$work/state-bulk-$r/checkpoint.json" 2>/dev/null && break; sleep 0.1; done
  b1=$(cpu_ticks $pid)
  kill -TERM $pid; wait $pid || true; pid=""
  bulks+=($((b1 - b0)))
done
b0=0
b1=$(printf '%s\n' "${bulks[@]}" | sort -n | sed -n 2p)
echo "steady: bulk reads took ${bulks[*]} CPU ticks (median ${b1})"
awk -v l="$lines" -v s="$((t1 - t0))" -v b="$((b1 - b0))" -v hz="$ticks" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b - a}')" 'BEGIN {
  printf "steady: %d lines written in %.1f s (%.0f lines/s): %.2f CPU s following (%.2f us/line), %.2f CPU s in bulk, median of 3 (%.2f us/line): %.2fx\n",
    l, w, l / w, s / hz, s / hz / l * 1e6, b / hz, b / hz / l * 1e6, (b > 0 ? s / b : 0) }'
fi

# --- 10,000 keys x 60: peak RSS while following them, then memory ------------------
# The gateway follows 1,000,000 records of 10,000 keys with HTTP on, /metrics
# polled every 0.5 s (each answer lists 30,000 per-key series); once all are
# read: VmHWM, then RSS, PSS and private memory. A second run does the same
# with [mqtt] connected to a local mosquitto, which also delivers 10,000
# messages (the same keys) once the file is read.
"$sim" --equipment 10000 --count 1000000 --seed 2 --start-time 2023-03-15T12:00:00Z -o "$work/big.txt"
# metric PORT NAME: the value of an unlabelled sample of /metrics.
metric() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && sed -n "s/^$2 //p" <&3)
}
# big_run NAME LABEL RECORDS [MQTT_PORT]: one gateway at 10,000 keys; prints
# its figures.
big_run() {
  local name=$1 label=$2 records=$3 mqtt_port=${4:-} port="" n="" s0 s1 hwm mem
  cat >"$work/$name.ini" <<INI
[gateway]
state_dir = $work/state-$name
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
  if [[ -n $mqtt_port ]]; then
    printf '[mqtt]\nuri = tcp://127.0.0.1:%s\ntopics = plant/+/temperature\nqos = 1\nclient_id = bench-daemon\n' \
      "$mqtt_port" >>"$work/$name.ini"
  fi
  s0=$(date +%s%N)
  "$gate" --config "$work/$name.ini" 2>"$work/$name.err" &
  pid=$!
  for _ in $(seq 100); do port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/$name.err" | head -1); [[ -n $port ]] && break; sleep 0.1; done
  [[ -n $port ]] || { cat "$work/$name.err" >&2; echo "daemon_bench: the gateway did not start" >&2; exit 1; }
  if [[ -n $mqtt_port ]]; then
    for _ in $(seq 150); do grep -q "mqtt: subscribed" "$work/$name.err" && break; sleep 0.1; done
    grep -q "mqtt: subscribed" "$work/$name.err" || { cat "$work/$name.err" >&2; echo "daemon_bench: no MQTT subscription" >&2; exit 1; }
  fi
  # Wait until the file is read (via /metrics), then publish, then wait again.
  for _ in $(seq 1200); do n=$(metric "$port" sensorgate_records_read_total); [[ $n == 1000000 ]] && break; sleep 0.5; done
  if [[ -n $mqtt_port ]]; then
    "$sim" --equipment 10000 --count $((records - 1000000)) --seed 5 --start-time 2023-03-15T13:00:00Z \
      --mqtt "tcp://127.0.0.1:$mqtt_port" --topic 'plant/{key}/temperature' --qos 1 --client-id bench-daemon-pub \
      >/dev/null 2>"$work/$name-pub.err" || { cat "$work/$name-pub.err" >&2; echo "daemon_bench: publishing failed" >&2; exit 1; }
    for _ in $(seq 600); do n=$(metric "$port" sensorgate_records_read_total); [[ $n == "$records" ]] && break; sleep 0.5; done
  fi
  s1=$(date +%s%N)
  [[ $n == "$records" ]] || echo "daemon_bench: $name: only $n of $records records read" >&2
  sleep 1  # the last /metrics answer sent and freed, the windows published
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  mem=$(memory $pid)
  kill -TERM $pid; wait $pid || true; pid=""
  echo "following 10,000 keys (size 60, $label): peak RSS ${hwm} KiB; $records records read in $(( (s1 - s0) / 1000000 )) ms"
  echo "memory at 10,000 keys x 60, $label: $mem"
}
big_run http "HTTP on, 1,000,000 records" 1000000

broker=$(command -v mosquitto || true)
[[ -n $broker || ! -x /usr/sbin/mosquitto ]] || broker=/usr/sbin/mosquitto
if [[ ${SKIP_MQTT:-0} == 1 ]]; then
  :
elif [[ -z $broker ]]; then
  echo "memory with MQTT connected: skipped (mosquitto is not installed)"
else
  mkdir -m 0755 "$work/broker"; chmod 0755 "$work"  # mosquitto may drop to user mosquitto
  for _ in 1 2 3 4 5; do
    mqtt_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\nlog_dest stderr\n' \
      "$mqtt_port" >"$work/broker/mosquitto.conf"
    "$broker" -c "$work/broker/mosquitto.conf" 2>"$work/broker/log" &
    broker_pid=$!
    for _ in $(seq 100); do grep -q -e " running$" -e "Error" "$work/broker/log" 2>/dev/null && break; sleep 0.1; done
    grep -q " running$" "$work/broker/log" 2>/dev/null && break
    kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
  done
  [[ -n $broker_pid ]] || { cat "$work/broker/log" >&2; echo "daemon_bench: mosquitto did not start" >&2; exit 1; }
  big_run mqtt "HTTP on, MQTT connected, 1,000,000 records from the file then 10,000 MQTT messages" 1010000 "$mqtt_port"
  kill -TERM "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
fi

# --- catch-up: the longest /healthz stall while a backlog is read ---------------
catchup=${CATCHUP_LINES:-2000000}
if [[ $catchup -gt 0 ]]; then
"$sim" --equipment 50 --count "$catchup" --seed 3 --start-time 2023-03-15T12:00:00Z -o "$work/backlog.txt"
cat >"$work/catchup.ini" <<INI
[gateway]
state_dir = $work/state-catchup
[file]
path = $work/backlog.txt
from = beginning
[alert]
above = 75
[http]
listen = 127.0.0.1:0
INI
"$gate" --config "$work/catchup.ini" 2>"$work/catchup.err" &
pid=$!
port=""
for _ in $(seq 200); do port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/catchup.err" | head -1); [[ -n $port ]] && break; sleep 0.05; done
# One request after the other, each timed; the daemon's progress read from
# /metrics every 20th request. Stops when the whole backlog is read.
/usr/bin/python3 - "$port" "$catchup" <<'PY'
import socket, sys, time
port, total = int(sys.argv[1]), int(sys.argv[2])
def get(path):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    return data.decode("utf-8", "replace")
def read_total():
    for line in get("/metrics").splitlines():
        if line.startswith("sensorgate_records_read_total "):
            return int(float(line.split()[1]))
    return 0
start = time.monotonic(); worst = 0.0; n = 0; done = 0
while done < total and time.monotonic() - start < 600:
    t0 = time.monotonic(); get("/healthz"); dt = time.monotonic() - t0
    worst = max(worst, dt); n += 1
    if n % 20 == 0: done = read_total()
print("catch-up: %d lines read in %.0f ms; longest /healthz stall %.1f ms over %d requests"
      % (total, (time.monotonic() - start) * 1000, worst * 1000, n))
PY
kill -TERM $pid; wait $pid || true; pid=""
fi
