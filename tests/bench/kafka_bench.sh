#!/bin/bash
# [kafka] sink costs against librdkafka's mock cluster (tests/kafka/kafka_mock_cluster,
# 3 brokers on 127.0.0.1):
#  1. records/s through the spool to the cluster: RECORDS alert events (one
#     per line: window size 1, values alternating hot and cold), from the
#     first line appended to the last acknowledgement;
#  2. fsyncs per second of the spool while every broker is down, records
#     arriving at RATE lines/s for DOWN_SECONDS;
#  3. RSS (peak and after the run) with [kafka] on and off, same input.
# Usage: tests/bench/kafka_bench.sh [BUILD_DIR]
#   RECORDS [200000], RATE [2000], DOWN_SECONDS [20]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
records=${RECORDS:-200000}
rate=${RATE:-2000}
down_seconds=${DOWN_SECONDS:-20}
gate=$build/gateway/sensorgate
mock=$build/tests/kafka_mock_cluster
work=$(mktemp -d /tmp/sensorgate-kafkabench.XXXXXX)
pid=""
mock_pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  if [[ -n $mock_pid ]]; then
    echo quit >&3 || true
    exec 3>&-
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { { curl -s "http://127.0.0.1:$1/metrics" || true; } | awk -v n="$2" '$1 == n {print $2; f=1} END {if (!f) print -1}'; }
await_metric() {  # port name min timeout_s
  local deadline=$((SECONDS + $4))
  while (( SECONDS < deadline )); do
    local v; v=$(metric "$1" "$2")
    awk -v v="$v" -v m="$3" 'BEGIN {exit !(v >= m)}' && return 0
    sleep 0.05  # a poll interval between HTTP requests
  done
  echo "timeout waiting for $2 >= $3" >&2
  return 1
}
lines() {  # count first: alternating 80/70 on one key
  awk -v n="$1" -v f="$2" 'BEGIN { for (i = f; i < f + n; i++)
    printf "{\"sensor\":\"k%d\",\"data_evento\":\"2023-03-15T12:00:00.000000Z\",\"padrao\":{\"leitura\":{\"temperatura\":%d}}}\n", i % 50, (int(i / 50) % 2) ? 70 : 80 }'
}
ini() {  # name port kafka(0|1)
  cat <<INI
[gateway]
name = bench
state_dir = $work/state-$1
log_level = error
[file]
path = $work/$1.log
from = beginning
[window]
size = 1
[alert]
above = 75
clear_below = 73
[http]
listen = 127.0.0.1:$2
INI
  if [[ $3 == 1 ]]; then
    printf '[kafka]\nbrokers = %s\ntopic = agg\nalerts_topic = alerts\ninterval = 1s\nspool_max = 64MiB\n' "$bootstrap"
  fi
}
rss() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

mkfifo "$work/ctl"
"$mock" agg alerts <"$work/ctl" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/ctl"
for _ in $(seq 100); do [[ -s $work/mock.out ]] && break; sleep 0.05; done
bootstrap=$(head -1 "$work/mock.out")
echo "mock cluster: $bootstrap"

# --- 1. throughput --------------------------------------------------------------
port=$(free_port)
ini tput "$port" 1 >"$work/tput.ini"
: >"$work/tput.log"
"$gate" --config "$work/tput.ini" 2>"$work/tput.err" &
pid=$!
await_metric "$port" sensorgate_kafka_next_seq 1 20
lines "$records" 0 >"$work/tput.src"
t0=$(date +%s%N)
cat "$work/tput.src" >>"$work/tput.log"
# Each line is an alert event (the first per key is not: its window starts cold).
await_metric "$port" sensorgate_records_accepted_total "$records" 600
spooled=$(metric "$port" sensorgate_kafka_records_spooled_total)
await_metric "$port" sensorgate_kafka_records_acknowledged_total "$spooled" 600
t1=$(date +%s%N)
curl -s "http://127.0.0.1:$port/metrics" >"$work/tput.metrics"
awk -v n="$spooled" -v ns="$((t1 - t0))" 'BEGIN {
  printf "throughput: %d records spooled and acknowledged in %.2f s: %.0f records/s\n", n, ns / 1e9, n / (ns / 1e9) }'
awk '$1 == "sensorgate_kafka_delivery_seconds_sum" {s = $2} $1 == "sensorgate_kafka_delivery_seconds_count" {c = $2}
     $1 == "sensorgate_kafka_spool_fsyncs_total" {f = $2}
     END { printf "  delivery latency (handed to librdkafka -> acknowledged): mean %.3f s over %d; spool fsyncs %d\n", s / c, c, f }' "$work/tput.metrics"
echo "  RSS: peak $(rss $pid VmHWM) KiB, now $(rss $pid VmRSS) KiB"
kill -TERM $pid; wait $pid || true; pid=""

# --- 2. fsyncs per second while the cluster is down ----------------------------------
port=$(free_port)
ini down "$port" 1 >"$work/down.ini"
: >"$work/down.log"
"$gate" --config "$work/down.ini" 2>"$work/down.err" &
pid=$!
await_metric "$port" sensorgate_kafka_next_seq 1 20
echo down >&3
f0=$(metric "$port" sensorgate_kafka_spool_fsyncs_total)
s0=$(metric "$port" sensorgate_kafka_records_spooled_total)
t0=$(date +%s%N)
chunk=$((rate / 10))
for i in $(seq 0 $((down_seconds * 10 - 1))); do
  lines "$chunk" $((i * chunk)) >>"$work/down.log"
  sleep 0.1  # the pace of the arriving records
done
t1=$(date +%s%N)
f1=$(metric "$port" sensorgate_kafka_spool_fsyncs_total)
s1=$(metric "$port" sensorgate_kafka_records_spooled_total)
b1=$(metric "$port" sensorgate_kafka_spool_bytes)
awk -v f="$((f1 - f0))" -v s="$((s1 - s0))" -v b="$b1" -v ns="$((t1 - t0))" 'BEGIN {
  secs = ns / 1e9
  printf "cluster down %.1f s: %d records spooled (%.0f/s), %d fsyncs: %.2f fsyncs/s; spool %d bytes\n", secs, s, s / secs, f, f / secs, b }'
echo "  RSS while down: $(rss $pid VmRSS) KiB"
echo up >&3
await_metric "$port" sensorgate_kafka_records_acknowledged_total "$s1" 300
echo "  after up: all $s1 records acknowledged, spool records $(metric "$port" sensorgate_kafka_spool_records)"
kill -TERM $pid; wait $pid || true; pid=""

# --- 3. RSS with [kafka] on and off -----------------------------------------------------
for k in 0 1; do
  port=$(free_port)
  ini "rss$k" "$port" "$k" >"$work/rss$k.ini"
  lines 100000 0 >"$work/rss$k.log"
  "$gate" --config "$work/rss$k.ini" 2>"$work/rss$k.err" &
  pid=$!
  await_metric "$port" sensorgate_records_accepted_total 100000 300
  if [[ $k == 1 ]]; then
    await_metric "$port" sensorgate_kafka_records_acknowledged_total "$(metric "$port" sensorgate_kafka_records_spooled_total)" 300
  fi
  sleep 2  # settle: the interval's publication and the checkpoint
  echo "kafka $( [[ $k == 1 ]] && echo on || echo off): 100000 lines: RSS peak $(rss $pid VmHWM) KiB, now $(rss $pid VmRSS) KiB"
  kill -TERM $pid; wait $pid || true; pid=""
done
