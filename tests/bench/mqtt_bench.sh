#!/bin/bash
# MQTT benchmark: sensorgate-sim publishes N records at full speed, QoS 1, to
# a local mosquitto; the gateway (subscribed at QoS 1) and `mosquitto_sub -q 1
# | wc -l` (the broker's own ceiling) receive them in the same run. Prints
# each one's sustained rate (N / time from the first publish until the last
# record is read), the gateway's share of the ceiling, records lost (must be
# 0), redeliveries, the gateway's peak RSS and CPU seconds.
# On a small machine the publisher, the broker and both receivers share the
# cores: the "ceiling" is then that of the whole setup (mostly the publisher
# and the broker), which is what the gateway has to keep up with.
# Targets: at QoS 1, >= 90% of the ceiling with nothing lost; at QoS 0
# (BENCH_QOS=0), >= 95% of the ceiling with at most 1.0x the CPU of
# mosquitto_sub. Speed is reported (MET / NOT MET on the medians), not
# asserted; a loss or a failed step exits 1.
#
# Usage: tests/bench/mqtt_bench.sh [BUILD_DIR] [N]
#   BUILD_DIR holds gateway/sensorgate and simulator/sensorgate-sim [build]
#   N records published [200000]; BENCH_RUNS runs, each with a fresh broker
#   and gateway [3]; BENCH_TIMEOUT seconds to wait for the last record
#   [60 + N/2000]; BENCH_QOS 0 or 1 for the publisher, the gateway and
#   mosquitto_sub [1] (QoS 0 may lose records: none may be lost here either);
#   BENCH_THREADS=1 prints the gateway's CPU seconds per thread.
# Needs mosquitto, mosquitto-clients, python3 (the /metrics poller) and time.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-200000}
runs=${BENCH_RUNS:-3}
qos=${BENCH_QOS:-1}
timeout=${BENCH_TIMEOUT:-$((60 + n / 2000))}
keys=50
gate=$build/gateway/sensorgate
sim=$build/simulator/sensorgate-sim
broker=/usr/sbin/mosquitto
python=/usr/bin/python3  # Debian's, whatever python3 comes first on the PATH
for tool in "$gate" "$sim" "$broker" mosquitto_sub "$python" /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "mqtt_bench: $tool is missing (apt-get install mosquitto mosquitto-clients python3 time)" >&2; exit 1; }
done
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "mqtt_bench: N must be a positive integer" >&2; exit 64; }
[[ $qos == 0 || $qos == 1 ]] || { echo "mqtt_bench: BENCH_QOS must be 0 or 1" >&2; exit 64; }

work=$(mktemp -d /tmp/sensorgate-mqttbench.XXXXXX)
chmod 0755 "$work"  # mosquitto drops to user mosquitto
pids=()             # everything started here, stopped (by pid) on exit
timed=()            # PID:NAME of the publisher and mosquitto_sub under /usr/bin/time
cleanup() {
  local i p
  trap '' INT TERM  # timeout(1) signals the script and then its process group: finish cleaning up
  # Killed by pid, if it still is that program: a publisher stopped by a
  # signal would wait up to 60 s for acknowledgements from a broker that is
  # gone, and a SIGTERM to the process group ends /usr/bin/time and orphans it.
  for p in "${timed[@]}"; do
    if [[ $(cat "/proc/${p%%:*}/comm" 2>/dev/null) == "${p#*:}" ]]; then kill -KILL "${p%%:*}" 2>/dev/null || true; fi
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do  # the publisher first, the broker last
    p=${pids[i]}
    if ours "$p"; then kill "$p" 2>/dev/null || true; fi  # unless reaped already (its pid may be someone else's by now)
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
# ours PID: PID is a child of this shell, not yet reaped.
ours() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s#* } == "$$ "* ]]; }
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "mqtt_bench: $*" >&2; exit 1; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }  # no fork
cpu_ticks() { local f; read -r -a f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
ticks=$(getconf CLK_TCK)
# await SECONDS CMD...: polls CMD every 20 ms until it succeeds; 1 on timeout.
await() {
  local end=$(($(now_us) + $1 * 1000000)); shift
  until "$@"; do (($(now_us) < end)) || return 1; sleep 0.02; done
}
alive() { kill -0 "$1" 2>/dev/null; }
# note_timed PID NAME: records the NAME process that /usr/bin/time PID runs
# (unless it is over already).
note_timed() {
  # shellcheck disable=SC2034  # parent is used in the eval
  local c="" parent=$1 name=$2
  await 5 eval 'c=$(pgrep -P "$parent" -x "$name") || ! alive "$parent"' || true
  [[ -z $c ]] || timed+=("$c:$name")
}

# The /metrics poller: one process with one kept-alive connection (a curl
# every 20 ms costs ~20 ms of CPU each, a whole core of this benchmark).
# It reports the wall clock (microseconds) at which records_read reached N,
# the gateway's CPU ticks then, and the last metrics seen.
cat >"$work/poll.py" <<'PY'
import http.client, sys, time
port, n, timeout, pid, out, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
names = ("sensorgate_records_read_total", "sensorgate_records_accepted_total",
         "sensorgate_mqtt_messages_total", "sensorgate_mqtt_redelivered_total",
         "sensorgate_mqtt_journal_backlog_bytes", "sensorgate_mqtt_journal_lost_total",
         "sensorgate_mqtt_journal_write_errors_total", "sensorgate_mqtt_connection_losses_total")
conn = None
def metrics():
    global conn
    for _ in range(3):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/metrics")
            body = conn.getresponse().read().decode()
            m = {}
            for line in body.splitlines():
                k, _, v = line.partition(" ")
                if k in names:
                    m[k] = int(float(v))
            return m
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.02)
    raise SystemExit("poll: /metrics does not answer")
def cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
m = metrics()
open(ready, "w").write("1\n")
deadline = time.monotonic() + timeout
done = 0
while True:
    m = metrics()
    t, c = time.time_ns() // 1000, cpu()
    if m.get("sensorgate_records_read_total", 0) >= n:
        done = t
        break
    if time.monotonic() > deadline:
        break
    time.sleep(0.02)
if done:
    time.sleep(0.2)  # late duplicates, if any, and the final counters
    m = metrics()
with open(out, "w") as f:
    f.write(f"done_us={done}\ncpu_ticks={c}\n")
    for k in names:
        f.write(f"{k.replace('sensorgate_', '')}={m.get(k, 0)}\n")
PY

# free_port: a port nobody listens on now (mosquitto's bind may still lose a race: retried).
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run_once I: one measurement with a fresh broker and gateway; appends a
# record to $work/results.
run_once() {
  local i=$1 dir=$work/run$1 port="" bpid="" gpid="" subpid="" wcpid="" ppid="" hport
  mkdir -m 0755 "$dir"
  # --- broker -----------------------------------------------------------------------
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$(free_port)
    cat >"$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
log_type unsubscribe
CONF
    # (log_type all would log every PUBLISH: 3 lines a message, a load on the broker)
    "$broker" -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
    bpid=$!; pids+=("$bpid")
    await 10 eval 'grep -q -e " running$" -e "Error" "$dir/mosquitto.log" || ! alive $bpid' || true
    if alive "$bpid" && grep -q " running$" "$dir/mosquitto.log"; then break; fi
    kill "$bpid" 2>/dev/null || true; wait "$bpid" 2>/dev/null || true; bpid=""
    grep -q "Address already in use" "$dir/mosquitto.log" || { cat "$dir/mosquitto.log" >&2; fail "mosquitto did not start"; }
  done
  [[ -n $bpid ]] || fail "no free port for mosquitto after 10 tries"
  await 5 eval "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" || fail "mosquitto does not accept connections on port $port"

  # --- gateway ----------------------------------------------------------------------
  cat >"$dir/gw.ini" <<INI
[gateway]
name = bench
state_dir = $dir/state
checkpoint_interval = 10s
[mqtt]
uri = tcp://127.0.0.1:$port
topics = plant/+/temperature
qos = $qos
client_id = bench-gateway
[http]
listen = 127.0.0.1:0
INI
  "$gate" --config "$dir/gw.ini" 2>"$dir/gw.log" &
  gpid=$!; pids+=("$gpid")
  await 10 eval 'grep -q "(port [0-9]*)" "$dir/gw.log" || ! alive $gpid' || true
  hport=$(sed -n 's/.*http: listening on .*(port \([0-9]*\)).*/\1/p' "$dir/gw.log" | head -n 1)
  if [[ -z $hport ]] || ! alive "$gpid"; then cat "$dir/gw.log" >&2; fail "the gateway did not start"; fi

  # --- mosquitto_sub | wc -l: the ceiling -------------------------------------------
  mkfifo "$dir/sub.fifo"
  ( wc -l <"$dir/sub.fifo" >"$dir/sub.count"; echo "${EPOCHREALTIME/./}" >"$dir/sub.done" ) &
  wcpid=$!; pids+=("$wcpid")
  /usr/bin/time -f '%M %U %S' -o "$dir/sub.time" mosquitto_sub -h 127.0.0.1 -p "$port" -q "$qos" -t 'plant/+/temperature' \
    -i bench-sub -C "$n" -W "$timeout" >"$dir/sub.fifo" 2>"$dir/sub.err" &
  subpid=$!; pids+=("$subpid")
  note_timed "$subpid" mosquitto_sub

  # --- both subscribed? ---------------------------------------------------------------
  await 15 eval 'grep -q "mqtt: subscribed" "$dir/gw.log" || ! alive $gpid' || true
  grep -q "mqtt: subscribed" "$dir/gw.log" || { cat "$dir/gw.log" >&2; fail "the gateway did not subscribe"; }
  await 15 eval 'grep -q "bench-sub $qos plant/+/temperature" "$dir/mosquitto.log" || ! alive $subpid' || true
  grep -q "bench-sub $qos plant/+/temperature" "$dir/mosquitto.log" || { cat "$dir/sub.err" >&2; fail "mosquitto_sub did not subscribe"; }
  grep -q "bench-gateway $qos plant/+/temperature" "$dir/mosquitto.log" || fail "the broker has no subscription from the gateway"

  "$python" "$work/poll.py" "$hport" "$n" "$timeout" "$gpid" "$dir/poll.out" "$dir/poll.ready" 2>"$dir/poll.err" &
  ppid=$!; pids+=("$ppid")
  await 15 eval '[[ -s $dir/poll.ready ]] || ! alive $ppid' || true
  [[ -s $dir/poll.ready ]] || { cat "$dir/poll.err" >&2; fail "the /metrics poller did not start"; }

  # --- publish ------------------------------------------------------------------------
  local c0 bc0 t0 t1 rc=0
  c0=$(cpu_ticks "$gpid"); bc0=$(cpu_ticks "$bpid")
  t0=$(now_us)
  /usr/bin/time -f '%M %U %S' -o "$dir/sim.time" "$sim" --equipment "$keys" --count "$n" --seed 1 --start-time 2023-03-15T12:00:00Z \
    --mqtt "tcp://127.0.0.1:$port" --topic 'plant/{key}/temperature' --qos "$qos" --client-id bench-pub \
    >/dev/null 2>"$dir/sim.err" &
  local simpid=$!; pids+=("$simpid")
  note_timed "$simpid" sensorgate-sim
  wait "$simpid" || rc=$?  # (in the background: a trapped SIGINT/SIGTERM interrupts wait)
  t1=$(now_us)
  ((rc == 0)) || { cat "$dir/sim.err" >&2; fail "sensorgate-sim exited $rc"; }

  # --- wait for both receivers --------------------------------------------------------
  wait "$subpid" || true
  wait "$wcpid" || true
  wait "$ppid" || { cat "$dir/poll.err" >&2; fail "the /metrics poller failed"; }
  local bc1 sub_count sub_done hwm threads=-
  bc1=$(cpu_ticks "$bpid")
  sub_count=$(tr -d ' ' <"$dir/sub.count"); sub_done=$(cat "$dir/sub.done")
  local sub_time sim_time
  sub_time=$(tail -n 1 "$dir/sub.time"); sim_time=$(tail -n 1 "$dir/sim.time")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$gpid/status")
  if [[ ${BENCH_THREADS:-0} == 1 ]]; then
    threads=$(for t in /proc/"$gpid"/task/*; do
      s=$(cat "$t/stat"); s=${s##*) }; read -r -a f <<<"$s"
      printf '%s=%s,' "$(tr ' ' _ <"$t/comm")" $((f[11] + f[12]))
    done)
  fi
  local done_us cpu_ticks records_read_total records_accepted_total mqtt_messages_total mqtt_redelivered_total \
    mqtt_journal_backlog_bytes mqtt_journal_lost_total mqtt_journal_write_errors_total mqtt_connection_losses_total
  # shellcheck disable=SC1091
  source "$dir/poll.out"

  # --- stop ---------------------------------------------------------------------------
  kill -TERM "$gpid"; rc=0; wait "$gpid" || rc=$?
  ((rc == 0)) || { tail -n 20 "$dir/gw.log" >&2; fail "the gateway exited $rc on SIGTERM"; }
  kill -TERM "$bpid"; wait "$bpid" || true

  echo "$i $n $t0 $t1 $sub_done ${sub_count:-0} $done_us $records_read_total $records_accepted_total" \
    "$mqtt_messages_total $mqtt_redelivered_total $mqtt_journal_backlog_bytes $mqtt_journal_lost_total" \
    "$mqtt_journal_write_errors_total $mqtt_connection_losses_total $hwm $((cpu_ticks - c0)) $((bc1 - bc0)) $ticks" \
    "$sub_time $sim_time ${threads%,}" \
    >>"$work/results"
  pids=() timed=()  # all waited for
  rm -rf "$dir"
}

echo "mqtt bench: N=$n records, QoS $qos, $keys keys, publisher sensorgate-sim, $runs run(s), $(nproc) cores, $(uname -m)"
for ((r = 1; r <= runs; r++)); do run_once "$r"; done

awk -v qos="$qos" -v timeout="$timeout" '
  function group(x,   s, r) { s = sprintf("%.0f", x); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    return s r }
  function median(a, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  {
    run = $1; n = $2; t0 = $3; tpub = $4; tsub = $5; subn = $6; tgw = $7
    rd = $8; acc = $9; msgs = $10; redel = $11; backlog = $12; jlost = $13; werr = $14; losses = $15
    hwm = $16; cpu = $17 / $19; bcpu = $18 / $19; subrss = $20; subcpu = $21 + $22; simrss = $23; simcpu = $24 + $25
    pub_s = (tpub - t0) / 1e6
    sub_s = (tsub - t0) / 1e6; sub_rate = subn == n && sub_s > 0 ? n / sub_s : 0
    gw_s = tgw > 0 ? (tgw - t0) / 1e6 : 0; gw_rate = tgw > 0 && gw_s > 0 ? n / gw_s : 0
    lost = n - rd; if (lost < 0) lost = 0
    ratio = sub_rate > 0 ? gw_rate / sub_rate : 0
    printf "run %d:\n", run
    printf "  publisher (sim)       : %d records in %.2f s = %s msg/s (until all acknowledged); peak RSS %.1f MiB; CPU %.2f s\n", \
      n, pub_s, group(pub_s > 0 ? n / pub_s : 0), simrss / 1024, simcpu
    if (subn == n) printf "  mosquitto_sub | wc -l : %d messages in %.2f s = %s msg/s (broker ceiling); peak RSS %.1f MiB; CPU %.2f s\n", subn, sub_s, group(sub_rate), subrss / 1024, subcpu
    else { printf "  mosquitto_sub | wc -l : only %d of %d messages within %d s (BENCH_TIMEOUT)\n", subn, n, timeout; bad = 1 }
    if (tgw > 0) printf "  sensorgate            : %d readings in %.2f s = %s readings/s = %.1f%% of ceiling", rd, gw_s, group(gw_rate), 100 * ratio
    else printf "  sensorgate            : only %d of %d readings within %d s (BENCH_TIMEOUT)", rd, n, timeout
    printf "; lost %d; redelivered %d; accepted %d; peak RSS %.1f MiB; CPU %.2f s (%s readings/CPU s); broker CPU %.2f s\n", \
      lost, redel, acc, hwm / 1024, cpu, group(cpu > 0 ? n / cpu : 0), bcpu
    if ($26 != "-") { printf "  sensorgate CPU s per thread, whole life:"; nt = split($26, th, ","); for (j = 1; j <= nt; j++) { split(th[j], kv, "="); printf " %s %.2f", kv[1], kv[2] / $19 } printf "\n" }
    if (jlost || werr || losses || backlog) printf "  (journal lost %d, write errors %d, connection losses %d, backlog %d bytes)\n", jlost, werr, losses, backlog
    if (redel > 0 && rd - redel < n) printf "  (redelivered copies are counted as read: up to %d of the %d readings may be duplicates standing in for lost ones)\n", redel, rd
    if (lost > 0 || jlost > 0 || werr > 0) bad = 1
    ratios[++k] = ratio; if (ratio > best) best = ratio
    subr[k] = sub_rate; gwr[k] = gw_rate
    cpur[k] = subcpu > 0 ? cpu / subcpu : 0
    if (subcpu > 0) printf "  CPU: sensorgate %.2f s / mosquitto_sub %.2f s = %.2fx\n", cpu, subcpu, cpur[k]
  }
  END {
    med = median(ratios, k)
    printf "summary over %d run(s): sensorgate %s readings/s vs ceiling %s msg/s (medians); share of ceiling: median %.1f%%, best %.1f%%\n", \
      k, group(median(gwr, k)), group(median(subr, k)), 100 * med, 100 * best
    cmed = median(cpur, k)
    printf "  CPU against mosquitto_sub (the ceiling'"'"'s receiver): median %.2fx\n", cmed
    if (qos == 1) printf "  target >= 90%% of ceiling, nothing lost: %s\n", (med >= 0.9 && !bad) ? "MET" : "NOT MET"
    else printf "  QoS 0 target >= 95%% of ceiling with at most 1.0x its CPU, nothing lost: %s (QoS 0 may lose records; none were)\n", \
      (med >= 0.95 && cmed <= 1.0 && !bad) ? "MET" : "NOT MET"
    exit bad
  }' "$work/results" || { echo "mqtt_bench: records were lost or a receiver fell short" >&2; exit 1; }
