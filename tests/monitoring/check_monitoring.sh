#!/bin/bash
# The monitoring files against the metrics a real gateway exports.
#
#   tests/monitoring/check_monitoring.sh BUILD_DIR [SOURCE_DIR]
#
# Starts build/gateway/sensorgate on a file written by build/simulator/
# sensorgate-sim (hot equipment, bad lines), with a [rule.NAME] of each kind,
# [email], [kafka] and [mqtt] pointing at closed ports of 127.0.0.1 (so the
# outbox, spool and MQTT metrics exist) and [http] on a free port; waits until
# /metrics counts every line read; then checks:
#   - promtool check metrics on the /metrics answer;
#   - promtool check rules systemd/prometheus-alerts.yml, and that each alert
#     has for:, a severity label, a summary and a description;
#   - systemd/grafana-dashboard.json is JSON, schemaVersion >= 36, has panels,
#     a datasource variable DS_PROMETHEUS and job/instance variables;
#   - every metric name in every panel expr, variable query and alert expr is
#     one that /metrics exports (histogram _bucket/_sum/_count of an exported
#     family allowed, `up` allowed), and no other identifier but PromQL's
#     functions and keywords appears.
# Exit 0 passed, 1 failed, 77 skipped (promtool or python3 missing).
# SENSORGATE_BIN and SENSORGATE_SIM_BIN override the binaries' paths (ctest
# sets them); KEEP_TMP=1 keeps the work folder.
set -u

BUILD=${1:?usage: $0 BUILD_DIR [SOURCE_DIR]}
SRC=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$BUILD" && pwd) || exit 1
GATEWAY=${SENSORGATE_BIN:-$BUILD/gateway/sensorgate}
SIM=${SENSORGATE_SIM_BIN:-$BUILD/simulator/sensorgate-sim}
DASHBOARD=$SRC/systemd/grafana-dashboard.json
RULES=$SRC/systemd/prometheus-alerts.yml

say() { echo "check_monitoring: $*"; }
fail() { say "FAILED: $*"; exit 1; }

if ! command -v promtool >/dev/null 2>&1; then
  say "SKIPPED: promtool not found (Debian package 'prometheus')"
  exit 77
fi
PYTHON=$(command -v python3 || true)
if [ -z "$PYTHON" ]; then
  say "SKIPPED: python3 not found"
  exit 77
fi
for f in "$GATEWAY" "$SIM"; do
  [ -x "$f" ] || fail "$f is missing (build the project first)"
done
for f in "$DASHBOARD" "$RULES"; do
  [ -f "$f" ] || fail "$f is missing"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_monitoring.XXXXXX") || exit 1
