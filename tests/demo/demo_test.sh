#!/usr/bin/env bash
# The README's first command, examples/demo/run.sh, end to end: run from the source
# tree against an existing build (--no-install), it must deliver an alert mail
# naming a hot equipment as FIRING (read from maildev's REST API) and
# aggregates on the Kafka topic sensor-aggregates (read with kcat), both within
# 60 s of its start; then SIGINT must stop it with status 0, leaving none of
# its processes and no temp folder.
#
#   tests/demo/demo_test.sh SOURCE_DIR BUILD_DIR
#
# Exit 0 pass, 1 fail, 77 skipped (a prerequisite is missing).
set -u -o pipefail

SRC=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${2:-$SRC/build}
LIMIT=${DEMO_TEST_LIMIT:-60}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

skip() { echo "SKIP: $*"; exit 77; }
[ -x "$SRC/examples/demo/node_modules/.bin/maildev" ] ||
  skip "maildev is not installed: npm ci --prefix examples/demo (needs nodejs and npm; see .ci/install-deps)"
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs)"
command -v mosquitto >/dev/null || skip "mosquitto is not installed (apt-get install mosquitto)"
command -v kcat >/dev/null || skip "kcat is not installed (apt-get install kcat)"
command -v python3 >/dev/null || skip "python3 is not installed"
[ -x "$BUILD/tests/kafka_mock_cluster" ] ||
  skip "$BUILD/tests/kafka_mock_cluster is missing (a build with SENSORGATE_WITH_KAFKA and tests)"
for b in gateway/sensorgate simulator/sensorgate-sim; do
  [ -x "$BUILD/$b" ] || skip "$BUILD/$b is missing"
done

WORK=$(mktemp -d /tmp/sensorgate-demo-test.XXXXXX)
JSON="$WORK/demo.json"
OUT="$WORK/demo.out"
DEMO=""
RESULT=1

now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(" ".join(v) if isinstance(v, list) else v)' "$JSON" "$1"; }

finish() {
  if [ -n "$DEMO" ] && kill -0 "$DEMO" 2>/dev/null; then
    kill -INT "$DEMO" 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$DEMO" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DEMO" 2>/dev/null
  fi
  if [ "$RESULT" != 0 ]; then
    # Leave nothing behind even on failure.
    if [ -s "$JSON" ]; then
      for p in $(python3 -c 'import json,sys; print(" ".join(str(v) for v in json.load(open(sys.argv[1]))["pids"].values()))' "$JSON"); do
        kill -KILL "$p" 2>/dev/null
      done
      tmp=$(field tmp_dir 2>/dev/null)
      [ -n "$tmp" ] && case "$tmp" in /tmp/sensorgate-demo.*) rm -rf "$tmp" ;; esac
    fi
    echo "---- demo output ----"
    cat "$OUT" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; RESULT=1; exit 1; }

T0=$(now)
# Job control on: without it, a background command starts with SIGINT
# ignored, and the demo could not be stopped the way Ctrl-C stops it.
set -m
"$SRC/examples/demo/run.sh" --no-install --build "$BUILD" --print-json "$JSON" --for 600s >"$OUT" 2>&1 &
DEMO=$!
set +m

# The demo writes the JSON file once every piece is up.
until [ -s "$JSON" ]; do
  kill -0 "$DEMO" 2>/dev/null || fail "examples/demo/run.sh exited before it was up"
  [ "$(python3 -c "import sys; print(int(float(sys.argv[1]) > $LIMIT))" "$(elapsed "$T0")")" = 1 ] &&
    fail "examples/demo/run.sh was not up within ${LIMIT} s"
  sleep 0.2
done
UP=$(elapsed "$T0")
TMP=$(field tmp_dir)
WEB=$(field maildev_web_port)
BOOTSTRAP=$(field kafka_bootstrap)
HOT=$(field hot_equipment)
echo "demo up after ${UP} s: temp folder $TMP, hot equipment: $HOT"

