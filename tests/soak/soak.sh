#!/bin/bash
# Soak: the daemon under everything at once, for a bounded time, built with
# ASan + UBSan. Not run by CI or ctest; run it by hand:
#
#   tests/soak/soak.sh [BUILD_DIR] [SECONDS]
#     BUILD_DIR: a Sanitize build (cmake -DCMAKE_BUILD_TYPE=Sanitize) holding
#                gateway/sensorgate and simulator/sensorgate-sim [build-asan]
#     SECONDS:   how long the faults go on [300]
#   SOAK_SEED: the random seed of the faults and the data [1]
#
# What runs together:
#  - followed files: a writer appends records to in.log in chunks and rotates
#    it (rename to in.log.N, a new in.log) every few thousand lines;
#  - MQTT at QoS 1: sensorgate-sim publishes batches to a local mosquitto
#    (persistent session, max_queued_messages 0); between batches the broker
#    is sometimes restarted (its persistence keeps what it queued);
#  - faults, one every 1-4 s, chosen at random: a SIGHUP storm (30 in a row),
#    a SIGKILL at a random point and a restart, 80 HTTP clients connecting,
#    sending half a request and dropping, and (as root) a full state_dir (a
#    small tmpfs filled to the last byte) for 3-8 s.
# At the end the writers finish, the gateway catches up, and its /api/windows
# must equal `sensorgate --replay` of the same records; the final SIGTERM must
# exit 0 and no sanitizer report may exist. Prints a summary; exit 1 on any
# difference, crash or report.
#
# Data: file records are the simulator's, keys renamed to file-sensorNN;
# MQTT records keep sensorNN; so no key has records from both sources (whose
# relative order is not defined). Both are stamped with simulated time
# (--start-time), so the same seed gives the same records again for replay.
# The broker is restarted only between publisher runs: a publisher that loses
# its broker may publish a message twice (QoS 1 is at least once), which is
# the publisher's duplicate, not the gateway's.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build-asan}" && pwd)
seconds=${2:-300}
seed=${SOAK_SEED:-1}
gate=$build/gateway/sensorgate
sim=$build/simulator/sensorgate-sim
python=/usr/bin/python3
for tool in "$gate" "$sim" /usr/sbin/mosquitto "$python"; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is missing" >&2; exit 1; }
done
RANDOM=$seed

work=$(mktemp -d /tmp/sensorgate-soak.XXXXXX)
chmod 0755 "$work"  # mosquitto drops to user mosquitto
state=$work/state
mkdir -p "$state" "$work/logs" "$work/broker" "$work/asan"
chown mosquitto "$work/broker" 2>/dev/null || chmod 0777 "$work/broker"
mounted=0
if [[ $(id -u) == 0 ]] && mount -t tmpfs -o size=24m soak-state "$state" 2>/dev/null; then
  mounted=1
else
  echo "soak: not root (or no tmpfs): the full-state_dir fault is left out"
fi

pids=()
gate_pid=0
broker_pid=0
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  ((gate_pid)) && kill -KILL "$gate_pid" 2>/dev/null
  ((broker_pid)) && kill "$broker_pid" 2>/dev/null
  wait 2>/dev/null
  ((mounted)) && umount "$state"
  if [[ -n ${SOAK_KEEP:-} ]]; then echo "soak: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "soak: FAILED: $*" >&2; [[ -f $work/gate.log ]] && tail -n 30 "$work/gate.log" >&2; exit 1; }
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
mqtt_port=$(free_port)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$work/asan/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$work/asan/ubsan

# --- the broker -------------------------------------------------------------
cat >"$work/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/broker/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 100
EOF
start_broker() {
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" >>"$work/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do
    (echo >/dev/tcp/127.0.0.1/"$mqtt_port") 2>/dev/null && return 0
    sleep 0.05
  done
  fail "mosquitto does not listen"
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=0; }

# --- the gateway -------------------------------------------------------------
cat >"$work/gate.ini" <<EOF
[gateway]
name = soak
state_dir = $state
checkpoint_interval = 1s

[file]
path = $work/logs/in.log*
from = beginning

[mqtt]
uri = tcp://127.0.0.1:$mqtt_port
topics = plant/+/temperature
qos = 1
client_id = sensorgate-soak
clean_session = false