DAEMON_PID=
cleanup() {
  local rc=$?
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null
    # Bounded: the gateway flushes within its stop timeout; then SIGKILL.
    for _ in $(seq 1 150); do
      kill -0 "$DAEMON_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
      say "the gateway did not stop within 15 s of SIGTERM: SIGKILL"
      kill -KILL "$DAEMON_PID" 2>/dev/null
    fi
    wait "$DAEMON_PID" 2>/dev/null
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$TMP/daemon.log" ]; then
    say "last lines of the gateway's log:"
    tail -n 20 "$TMP/daemon.log" | sed 's/^/  | /'
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Ports that nothing listens on: bound, then closed, by the kernel's choice.
closed_ports=$("$PYTHON" - <<'PY'
import socket
socks = []
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
PY
) || fail "cannot pick free ports"
read -r SMTP_PORT KAFKA_PORT MQTT_PORT <<<"$closed_ports"

mkdir -p "$TMP/logs" "$TMP/state"
LOG=$TMP/logs/sensors.log
"$SIM" --equipment 10 --hot 2 --count 3000 --bad 0.02 --seed 7 \
  --start-time 2026-01-01T00:00:00Z --output "$LOG" || fail "sensorgate-sim failed"
LINES=$(grep -c '' "$LOG")
[ "$LINES" -gt 3000 ] || fail "the simulator wrote $LINES lines, expected more than 3000"

cat >"$TMP/gateway.ini" <<INI
[gateway]
name = monitoring-test
state_dir = $TMP/state
checkpoint_interval = 1s

[file]
path = $TMP/logs/sensors.log*
from = beginning

[mqtt]
uri = tcp://127.0.0.1:$MQTT_PORT
topics = plant/+/temperature

[window]
size = 60

[alert]
above = 75
clear_below = 73
for = 0s
min_samples = 10

[email]
url = smtp://127.0.0.1:$SMTP_PORT
starttls = off
from = gateway@example.org
to = ops@example.org
group_wait = 0s
timeout = 2s

[kafka]
brokers = 127.0.0.1:$KAFKA_PORT
topic = aggregates
alerts_topic = alerts
interval = 1s

[http]
listen = 127.0.0.1:0

; a count window (results, alerts) and an event-time window (watermark)
[rule.peak]
key = sensor
value = padrao.leitura.temperatura
window = count 20
aggregates = count, avg, max
alert = max > 78

[rule.tenseconds]
key = sensor
value = padrao.leitura.temperatura
window = tumbling 10s
aggregates = count, avg
alert = avg > 75
INI

"$GATEWAY" --config "$TMP/gateway.ini" --check >"$TMP/check.log" 2>&1 \
  || { cat "$TMP/check.log"; fail "the test's configuration is refused"; }

"$GATEWAY" --config "$TMP/gateway.ini" 2>"$TMP/daemon.log" &
DAEMON_PID=$!

# The HTTP port the kernel chose, from the log: "http: listening on ... (port N)".
PORT=
for _ in $(seq 1 200); do
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "the gateway exited at start"
  PORT=$(sed -n 's/.*http: listening on .*(port \([0-9]*\)).*/\1/p' "$TMP/daemon.log" | head -n 1)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || fail "no 'http: listening' line in the log within 20 s"
say "gateway pid $DAEMON_PID, /metrics on 127.0.0.1:$PORT, $LINES lines to read"

fetch() {
  "$PYTHON" - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.buffer.write(r.read())
except Exception as e:
    sys.stderr.write("fetch %s: %s\n" % (sys.argv[1], e)); sys.exit(1)
PY
}

METRICS=$TMP/metrics.txt
read_total=
for _ in $(seq 1 300); do
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "the gateway exited"
  if fetch "http://127.0.0.1:$PORT/metrics" >"$METRICS" 2>/dev/null; then
    read_total=$(awk '$1 == "sensorgate_records_read_total" {print $2}' "$METRICS")
    [ "$read_total" = "$LINES" ] && break
  fi
  sleep 0.1
done
[ "$read_total" = "$LINES" ] \
  || fail "sensorgate_records_read_total is '${read_total}' after 30 s, expected $LINES"
fired=$(awk '$1 == "sensorgate_alerts_total{rule=\"hot\",state=\"firing\"}" {print $2}' "$METRICS")
[ "${fired:-0}" -gt 0 ] 2>/dev/null || fail "no hot alert fired (sensorgate_alerts_total{rule=\"hot\",state=\"firing\"} = '${fired}')"
say "/metrics: $read_total records read, $fired hot alerts fired, $(grep -c '^# TYPE' "$METRICS") families, $(grep -vc '^#' "$METRICS") samples"

status=0
promtool check metrics <"$METRICS" >"$TMP/promtool-metrics.log" 2>&1 \
  || { cat "$TMP/promtool-metrics.log"; say "promtool check metrics: FAILED"; status=1; }
[ "$status" = 0 ] && say "promtool check metrics: ok"

if promtool check rules "$RULES" >"$TMP/promtool-rules.log" 2>&1; then
  say "promtool check rules: ok ($(sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p' "$TMP/promtool-rules.log") rules)"
else
  cat "$TMP/promtool-rules.log"; say "promtool check rules: FAILED"; status=1
fi

"$PYTHON" - "$METRICS" "$DASHBOARD" "$RULES" "$TMP/dashboard-queries.yml" <<'PY' || status=1
import json, re, sys

metrics_path, dashboard_path, rules_path, queries_path = sys.argv[1:5]
errors = []

# What /metrics exports: sample names, and families with their type.
samples, families = set(), {}
for line in open(metrics_path, encoding="utf-8"):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        families[m.group(1)] = m.group(2)
    elif line.strip() and not line.startswith("#"):
        samples.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))