# Poll maildev and kcat until both have what we want, or 60 s have passed.
MAIL_AT="" KAFKA_AT="" MAIL_LINE=""
while [ -z "$MAIL_AT" ] || [ -z "$KAFKA_AT" ]; do
  kill -0 "$DEMO" 2>/dev/null || fail "examples/demo/run.sh exited while running"
  if [ -z "$MAIL_AT" ]; then
    MAIL_LINE=$(python3 - "$WEB" "$HOT" <<'EOF' 2>/dev/null
import json, re, sys, urllib.request
port, hot = sys.argv[1], sys.argv[2].split()
mails = json.load(urllib.request.urlopen("http://127.0.0.1:%s/email" % port, timeout=5))
for m in mails:
    for line in (m.get("text") or "").splitlines():
        f = re.match(r"\*\s+(\S+)\s+rule\s+\S+\s+FIRING\b", line)
        if f and f.group(1) in hot:
            print("%s | %s" % (m.get("subject"), line.strip()))
            sys.exit(0)
EOF
    )
    [ -n "$MAIL_LINE" ] && MAIL_AT=$(elapsed "$T0") && echo "mail after ${MAIL_AT} s: $MAIL_LINE"
  fi
  if [ -z "$KAFKA_AT" ]; then
    rec=$(timeout 10 kcat -b "$BOOTSTRAP" -C -t sensor-aggregates -o beginning -e -q -c 1 2>/dev/null | head -n 1)
    [ -n "$rec" ] && KAFKA_AT=$(elapsed "$T0") && echo "first Kafka record after ${KAFKA_AT} s: $rec"
  fi
  if [ -z "$MAIL_AT" ] || [ -z "$KAFKA_AT" ]; then
    t=$(elapsed "$T0")
    [ "$(python3 -c "import sys; print(int(float(sys.argv[1]) > $LIMIT))" "$t")" = 1 ] &&
      fail "after ${t} s (limit ${LIMIT} s): mail ${MAIL_AT:-none}, Kafka ${KAFKA_AT:-none}"
    sleep 0.5
  fi
done
python3 -c "import sys; sys.exit(0 if max(float(a) for a in sys.argv[1:]) <= $LIMIT else 1)" "$MAIL_AT" "$KAFKA_AT" ||
  fail "over ${LIMIT} s: mail ${MAIL_AT} s, Kafka ${KAFKA_AT} s"

# Stop it as Ctrl-C does and check that it leaves nothing.
PIDS=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pids"]; p.pop("demo"); print(" ".join(str(v) for v in p.values()))' "$JSON")
S0=$(now)
kill -INT "$DEMO"
code=""
for _ in $(seq 1 600); do  # 60 s at most
  if ! kill -0 "$DEMO" 2>/dev/null; then
    wait "$DEMO"
    code=$?
    break
  fi
  sleep 0.1
done
[ -n "$code" ] || fail "examples/demo/run.sh still runs 60 s after SIGINT"
DEMO=""
echo "demo stopped after SIGINT in $(elapsed "$S0") s with status $code"
[ "$code" = 0 ] || fail "examples/demo/run.sh exited with status $code after SIGINT"
left=""
for p in $PIDS; do
  kill -0 "$p" 2>/dev/null && left="$left $p($(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null))"
done
[ -z "$left" ] || fail "processes left:$left"
others=$(pgrep -f "$TMP" 2>/dev/null | tr '\n' ' ')
[ -z "$others" ] || fail "processes naming $TMP left: $others"
[ ! -e "$TMP" ] || fail "the temp folder $TMP is still there"
grep -q 'stopped, all clean' "$OUT" || fail "examples/demo/run.sh did not report a clean stop"

RESULT=0
echo "PASS: mail after ${MAIL_AT} s, Kafka after ${KAFKA_AT} s (limit ${LIMIT} s), clean stop"
