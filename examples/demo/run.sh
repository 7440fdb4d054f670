#!/usr/bin/env bash
# examples/demo/run.sh: the whole system, live, on this machine.
#
#   sensorgate-sim --(MQTT)--> mosquitto --> sensorgate --(SMTP)--> maildev (web UI)
#                                                  |------(Kafka)--> librdkafka's mock cluster
#                                                  `------(HTTP)---> dashboard, /metrics
#
# Run as root from anywhere in the repository (it works from its own path):
#   examples/demo/run.sh                      install what is missing, build if needed, run until Ctrl-C
#   examples/demo/run.sh --no-install         install nothing, build nothing: fail if something is missing
#   examples/demo/run.sh --for 90s            stop by itself after 90 s (also SENSORGATE_DEMO_FOR=90s)
#   examples/demo/run.sh --print-json FILE    write ports, URLs, pids and the temp folder to FILE once up
#   examples/demo/run.sh --build DIR          binaries of this build folder [REPO/build] (also SENSORGATE_BUILD)
#   examples/demo/run.sh --seed S             simulator seed [14: sensor01, sensor04 and sensor11 run hot]
#
# Everything listens on 127.0.0.1 on free ports and lives in one temp folder,
# removed at the end. Each piece runs in a session of its own, so Ctrl-C
# reaches this script only, which then stops every piece in order (the
# simulator, the gateway with SIGTERM, flushing its outbox and spool, then
# mosquitto, maildev and the mock cluster) and exits 0; if any piece dies, the
# demo says which, stops the rest and exits 1.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEMO_DIR="$ROOT/examples/demo"
BUILD=${SENSORGATE_BUILD:-$ROOT/build}
INSTALL=1
RUN_FOR=${SENSORGATE_DEMO_FOR:-}
JSON_OUT=""
SEED=14
EQUIPMENT=12
HOT=3
RATE=200

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "demo: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) INSTALL=0 ;;
    --for) [ $# -ge 2 ] || die "--for needs a duration (90s, 5m)"; RUN_FOR=$2; shift ;;
    --for=*) RUN_FOR=${1#--for=} ;;
    --print-json) [ $# -ge 2 ] || die "--print-json needs a file"; JSON_OUT=$2; shift ;;
    --print-json=*) JSON_OUT=${1#--print-json=} ;;
    --build) [ $# -ge 2 ] || die "--build needs a folder"; BUILD=$2; shift ;;
    --build=*) BUILD=${1#--build=} ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a number"; SEED=$2; shift ;;
    --seed=*) SEED=${1#--seed=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
case "$JSON_OUT" in ""|/*) ;; *) JSON_OUT="$PWD/$JSON_OUT" ;; esac

# --for: 90, 90s, 5m, 1h -> seconds.
RUN_SECONDS=0
if [ -n "$RUN_FOR" ]; then
  case "$RUN_FOR" in
    *[0-9]s) RUN_SECONDS=${RUN_FOR%s} ;;
    *[0-9]m) RUN_SECONDS=$(( ${RUN_FOR%m} * 60 )) ;;
    *[0-9]h) RUN_SECONDS=$(( ${RUN_FOR%h} * 3600 )) ;;
    *) RUN_SECONDS=$RUN_FOR ;;
  esac
  case "$RUN_SECONDS" in ''|*[!0-9]*|0) die "--for $RUN_FOR: expected a duration such as 90s, 5m or 1h" ;; esac
fi

GATEWAY="$BUILD/gateway/sensorgate"
SIM="$BUILD/simulator/sensorgate-sim"
MOCK="$BUILD/tests/kafka_mock_cluster"
MAILDEV="$DEMO_DIR/node_modules/.bin/maildev"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# ---------------------------------------------------------------------------
# 1. Install and build.

have() { command -v "$1" >/dev/null 2>&1; }

if [ "$INSTALL" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "installing needs root (or run with --no-install once everything is there)"
  if [ ! -x "$GATEWAY" ] || [ ! -x "$SIM" ] || [ ! -x "$MOCK" ]; then
    if ! have cmake || ! have g++ || ! pkg-config --exists rdkafka libcurl paho-mqtt3as 2>/dev/null; then
      echo "demo: installing the build dependencies (sh .ci/install-deps)"
      sh "$ROOT/.ci/install-deps" || die "sh .ci/install-deps failed"
    fi
  fi
  missing=()
  have mosquitto || missing+=(mosquitto)
  have kcat || missing+=(kcat)
  have python3 || missing+=(python3)
  have node || missing+=(nodejs)
  have npm || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "demo: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
  if [ ! -x "$MAILDEV" ]; then
    echo "demo: npm ci --prefix examples/demo (maildev, pinned in examples/demo/package-lock.json)"
    npm ci --prefix "$DEMO_DIR" --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci --prefix examples/demo failed"
  fi
  if [ ! -x "$GATEWAY" ] || [ ! -x "$SIM" ] || [ ! -x "$MOCK" ]; then
    echo "demo: building into $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DSENSORGATE_WITH_KAFKA=ON -DSENSORGATE_WITH_SMTP=ON \
      -DSENSORGATE_WITH_MQTT=ON -DSENSORGATE_WITH_HTTP=ON -DSENSORGATE_BUILD_TESTS=ON >/dev/null &&
      cmake --build "$BUILD" -j2 --target sensorgate sensorgate-sim kafka_mock_cluster ||
      die "the build failed"
  fi
fi

problems=()
[ -x "$GATEWAY" ] || problems+=("$GATEWAY (build it: cmake -S . -B build && cmake --build build -j2)")
[ -x "$SIM" ] || problems+=("$SIM (build it)")
[ -x "$MOCK" ] || problems+=("$MOCK (a build with SENSORGATE_WITH_KAFKA and SENSORGATE_BUILD_TESTS)")
have mosquitto || problems+=("mosquitto (apt-get install mosquitto)")
have python3 || problems+=("python3 (apt-get install python3)")
have node || problems+=("node (apt-get install nodejs)")
[ -x "$MAILDEV" ] || problems+=("$MAILDEV (npm ci --prefix examples/demo)")
if [ ${#problems[@]} -gt 0 ]; then
  echo "demo: missing:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
have kcat || echo "demo: note: kcat is not installed (apt-get install kcat); you need it to read the Kafka topics" >&2

# ---------------------------------------------------------------------------
# 2. Start everything.

TMP=$(mktemp -d /tmp/sensorgate-demo.XXXXXX) || die "mktemp failed"
chmod 755 "$TMP"   # mosquitto, started as root, reads its files as user mosquitto
declare -A PID=()
ORDER=(sim gateway mosquitto maildev kafka)
STOPPING=0
EXIT_CODE=0
SLEEP_PID=""

alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

# Waits up to $2 s for piece $1 to end; true when it ended.
wait_gone() {
  local name=$1 deadline=$((SECONDS + $2))
  while alive "$name"; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.1
  done
  return 0
}

# Stops piece $1: signal $2 (or "quit" for the mock cluster), wait $3 s, then SIGKILL.
stop_piece() {
  local name=$1 how=$2 grace=$3 code
  [ -n "${PID[$name]:-}" ] || return 0
  if alive "$name"; then
    if [ "$how" = quit ]; then
      { echo quit >&7; } 2>/dev/null
      exec 7>&- 2>/dev/null
    else
      kill "-$how" "${PID[$name]}" 2>/dev/null
    fi
    if ! wait_gone "$name" "$grace"; then
      echo "demo: $name did not stop within ${grace}s: killing it" >&2
      kill -KILL "${PID[$name]}" 2>/dev/null
    fi
  fi
  wait "${PID[$name]}" 2>/dev/null
  code=$?
  if [ "$name" = gateway ] && [ "$code" != 0 ]; then
    echo "demo: the gateway exited with status $code (log: see above)" >&2
    EXIT_CODE=1
  fi
  PID[$name]=""
}

cleanup() {
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  trap '' INT TERM
  [ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
  echo "demo: stopping..."
  stop_piece sim TERM 15
  stop_piece gateway TERM 30
  stop_piece mosquitto TERM 10
  stop_piece maildev TERM 10
  stop_piece kafka quit 10
  exec 7>&- 2>/dev/null
  if [ "$EXIT_CODE" != 0 ] || [ -n "${DEMO_KEEP_LOGS:-}" ]; then
    for f in gateway sim mosquitto maildev kafka; do
      [ -s "$TMP/$f.log" ] || continue
      echo "---- last lines of $f.log ----" >&2
      tail -n 15 "$TMP/$f.log" >&2
    done
  fi
  rm -rf "$TMP"
  [ -n "$JSON_OUT" ] && rm -f "$JSON_OUT.tmp"
  echo "demo: stopped$([ "$EXIT_CODE" = 0 ] && echo ", all clean" || echo " (with errors)")."
}
on_signal() { echo; echo "demo: got $1"; cleanup; exit "$EXIT_CODE"; }
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'cleanup' EXIT
fail() { echo "demo: $*" >&2; EXIT_CODE=1; cleanup; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# GET http://127.0.0.1:$1$2 (HTTP/1.0, body and headers) with bash only.
http_get() {
  local out
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  out=$(timeout 5 cat <&3)
  exec 3<&-
  printf '%s' "$out"
}
# Waits up to $3 s until port $2 of piece $1 accepts connections.
wait_listening() {
  local name=$1 port=$2 deadline=$((SECONDS + $3))
  until listening "$port"; do
    alive "$name" || return 1
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

T0=$SECONDS
echo "demo: temp folder $TMP"

# mosquitto (a port taken meanwhile makes it exit: try another).
for attempt in 1 2 3 4 5; do
  MQTT_PORT=$(free_port)
  cat >"$TMP/mosquitto.conf" <<EOF
# Written by demo/run.sh
per_listener_settings false
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
max_queued_messages 0
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
EOF
  chmod 644 "$TMP/mosquitto.conf"
  setsid mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
  PID[mosquitto]=$!
  wait_listening mosquitto "$MQTT_PORT" 10 && break
  kill "${PID[mosquitto]}" 2>/dev/null; wait "${PID[mosquitto]}" 2>/dev/null; PID[mosquitto]=""
done
[ -n "${PID[mosquitto]}" ] || fail "mosquitto did not start: $(tail -n 3 "$TMP/mosquitto.log")"

# maildev: SMTP and web UI (REST API: GET /email), both on 127.0.0.1.
mkdir -p "$TMP/mail"
for attempt in 1 2 3 4 5; do
  SMTP_PORT=$(free_port)
  WEB_PORT=$(free_port)
  [ "$SMTP_PORT" = "$WEB_PORT" ] && continue
  setsid node "$DEMO_DIR/node_modules/maildev/bin/maildev" --ip 127.0.0.1 --web-ip 127.0.0.1 \
    -s "$SMTP_PORT" -w "$WEB_PORT" --mail-directory "$TMP/mail" >>"$TMP/maildev.log" 2>&1 &
  PID[maildev]=$!
  wait_listening maildev "$SMTP_PORT" 30 && wait_listening maildev "$WEB_PORT" 30 && break
  kill "${PID[maildev]}" 2>/dev/null; wait "${PID[maildev]}" 2>/dev/null; PID[maildev]=""
done
[ -n "${PID[maildev]}" ] || fail "maildev did not start: $(tail -n 3 "$TMP/maildev.log")"

# librdkafka's mock cluster: 3 brokers on free ports of its choosing; it
# prints the bootstrap servers, then reads commands ("quit") on standard input.
mkfifo "$TMP/kafka.in"
setsid "$MOCK" sensor-aggregates sensor-alerts <"$TMP/kafka.in" >"$TMP/kafka.out" 2>"$TMP/kafka.log" &
PID[kafka]=$!
exec 7>"$TMP/kafka.in"
BOOTSTRAP=""
deadline=$((SECONDS + 15))
while [ -z "$BOOTSTRAP" ]; do
  BOOTSTRAP=$(head -n 1 "$TMP/kafka.out" 2>/dev/null)
  [ -n "$BOOTSTRAP" ] && break
  alive kafka || fail "the Kafka mock cluster died: $(cat "$TMP/kafka.log")"
  [ $SECONDS -ge $deadline ] && fail "the Kafka mock cluster printed no bootstrap servers"
  sleep 0.1
done

# The hot equipment of this seed: the simulator plans its episodes from the
# seed alone, so a run cut short at once writes the same keys in its truth file.
"$SIM" --equipment "$EQUIPMENT" --hot "$HOT" --seed "$SEED" --truth "$TMP/plan.jsonl" -o - 2>/dev/null | head -c 1 >/dev/null
HOT_KEYS=$(python3 -c 'import json,sys; print(",".join(json.loads(l)["key"] for l in open(sys.argv[1]) if l.strip()))' "$TMP/plan.jsonl" 2>/dev/null)
[ -n "$HOT_KEYS" ] || fail "cannot read the simulator's plan for seed $SEED"
HOT_JSON=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1].split(",")))' "$HOT_KEYS")

# The gateway.
mkdir -p "$TMP/state"
start_gateway() {
  HTTP_PORT=$(free_port)
  cat >"$TMP/demo.ini" <<EOF
; Written by demo/run.sh: sensorgate-sim's readings over MQTT; alerts mailed
; to maildev and sent to Kafka with every equipment's window.
[gateway]
name = demo
state_dir = $TMP/state
checkpoint_interval = 5s

[mqtt]
uri = tcp://127.0.0.1:$MQTT_PORT
topics = plant/+/temperature
qos = 1
client_id = sensorgate-demo

; sensorgate-sim writes the plant's record format, [reading]'s default:
; key "sensor", value padrao.leitura.temperatura, time data_evento.
[reading]
key = sensor
value = padrao.leitura.temperatura
time = data_evento

[window]
size = 60

[alert]
above = 75
clear_below = 73
for = 2s
min_samples = 10

[email]
url = smtp://127.0.0.1:$SMTP_PORT
starttls = off
from = sensorgate@demo.example
to = ops@demo.example
group_wait = 2s
group_interval = 10s
repeat = 1h
send_resolved = true
max_per_hour = 100
timeout = 10s

[kafka]
brokers = $BOOTSTRAP
topic = sensor-aggregates
alerts_topic = sensor-alerts
interval = 2s

[http]
listen = 127.0.0.1:$HTTP_PORT
EOF
  setsid "$GATEWAY" --config "$TMP/demo.ini" >>"$TMP/gateway.log" 2>&1 &
  PID[gateway]=$!
}
for attempt in 1 2 3 4 5; do
  start_gateway
  wait_listening gateway "$HTTP_PORT" 20 && break
  kill "${PID[gateway]}" 2>/dev/null; wait "${PID[gateway]}" 2>/dev/null; PID[gateway]=""
done
[ -n "${PID[gateway]}" ] || fail "the gateway did not start: $(tail -n 5 "$TMP/gateway.log")"
# Publish only once the gateway is subscribed (readings before are not seen).
deadline=$((SECONDS + 20))
until http_get "$HTTP_PORT" /metrics 2>/dev/null | grep -q '^sensorgate_mqtt_connected 1'; do
  alive gateway || fail "the gateway died: $(tail -n 5 "$TMP/gateway.log")"
  [ $SECONDS -ge $deadline ] && fail "the gateway did not connect to mosquitto: $(tail -n 5 "$TMP/gateway.log")"
  sleep 0.1
done

# The simulator: wall-clock readings over MQTT, until stopped.
setsid "$SIM" --equipment "$EQUIPMENT" --hot "$HOT" --seed "$SEED" --rate "$RATE" \
  --mqtt "tcp://127.0.0.1:$MQTT_PORT" --topic 'plant/{key}/temperature' --qos 1 \
  --client-id sensorgate-demo-sim --truth "$TMP/truth.jsonl" >>"$TMP/sim.log" 2>&1 &
PID[sim]=$!

# ---------------------------------------------------------------------------
# 3. Where to look.

if [ -n "$JSON_OUT" ]; then
  cat >"$JSON_OUT.tmp" <<EOF
{"tmp_dir":"$TMP",
 "dashboard_url":"http://127.0.0.1:$HTTP_PORT/",
 "metrics_url":"http://127.0.0.1:$HTTP_PORT/metrics",
 "http_port":$HTTP_PORT,
 "mailbox_url":"http://127.0.0.1:$WEB_PORT/",
 "maildev_web_port":$WEB_PORT,
 "maildev_smtp_port":$SMTP_PORT,
 "mqtt_uri":"tcp://127.0.0.1:$MQTT_PORT",
 "mqtt_port":$MQTT_PORT,
 "kafka_bootstrap":"$BOOTSTRAP",
 "kafka_aggregates_topic":"sensor-aggregates",
 "kafka_alerts_topic":"sensor-alerts",
 "hot_equipment":$HOT_JSON,
 "config":"$TMP/demo.ini",
 "pids":{"demo":$$,"sim":${PID[sim]},"gateway":${PID[gateway]},"mosquitto":${PID[mosquitto]},"maildev":${PID[maildev]},"kafka_mock_cluster":${PID[kafka]}}}
EOF
  mv "$JSON_OUT.tmp" "$JSON_OUT"
fi

cat <<EOF

sensorgate demo up in $((SECONDS - T0)) s: $EQUIPMENT equipment at $RATE readings/s over MQTT; ${HOT_KEYS//,/, } will run hot.

  Dashboard   http://127.0.0.1:$HTTP_PORT/          (windows and alerts firing, every 2 s)
  Mailbox     http://127.0.0.1:$WEB_PORT/          (maildev: the alert mails, firing then resolved)
  Metrics     http://127.0.0.1:$HTTP_PORT/metrics
  Kafka       kcat -b $BOOTSTRAP -C -t sensor-aggregates -o beginning
              kcat -b $BOOTSTRAP -C -t sensor-alerts -o beginning
  MQTT        mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -t 'plant/#' -C 5
  Config      $TMP/demo.ini   (logs next to it)

The first alert mail arrives within about 30 s. $([ "$RUN_SECONDS" -gt 0 ] && echo "Stops by itself after ${RUN_SECONDS} s; " )Ctrl-C stops everything.
EOF

# ---------------------------------------------------------------------------
# 4. Watch the pieces until told to stop (or --for has passed).

END=$((SECONDS + RUN_SECONDS))
while :; do
  for name in "${ORDER[@]}"; do
    if ! alive "$name"; then
      wait "${PID[$name]}" 2>/dev/null
      code=$?
      PID[$name]=""
      fail "$name died (exit status $code); stopping the rest"
    fi
  done
  if [ "$RUN_SECONDS" -gt 0 ] && [ $SECONDS -ge $END ]; then
    echo "demo: ${RUN_SECONDS} s passed"
    break
  fi
  sleep 0.5 &
  SLEEP_PID=$!
  wait "$SLEEP_PID" 2>/dev/null
  SLEEP_PID=""
done
cleanup
exit "$EXIT_CODE"