FUNCTIONS = set("""abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg
delta deriv exp floor histogram_count histogram_fraction histogram_quantile histogram_sum holt_winters hour
idelta increase irate label_join label_replace last_over_time ln log10 log2 max_over_time min_over_time
minute month pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin
sinh sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector
year""".split())
AGGREGATIONS = set("sum min max avg group stddev stdvar count count_values bottomk topk quantile".split())
KEYWORDS = set("by without on ignoring group_left group_right offset bool and or unless atan2 inf nan".split())
ALLOWED_METRICS = {"up"}

def exported(name):
    if name in samples:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and families.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return True
    return False

def metric_names(expr, where):
    """The metric names an expression uses; unknown identifiers are errors."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)   # strings
    e = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", " 1 ", e)              # Grafana variables
    e = re.sub(r"\{[^}]*\}", " ", e)                                           # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                                          # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", e)  # label lists
    found = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*|[0-9][0-9A-Za-z_.]*", e):
        tok = m.group(0)
        if tok[0].isdigit():
            continue
        following = e[m.end():].lstrip()[:1]
        if tok in FUNCTIONS and following == "(":
            continue
        if tok in AGGREGATIONS and (following == "(" or re.match(r"\s*(by|without)\b", e[m.end():])):
            continue
        if tok in KEYWORDS:
            continue
        if tok in ALLOWED_METRICS or tok.startswith("sensorgate_"):
            found.add(tok)
            if not exported(tok) and tok not in ALLOWED_METRICS:
                errors.append("%s: %s is not exported by /metrics (expr: %s)" % (where, tok, expr))
            continue
        errors.append("%s: unknown identifier %r (neither a PromQL function or keyword nor an allowed metric) in: %s"
                      % (where, tok, expr))
    return found

# ---- the Grafana dashboard
used_dashboard = set()
try:
    dash = json.load(open(dashboard_path, encoding="utf-8"))
except ValueError as e:
    print("check_monitoring: FAILED: %s is not valid JSON: %s" % (dashboard_path, e))
    sys.exit(1)
if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
    errors.append("dashboard: schemaVersion %r, expected >= 36" % dash.get("schemaVersion"))

def all_panels(panels):
    for p in panels or []:
        yield p
        yield from all_panels(p.get("panels"))

panels = list(all_panels(dash.get("panels")))
data_panels = [p for p in panels if p.get("type") != "row"]
if not data_panels:
    errors.append("dashboard: no panels")
variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    errors.append("dashboard: no datasource variable DS_PROMETHEUS")
for name in ("job", "instance"):
    if variables.get(name, {}).get("type") != "query":
        errors.append("dashboard: no query variable %r" % name)
n_exprs = 0
queries = []
for p in data_panels:
    where = "dashboard panel %r" % p.get("title")
    targets = p.get("targets") or []
    if not targets:
        errors.append(where + ": no targets")
    for t in targets:
        expr = t.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            errors.append(where + ": target %s has no expr" % t.get("refId"))
            continue
        if "DS_PROMETHEUS" not in json.dumps(t.get("datasource", p.get("datasource"))):
            errors.append(where + ": target %s does not use ${DS_PROMETHEUS}" % t.get("refId"))
        n_exprs += 1
        used_dashboard |= metric_names(expr, where)
        queries.append((where, expr))
for name, v in variables.items():
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if v.get("type") == "query" and isinstance(q, str):
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
        used_dashboard |= metric_names(m.group(1) if m else q, "dashboard variable %r" % name)
# The panels' queries as recording rules, for promtool to parse as PromQL
# (Grafana's variables replaced by values they can take).
def substitute(expr):
    expr = re.sub(r"\$__(rate_)?interval|\$\{__(rate_)?interval\}", "5m", expr)
    expr = re.sub(r"\$\{?topk\}?", "10", expr)
    return re.sub(r"\$\{?(job|instance)\}?", ".+", expr)
with open(queries_path, "w", encoding="utf-8") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (where, expr) in enumerate(queries):
        out.write("      # %s\n      - record: dashboard_query_%d\n        expr: %s\n"
                  % (where.replace("\n", " "), i + 1, json.dumps(substitute(expr))))

# Each part of the gateway has its panels.
for prefix in ("sensorgate_records_read_total", "sensorgate_records_rejected_total", "sensorgate_window_average",
               "sensorgate_alerts_", "sensorgate_rule_", "sensorgate_kafka_spool_", "sensorgate_mail_",
               "sensorgate_files_", "sensorgate_mqtt_connected"):
    if not any(m.startswith(prefix) for m in used_dashboard):
        errors.append("dashboard: no panel uses %s*" % prefix)

# ---- the alerting rules (PyYAML when present, else the expr: lines)
used_rules = set()
text = open(rules_path, encoding="utf-8").read()
try:
    import yaml
except ImportError:
    yaml = None
rules = []
if yaml:
    doc = yaml.safe_load(text)
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            rules.append(r)
            if "alert" in r:
                name = r["alert"]
                if not r.get("for"):
                    errors.append("rule %s: no for:" % name)
                if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    errors.append("rule %s: no severity label" % name)
                for a in ("summary", "description"):
                    if not r.get("annotations", {}).get(a):
                        errors.append("rule %s: no %s annotation" % (name, a))
else:
    lines = text.splitlines()
    i = 0
    name = "?"
    while i < len(lines):
        d = re.match(r"^\s*- (?:alert|record):\s*(\S+)", lines[i])
        if d:
            name = d.group(1)
        m = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", lines[i])
        if m:
            value = m.group(2).strip()
            if value[:1] in ("|", ">"):
                indent = None; block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or indent is None or
                                          len(lines[i]) - len(lines[i].lstrip()) >= indent):
                    if lines[i].strip():
                        indent = indent if indent is not None else len(lines[i]) - len(lines[i].lstrip())
                        if len(lines[i]) - len(lines[i].lstrip()) < indent:
                            break
                    block.append(lines[i].strip())
                    i += 1
                rules.append({"alert": name, "expr": " ".join(block)})
                continue
            rules.append({"alert": name, "expr": value.strip("'\"")})
        i += 1
    n_decl = len(re.findall(r"^\s*- (alert|record):", text, re.M))
    if n_decl != len(rules):
        errors.append("rules: %d rules but %d expr read without PyYAML" % (n_decl, len(rules)))
if not rules:
    errors.append("rules: none found")
for r in rules:
    used_rules |= metric_names(str(r.get("expr", "")), "rule %s" % r.get("alert", r.get("record")))
if "up" not in used_rules:
    errors.append("rules: no rule on up (gateway down)")

print("check_monitoring: dashboard: %d panels, %d queries, %d metrics: %s"
      % (len(data_panels), n_exprs, len(used_dashboard), " ".join(sorted(used_dashboard))))
print("check_monitoring: alert rules: %d rules, %d metrics: %s"
      % (len(rules), len(used_rules), " ".join(sorted(used_rules))))
for e in errors:
    print("check_monitoring: " + e)
sys.exit(1 if errors else 0)
PY

# The dashboard's queries parse as PromQL (variables replaced by values).
if [ -f "$TMP/dashboard-queries.yml" ]; then
  if promtool check rules "$TMP/dashboard-queries.yml" >"$TMP/promtool-queries.log" 2>&1; then
    say "promtool parses the dashboard's queries: ok"
  else
    cat "$TMP/promtool-queries.log"; say "promtool check rules on the dashboard's queries: FAILED"; status=1
  fi
fi

if [ "$status" = 0 ]; then say "PASSED"; else say "FAILED"; fi
exit "$status"