[reading]
key = sensor
value = padrao.leitura.temperatura
time = data_evento

[window]
size = 60
max_keys = 1000

[alert]
above = 75
clear_below = 73
min_samples = 10

[http]
listen = 127.0.0.1:$http_port
EOF
start_gate() {
  "$gate" --config "$work/gate.ini" >>"$work/gate.log" 2>&1 &
  gate_pid=$!
  for _ in $(seq 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$http_port/healthz" 2>/dev/null && return 0
    curl -s -o /dev/null "http://127.0.0.1:$http_port/healthz" 2>/dev/null && return 0  # 503 while the disk is full
    kill -0 "$gate_pid" 2>/dev/null || fail "the gateway exited at start"
    sleep 0.05
  done
  fail "the gateway does not answer"
}

# --- the data ---------------------------------------------------------------
file_batches=0
mqtt_batches=0
file_sim() {  # BATCH: the records of file batch BATCH
  "$sim" --seed $((seed * 1000 + $1)) --equipment 20 --hot 2 --count 4000 \
    --start-time "2024-01-0$((1 + $1 % 9))T00:00:00Z" --step 100ms -o - | sed 's/"sensor":"sensor/"sensor":"file-sensor/'
}
mqtt_sim_args() {  # BATCH
  echo --seed $((seed * 1000 + 500 + $1)) --equipment 15 --hot 1 --count 3000 \
    --start-time "2025-01-0$((1 + $1 % 9))T00:00:00Z" --step 100ms
}
# The file writer: 4000-line batches in chunks of ~250 lines, a rotation
# (in.log -> in.log.N, a new in.log) after every batch.
writer() {
  local b=0 gen=0
  while [[ ! -f $work/stop-writers ]]; do
    file_sim "$b" >"$work/batch.tmp"
    local lines=0
    while IFS= read -r line; do
      printf '%s\n' "$line" >>"$work/logs/in.log"
      lines=$((lines + 1))
      ((lines % 250)) || sleep 0.02
    done <"$work/batch.tmp"
    b=$((b + 1))
    echo "$b" >"$work/file-batches"
    gen=$((gen + 1))
    mv "$work/logs/in.log" "$work/logs/in.log.$gen"
  done
}
publisher() {
  local b=0
  while [[ ! -f $work/stop-writers ]]; do
    # shellcheck disable=SC2046
    "$sim" $(mqtt_sim_args "$b") --mqtt "tcp://127.0.0.1:$mqtt_port" --qos 1 --rate 3000 \
      --client-id soak-pub >>"$work/pub.log" 2>&1 || fail "the publisher failed (batch $b)"
    b=$((b + 1))
    echo "$b" >"$work/mqtt-batches"
    if ((RANDOM % 3 == 0)) && [[ ! -f $work/stop-writers ]]; then
      echo restart >"$work/broker-restart"  # the main loop restarts the broker (it owns the pid)
      while [[ -f $work/broker-restart ]]; do sleep 0.05; done
    fi
  done
}

# --- faults -----------------------------------------------------------------
declare -A done_faults=()
count() { done_faults[$1]=$((${done_faults[$1]:-0} + 1)); }
http_clients() {
  "$python" - "$http_port" <<'PY'
import socket, sys, random
port = int(sys.argv[1])
socks = []
for i in range(80):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if i % 2:
            s.sendall(b"GET /api/windows HTTP/1.1\r\nHost: x\r\n")  # never finished
        socks.append(s)
    except OSError:
        pass
random.shuffle(socks)
for s in socks:
    s.close()
PY
}
fill_state() {
  dd if=/dev/zero of="$state/filler" bs=1M 2>/dev/null || true  # until ENOSPC
  sleep $((3 + RANDOM % 6))
  rm -f "$state/filler"
  # MQTT messages received while the disk was full waited in memory (the
  # gateway had acknowledged them): they are safe once a checkpoint covers them again,
  # which /healthz shows. A SIGKILL before that loses them, by design (README,
  # "MQTT"): the next fault waits for it.
  for _ in $(seq 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$http_port/healthz" && return 0
    sleep 0.1
  done
  fail "/healthz did not recover after the disk was freed"
}

start_broker
start_gate
writer &
pids+=($!)
publisher &
pids+=($!)
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
  sleep "0.$((RANDOM % 10))" ; sleep $((1 + RANDOM % 3))
  if [[ -f $work/broker-restart ]]; then
    stop_broker; start_broker; rm -f "$work/broker-restart"; count broker_restart
  fi
  case $((RANDOM % 4)) in
    0) for _ in $(seq 30); do kill -HUP "$gate_pid"; done; count sighup_storm ;;
    1) sleep "0.$((RANDOM % 10))"; kill -KILL "$gate_pid"; wait "$gate_pid" 2>/dev/null || true
       start_gate; count sigkill ;;
    2) http_clients; count http_clients ;;
    3) if ((mounted)); then fill_state; count full_state_dir; fi ;;
  esac
  kill -0 "$gate_pid" 2>/dev/null || fail "the gateway died"
done

# --- the end: the writers finish, the gateway catches up ---------------------
touch "$work/stop-writers"
while kill -0 "${pids[1]}" 2>/dev/null; do  # the publisher may be waiting for a restart
  if [[ -f $work/broker-restart ]]; then stop_broker; start_broker; rm -f "$work/broker-restart"; count broker_restart; fi
  sleep 0.1
done
wait "${pids[0]}" "${pids[1]}" || fail "a writer failed"
pids=()
file_batches=$(cat "$work/file-batches" 2>/dev/null || echo 0)
mqtt_batches=$(cat "$work/mqtt-batches" 2>/dev/null || echo 0)
: >"$work/expected.jsonl"
for ((b = 0; b < file_batches; b++)); do file_sim "$b" >>"$work/expected.jsonl"; done
for ((b = 0; b < mqtt_batches; b++)); do
  # shellcheck disable=SC2046
  "$sim" $(mqtt_sim_args "$b") -o - >>"$work/expected.jsonl"
done
records=$(wc -l <"$work/expected.jsonl")
sed -e '/^\[file\]/,/^$/d' -e '/^\[mqtt\]/,/^$/d' -e '/^\[http\]/,$d' -e '/^state_dir/d' "$work/gate.ini" >"$work/replay.ini"
"$gate" --config "$work/replay.ini" --replay "$work/expected.jsonl" >"$work/replay.out" 2>"$work/replay.err" ||
  fail "replay failed: $(tail -3 "$work/replay.err")"

cat >"$work/compare.py" <<'PY'
import json, sys, time, urllib.request
port, replay, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
want = {}
for line in open(replay):
    o = json.loads(line)
    if o.get("event") == "window":
        o.pop("event")
        want[o["key"]] = o
deadline = time.monotonic() + timeout
while True:
    try:
        got = {w["key"]: w for w in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/windows", timeout=10))}
        for w in got.values():
            w.pop("event", None)
    except OSError:
        got = {}
    if got == want or time.monotonic() > deadline:
        break
    time.sleep(0.5)
diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
print(f"keys {len(want)}, differing {len(diff)}")
for k in diff[:5]:
    print(" want", want.get(k)); print(" got ", got.get(k))
sys.exit(1 if diff else 0)
PY
compare=0
"$python" "$work/compare.py" "$http_port" "$work/replay.out" 300 >"$work/compare.out" || compare=1
kill -TERM "$gate_pid"
status=0
wait "$gate_pid" || status=$?
gate_pid=0
reports=$(find "$work/asan" -type f | wc -l)

echo "soak: $seconds s, seed $seed: $records records ($file_batches file batches over $file_batches rotations, $mqtt_batches MQTT batches at QoS 1)"
for k in "${!done_faults[@]}"; do echo "soak:   $k ${done_faults[$k]}"; done | sort
echo "soak: /api/windows vs --replay: $(head -1 "$work/compare.out")"
echo "soak: final SIGTERM exit $status; sanitizer reports: $reports"
((compare == 0)) || { cat "$work/compare.out"; fail "/api/windows differs from --replay"; }
((status == 0)) || fail "the gateway exited $status at SIGTERM"
((reports == 0)) || { cat "$work"/asan/* | head -50; fail "sanitizer reports"; }
echo "soak: PASSED"
