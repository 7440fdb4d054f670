#!/usr/bin/python3
"""The use cases of examples/*.ini, end to end (DESIGN.md 13.6, issue 16).

Each case generates data with `sensorgate-sim --profile ...`, whose truth file
says what a correct analysis must find, runs the example (with only the keys
an operator changes for their site: paths, servers, ports) through
`sensorgate --replay` and the daemon against real peers (aiosmtpd, librdkafka's
mock cluster read back by kcat), and checks the answer against the truth.

  use_cases_test.py --build BUILD_DIR --source SOURCE_DIR CASE

CASE: equipment-temperature | network-traffic | process-events | web-servers |
      scada-cleaning | readme
Exit 0: passed; 77: skipped (a tool it needs is missing, said why); else failed.
"""
import argparse
import base64
import collections
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SKIP = 77


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, predicate, timeout=60.0, interval=0.05):
    """Polls predicate() until it returns a true value (returned), or fails
    naming `what`. Used only for what cannot be awaited otherwise (a peer's
    state over the network), never as a sleep."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise Failure("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# --- configuration -------------------------------------------------------

def ini_set(text, section, key, value):
    """The INI text with `key` of [section] set to `value` (added at the end
    of the section when absent; the section added when absent)."""
    lines = text.split("\n")
    start = None
    for i, line in enumerate(lines):
        if line.strip().split(";")[0].strip() == "[%s]" % section:
            start = i
            break
    if start is None:
        return text.rstrip("\n") + "\n\n[%s]\n%s = %s\n" % (section, key, value)
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            end = i
            break
    for i in range(start + 1, end):
        m = re.match(r"\s*([A-Za-z0-9_.]+)\s*=", lines[i])
        if m and m.group(1) == key:
            lines[i] = "%s = %s" % (key, value)
            return "\n".join(lines)
    insert = end
    while insert > start + 1 and lines[insert - 1].strip() == "":
        insert -= 1
    lines.insert(insert, "%s = %s" % (key, value))
    return "\n".join(lines)


def ini_drop(text, section):
    """The INI text without [section]."""
    out, skipping = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("["):
            skipping = line.strip().split(";")[0].strip() == "[%s]" % section
        if not skipping:
            out.append(line)
    return "\n".join(out)


# --- processes -----------------------------------------------------------

class Env:
    def __init__(self, build, source, work):
        self.build = build
        self.source = source
        self.work = work
        self.gate = os.path.join(build, "gateway", "sensorgate")
        self.sim_bin = os.path.join(build, "simulator", "sensorgate-sim")
        self.mock = os.path.join(build, "tests", "kafka_mock_cluster")
        self.smtp = os.path.join(source, "tests", "integration", "smtp_server.py")
        self.procs = []

    def example(self, name):
        with open(os.path.join(self.source, "examples", name + ".ini")) as f:
            return f.read()

    def write(self, name, text):
        path = os.path.join(self.work, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def sim(self, *args):
        r = subprocess.run([self.sim_bin] + [str(a) for a in args], capture_output=True, text=True)
        check(r.returncode == 0, "sensorgate-sim %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
        return r

    def replay(self, config_text, files, name="replay.ini"):
        cfg = self.write(name, config_text)
        r = subprocess.run([self.gate, "--config", cfg, "--replay"] + list(files), capture_output=True, text=True)
        check(r.returncode == 0, "sensorgate --replay failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()], r.stderr

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def need(tool, package):
    if not shutil.which(tool) and not os.path.exists(tool):
        raise Skip("%s is missing (apt-get install %s)" % (tool, package))


class SmtpServer:
    """Debian's aiosmtpd through tests/integration/smtp_server.py."""

    def __init__(self, env):
        need("/usr/bin/python3", "python3")
        r = subprocess.run(["/usr/bin/python3", "-c", "import aiosmtpd"], capture_output=True)
        if r.returncode != 0:
            raise Skip("aiosmtpd is missing (apt-get install python3-aiosmtpd)")
        self.dir = os.path.join(env.work, "mail")
        self.port = free_port()
        ready = os.path.join(env.work, "smtp.ready")
        self.proc = env.spawn(["/usr/bin/python3", env.smtp, "--port", str(self.port), "--dir", self.dir,
                               "--ready", ready])
        wait_for("the SMTP server to listen", lambda: os.path.exists(ready) or self.proc.poll() is not None)
        check(self.proc.poll() is None, "the SMTP server did not start")
        self.env = env

    def messages(self):
        out = []
        if not os.path.isdir(self.dir):
            return out
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".eml"):
                r = subprocess.run(["/usr/bin/python3", self.env.smtp, "--parse", os.path.join(self.dir, name)],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    out.append(json.loads(r.stdout))
        return out


class KafkaCluster:
    """librdkafka's mock cluster as its own process; read back with kcat."""

    def __init__(self, env, topics):
        need("kcat", "kcat")
        if not os.path.exists(env.mock):
            raise Skip("%s is missing (configure with SENSORGATE_WITH_KAFKA)" % env.mock)
        self.proc = env.spawn([env.mock, "--brokers", "1", "--partitions", "1"] + topics, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        check(self.bootstrap, "the mock cluster printed no bootstrap servers")

    def read(self, topic, want, timeout=90):
        """The values of `topic`'s messages, once there are at least `want`."""
        got = []

        def enough():
            r = subprocess.run(["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                                "-f", "%s\\n"], capture_output=True, text=True, timeout=60)
            got[:] = [l for l in r.stdout.splitlines() if l.strip()]
            return len(got) >= want

        wait_for("%d messages on Kafka topic %s (have %d)" % (want, topic, len(got)), enough, timeout, 0.5)
        return [json.loads(l) for l in got]


class Daemon:
    """sensorgate as a daemon; its standard error pumped into a list."""

    def __init__(self, env, config_text, name="daemon.ini"):
        self.cfg = env.write(name, config_text)
        self.proc = env.spawn([env.gate, "--config", self.cfg], stderr=subprocess.PIPE, text=True)
        self.log = []
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def alive(self):
        if self.proc.poll() is not None:
            raise Failure("the daemon exited (%d):\n%s" % (self.proc.returncode, "".join(self.log[-30:])))
        return True

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.thread.join(timeout=5)
        check(self.proc.returncode == 0, "the daemon stopped with %d:\n%s" % (self.proc.returncode,
                                                                             "".join(self.log[-30:])))


def http_json(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def site(env, text, files_glob, http_port=None):
    """The example with a test's site keys: state under the work folder, the
    files to follow, the HTTP port."""
    text = ini_set(text, "gateway", "state_dir", os.path.join(env.work, "state"))
    text = ini_set(text, "file", "path", files_glob)
    if http_port is not None:
        text = ini_set(text, "http", "listen", "127.0.0.1:%d" % http_port)
    return text


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def rfc3339_us(text):
    """Microseconds since the epoch of an RFC 3339 UTC time ("...Z")."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", text)
    check(m, "not an RFC 3339 UTC time: %r" % text)
    import calendar
    secs = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)))
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    return secs * 1000000 + int(frac)


def alert_keys(events, rule, state="firing"):
    return {e["key"] for e in events if e.get("event") == "alert" and e.get("rule") == rule and e["state"] == state}


def summary_rule(stderr, rule):
    """The replay summary's line of a rule, as a dict of its counters."""
    for line in stderr.splitlines():
        if line.startswith("sensorgate: rule %s:" % rule):
            counts = {}
            rest = line.split(":", 2)[2]
            for n, what in re.findall(r"(\d+) ([a-z_]+)", re.sub(r"\([^)]*\)", "", rest)):
                counts[what] = counts.get(what, 0) + int(n)
            # Skips by reason, in parentheses: "(value_out_of_range 47, ...)".
            for inner in re.findall(r"\(([^)]*)\)", rest):
                for what, n in re.findall(r"([a-z_]+) (\d+)", inner):
                    counts[what] = counts.get(what, 0) + int(n)
            return line, counts
    raise Failure("no summary line for rule %s in:\n%s" % (rule, stderr))


# --- the cases -----------------------------------------------------------

def case_equipment_temperature(env):
    """The simple form: the equipment in the truth file fire and resolve; the
    mail lists them; the aggregates arrive in Kafka."""
    src = os.path.join(env.work, "in")
    os.makedirs(src)
    truth_path = os.path.join(env.work, "truth.jsonl")
    env.sim("--profile", "temperature", "--equipment", 20, "--count", 40000, "--hot", 3, "--seed", 11,
            "--start-time", "2026-01-01T00:00:00Z", "--truth", truth_path, "-o", os.path.join(src, "sensors.log"))
    hot = {t["key"] for t in load_jsonl(truth_path) if "hot_from_reading" in t}
    check(len(hot) == 3, "the truth names %d hot equipment, not 3" % len(hot))
    example = env.example("equipment-temperature")

    # Batch: exactly the hot equipment fire, and each resolves.
    events, _ = env.replay(example, [os.path.join(src, "sensors.log")])
    check(alert_keys(events, "hot") == hot, "replay fired %s, the truth says %s" % (alert_keys(events, "hot"), hot))
    check(alert_keys(events, "hot", "resolved") == hot, "replay resolved %s" % alert_keys(events, "hot", "resolved"))

    # Stream: the daemon following the file, mailing a real SMTP server and
    # producing to the mock cluster.
    smtp = SmtpServer(env)
    kafka = KafkaCluster(env, ["sensor-aggregates", "sensor-alerts"])
    text = site(env, example, os.path.join(src, "*.log"), free_port())
    text = ini_set(text, "email", "url", "smtp://127.0.0.1:%d" % smtp.port)
    text = ini_set(text, "email", "starttls", "off")
    text = ini_set(text, "email", "group_wait", "1s")
    text = ini_set(text, "email", "group_interval", "1s")
    text = ini_set(text, "kafka", "brokers", kafka.bootstrap)
    text = ini_set(text, "kafka", "interval", "1s")
    d = Daemon(env, text)
    firing, resolved, others = set(), set(), set()

    def mails_done():
        d.alive()
        firing.clear(), resolved.clear(), others.clear()
        for m in smtp.messages():
            for line in m["body"].splitlines():
                g = re.match(r"\*\s+(\S+)\s.*?(FIRING|fired and resolved|resolved)", line)
                if not g:
                    continue
                key, state = g.group(1), g.group(2)
                (firing if state != "resolved" else resolved).add(key)
                if state != "FIRING":
                    resolved.add(key)
                if key not in hot:
                    others.add(key)
        return hot <= firing and hot <= resolved

    wait_for("mails naming %s firing and resolved" % sorted(hot), mails_done, 90, 0.2)
    check(not others, "mails name equipment that never ran hot: %s" % sorted(others))
    aggregates = kafka.read("sensor-aggregates", 20)
    keys = {a.get("key") for a in aggregates}
    check(keys == {"sensor%02d" % i for i in range(1, 21)}, "Kafka aggregates for %s" % sorted(keys))
    for a in aggregates:
        check(a.get("gateway") == "line-2" and a.get("count", 0) > 0 and "avg" in a, "aggregate record %s" % a)
    alerts = kafka.read("sensor-alerts", 6)
    check({a["key"] for a in alerts if a.get("state") == "firing"} == hot, "Kafka alerts %s" % alerts)
    d.stop()
    return "%d equipment hot (%s), fired and resolved in replay, in %d mail(s), %d aggregates and %d alerts in Kafka" % (
        len(hot), ", ".join(sorted(hot)), len(smtp.messages()), len(aggregates), len(alerts))


def overlaps(event, episode):
    """A result or alert event's window [start, end) meets the episode's
    [from, to)."""
    return rfc3339_us(event["start"]) < rfc3339_us(episode["to"]) and \
        rfc3339_us(episode["from"]) < rfc3339_us(event["end"])


def case_network_traffic(env):
    """zscore() alerts fire for the cells with a surge (rule traffic) or a
    latency anomaly (rule latency), in windows that meet the episode, and
    nowhere else; every closed window's result reaches processed-data."""
    src = os.path.join(env.work, "in")
    os.makedirs(src)
    truth_path = os.path.join(env.work, "truth.jsonl")
    log = os.path.join(src, "traffic.log")
    env.sim("--profile", "traffic", "--equipment", 20, "--count", TRAFFIC_COUNT, "--hot", 2, "--seed", 7,
            "--start-time", "2026-01-01T00:00:00Z", "--truth", truth_path, "-o", log)
    truth = load_jsonl(truth_path)
    example = env.example("network-traffic")
    events, stderr = env.replay(example, [log])
    found = []
    for rule, kind in (("traffic", "surge"), ("latency", "latency")):
        episodes = {t["cell"]: t for t in truth if t["kind"] == kind}
        check(len(episodes) == 2, "the truth has %d %s episodes, not 2" % (len(episodes), kind))
        fired = [e for e in events if e.get("event") == "alert" and e.get("rule") == rule and e["state"] == "firing"]
        cells = {e["key"] for e in fired}
        check(cells == set(episodes), "rule %s fired for %s, the truth's %s cells are %s" %
              (rule, sorted(cells), kind, sorted(episodes)))
        for e in fired:
            check(overlaps(e, episodes[e["key"]]), "rule %s fired for %s in [%s, %s), the %s is [%s, %s)" %
                  (rule, e["key"], e["start"], e["end"], kind, episodes[e["key"]]["from"], episodes[e["key"]]["to"]))
        found.append("%s: %s" % (rule, ", ".join(sorted(cells))))
    results = [e for e in events if e.get("event") == "result" and not e.get("open")]
    check(results, "replay printed no closed window")

    kafka = KafkaCluster(env, ["processed-data", "network-alerts"])
    text = site(env, example, os.path.join(src, "*.log"))
    text = ini_set(text, "kafka", "brokers", kafka.bootstrap)
    d = Daemon(env, text)
    want = {(r["rule"], r["key"], r["start"]): r for r in results}
    got = kafka.read("processed-data", len(want), 120)
    d.alive()
    by = {}
    for g in got:
        by[(g["rule"], g["key"], g["start"])] = g
    check(set(by) == set(want), "Kafka has %d windows, replay closed %d; differ: %s" %
          (len(by), len(want), sorted(set(by) ^ set(want))[:5]))
    for k, r in want.items():
        g = {x: y for x, y in by[k].items() if x not in ("gateway", "seq")}
        check(g == r, "Kafka's %s differs from replay's: %s vs %s" % (k, g, r))
    d.stop()
    return "%s; %d windows in processed-data equal replay's" % ("; ".join(found), len(want))


def process_truth(path):
    truth = load_jsonl(path)
    last = max(t["cycle"] for t in truth)
    return truth, last


def expected_event_counts(truth, last, length, every, lateness):
    """Per (machine, window start in unix seconds): the count a correct
    event-time rule gives, and how many records it must count as late. A
    record stamped in cycle c is sent after every record of cycle c + 1, when
    the watermark (the largest time seen, over all machines) is inside cycle
    c + 1: the windows that end at the cycle's end have closed when lateness
    is 0 (those ending later are open), none has with a lateness of at least
    one cycle. The last cycle's late records come when the watermark is still
    in that cycle."""
    step = truth[0]["to"] - truth[0]["from"]
    check(lateness == 0 or lateness >= step, "the model knows lateness 0 or at least one cycle")
    counts, late = collections.Counter(), 0
    for t in truth:
        # The windows holding the cycle (cycles are aligned to the windows' step).
        starts = list(range(t["from"] - length + every, t["from"] + 1, every))
        late_here = t["late"] if (lateness == 0 and t["cycle"] < last) else 0
        open_for_late = [s for s in starts if not (late_here and s + length == t["to"])]
        for s in starts:
            counts[(t["machine"], s)] += t["records"] - t["late"]
        for s in open_for_late:
            counts[(t["machine"], s)] += t["late"]
        if late_here and not open_for_late:
            late += t["late"]
    return {k: v for k, v in counts.items() if v > 0}, late


def rule_counts(events, rule):
    return {(e["key"], rfc3339_us(e["start"]) // 1000000): e["count"] for e in events
            if e.get("event") == "result" and e.get("rule") == rule}


def case_process_events(env):
    """Event time: per machine and window the counts equal the truth, late
    records counted while within lateness and as late beyond it; @arrival:
    the counts of the last 2 minutes are live in /api/rules/live."""
    src = os.path.join(env.work, "in")
    os.makedirs(src)
    truth_path = os.path.join(env.work, "truth.jsonl")
    log = os.path.join(src, "events.log")
    env.sim("--profile", "processes", "--equipment", 8, "--cycles", 60, "--seed", 3,
            "--start-time", "2026-01-01T00:00:00Z", "--truth", truth_path, "-o", log)
    truth, last = process_truth(truth_path)
    example = env.example("process-events")
    shown = []
    for window, lateness in (("sliding 2m every 10s", "15s"), ("sliding 2m every 10s", "0s"), ("tumbling 10s", "0s")):
        text = ini_set(example, "rule.events", "window", window)
        text = ini_set(text, "rule.events", "lateness", lateness)
        events, stderr = env.replay(text, [log])
        length, every = (120, 10) if window.startswith("sliding") else (10, 10)
        want, want_late = expected_event_counts(truth, last, length, every, int(lateness[:-1]))
        got = rule_counts(events, "events")
        check(got == want, "%s, lateness %s: %d windows differ from the truth, e.g. %s" % (
            window, lateness, len(set(got.items()) ^ set(want.items())),
            sorted(set(got.items()) ^ set(want.items()))[:4]))
        _, counters = summary_rule(stderr, "events")
        check(counters.get("late", 0) == want_late, "%s, lateness %s: %d counted late, the truth says %d" % (
            window, lateness, counters.get("late", 0), want_late))
        shown.append("%s lateness %s: %d windows, %d late" % (window, lateness, len(want), want_late))

    # Live: the daemon follows the file; what arrived in the last 2 minutes.
    port = free_port()
    d = Daemon(env, site(env, example, os.path.join(src, "*.log"), port))
    per_machine = collections.Counter()
    for t in truth:
        per_machine[t["machine"]] += t["records"]

    def live_counts(total):
        d.alive()
        try:
            r = http_json(port, "/api/rules/live")
        except (urllib.error.URLError, ConnectionError):
            return None
        if r["accepted"] < total:
            return None
        best = collections.Counter()
        for w in r["windows"]:
            best[w["key"]] = max(best[w["key"]], w["count"])
        return best

    got = wait_for("/api/rules/live to count every record", lambda: live_counts(sum(per_machine.values())))
    check(got == per_machine, "live counts %s, records per machine %s" % (dict(got), dict(per_machine)))
    # More records arrive: the live view follows.
    more = os.path.join(env.work, "more.log")
    more_truth = os.path.join(env.work, "more-truth.jsonl")
    env.sim("--profile", "processes", "--equipment", 8, "--cycles", 6, "--seed", 4, "--truth", more_truth, "-o", more)
    with open(more) as f, open(log, "a") as out:
        out.write(f.read())
    for t in load_jsonl(more_truth):
        per_machine[t["machine"]] += t["records"]
    got = wait_for("/api/rules/live to count the new records", lambda: live_counts(sum(per_machine.values())))
    check(got == per_machine, "live counts %s after more records, want %s" % (dict(got), dict(per_machine)))
    d.stop()
    return "; ".join(shown) + "; live: %d records of %d machines" % (sum(per_machine.values()), len(per_machine))


def open_results(events, rule):
    return [e for e in events if e.get("event") == "result" and e.get("rule") == rule and e.get("open")]


def case_web_servers(env):
    """distinct(DstDevice) over flows to 443/8000 equals the truth; the
    replay of the split files equals the daemon following the folder while
    the files appear one by one."""
    split_dir = os.path.join(env.work, "split")
    os.makedirs(split_dir)
    truth_path = os.path.join(env.work, "truth.jsonl")
    env.sim("--profile", "flows", "--equipment", 400, "--count", 40000, "--hot", 12, "--seed", 5,
            "--start-time", "2026-01-01T00:00:00Z", "--truth", truth_path, "--split", 5,
            "-o", os.path.join(split_dir, "flows.log"))
    files = sorted(os.path.join(split_dir, f) for f in os.listdir(split_dir))
    check(len(files) == 5, "--split 5 wrote %d files" % len(files))
    truth = load_jsonl(truth_path)[0]
    example = env.example("web-servers")
    events, _ = env.replay(example, files)
    total = open_results(events, "web_servers")
    check(len(total) == 1, "replay printed %d totals of web_servers" % len(total))
    check(total[0]["distinct(DstDevice)"] == truth["count"] == len(truth["web_servers"]),
          "distinct(DstDevice) %s, the truth says %d" % (total[0]["distinct(DstDevice)"], truth["count"]))
    per_device = {e["key"] for e in open_results(events, "web_server")}
    check(per_device == set(truth["web_servers"]), "web_server keys %s" % sorted(per_device))

    # Stream: the files land in the followed folder one by one.
    src = os.path.join(env.work, "in")
    os.makedirs(src)
    port = free_port()
    d = Daemon(env, site(env, example, os.path.join(src, "*.log"), port))
    lines = 0

    def seen(n):
        d.alive()
        try:
            r = http_json(port, "/api/rules/web_servers")
        except (urllib.error.URLError, ConnectionError):
            return None
        return r if r["accepted"] + r["filtered"] == n else None

    for f in files:
        with open(f) as fh:
            lines += sum(1 for _ in fh)
        tmp = os.path.join(env.work, "landing.tmp")
        shutil.copy(f, tmp)
        os.rename(tmp, os.path.join(src, os.path.basename(f)))
        wait_for("the daemon to read %s" % os.path.basename(f), lambda: seen(lines))
    stream = http_json(port, "/api/rules/web_servers")["windows"] + http_json(port, "/api/rules/web_server")["windows"]
    batch = total + open_results(events, "web_server")
    check(stream == batch, "the daemon's windows differ from replay's:\n%s\n%s" % (stream[:3], batch[:3]))
    d.stop()
    return "%d web servers of %d devices found by replay of 5 files and by the daemon alike (%d flows)" % (
        truth["count"], 400, lines)


def hot_ramps(truth, step_us):
    """Per hot key, the time span of its episode (ramp up, plateau, ramp
    down), from the truth's plateau times and reading numbers (one reading
    of a key per step)."""
    spans = {}
    for t in truth:
        if "hot_from_reading" in t:
            before = (t["hot_from_reading"] - t["episode_from_reading"]) * step_us
            after = (t["episode_to_reading"] - t["hot_to_reading"]) * step_us
            spans[t["key"]] = (rfc3339_us(t["from"]) - before - step_us, rfc3339_us(t["to"]) + after + step_us)
    return spans


def in_ramp(outlier, spans):
    key, time_text = outlier
    return key in spans and spans[key][0] <= rfc3339_us(time_text) <= spans[key][1]


def case_scada_cleaning(env):
    """Out-of-range values removed and counted, spikes flagged as outliers
    and counted, the rising trend of the hot equipment alerted by slope."""
    src = os.path.join(env.work, "in")
    os.makedirs(src)
    truth_path = os.path.join(env.work, "truth.jsonl")
    log = os.path.join(src, "scada.log")
    env.sim("--profile", "temperature", "--equipment", 10, "--count", SCADA_COUNT, "--hot", 1, "--seed", 3,
            "--step", SCADA_STEP, "--glitch", "0.002", "--spike", "0.002",
            "--start-time", "2026-01-01T00:00:00Z", "--truth", truth_path, "-o", log)
    truth = load_jsonl(truth_path)
    hot = {t["key"] for t in truth if "hot_from_reading" in t}
    glitches = [t for t in truth if t.get("kind") == "glitch"]
    spikes = {(t["sensor"], t["time"]) for t in truth if t.get("kind") == "spike"}
    check(glitches and spikes, "the truth has %d glitches and %d spikes" % (len(glitches), len(spikes)))
    events, stderr = env.replay(env.example("scada-cleaning"), [log])
    outliers = {(e["key"], e["time"]) for e in events if e.get("event") == "outlier" and e.get("rule") == "clean"}
    # A hot episode's ramps are sudden changes too: outliers there are right.
    ramps = hot_ramps(truth, 1000000)
    ramp_outliers = {o for o in outliers if in_ramp(o, ramps)}
    check(outliers - ramp_outliers == spikes, "outliers %d (%d on a hot ramp), spikes %d; differ: %s" % (
        len(outliers), len(ramp_outliers), len(spikes), sorted((outliers - ramp_outliers) ^ spikes)[:5]))
    for rule in ("clean", "trend"):
        line, counters = summary_rule(stderr, rule)
        check(counters.get("value_out_of_range", 0) == len(glitches), "rule %s: %s; the truth has %d glitches" % (
            rule, line, len(glitches)))
    _, counters = summary_rule(stderr, "clean")
    check(counters.get("outliers", 0) == len(outliers), "outliers counted %s, events %d" % (counters, len(outliers)))
    trend = alert_keys(events, "trend")
    check(trend == hot, "the slope alert fired for %s, the hot equipment is %s" % (sorted(trend), sorted(hot)))
    return "%d out-of-range values removed, %d spikes flagged (and %d readings of a hot ramp), the trend of %s alerted" % (
        len(glitches), len(spikes), len(ramp_outliers), ", ".join(sorted(hot)))


# --- the README's commands -----------------------------------------------

def readme_blocks(source):
    """(example name, shell commands) of each ```sh block of the README's
    "Use cases" section that runs an example."""
    with open(os.path.join(source, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Use cases\n(.*?)(?=^## )", text, re.S | re.M)
    check(m, "the README has no \"## Use cases\" section")
    blocks = []
    for body in re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M):
        ex = re.search(r"examples/([a-z-]+)\.ini", body)
        if ex:
            blocks.append((ex.group(1), body))
    return blocks


def readme_check(name, out, truth):
    """What the README says each example's output shows, from its truth."""
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if name == "equipment-temperature":
        hot = {t["key"] for t in truth if "hot_from_reading" in t}
        check(alert_keys(events, "hot") == hot, "fired %s, truth %s" % (alert_keys(events, "hot"), hot))
        return "fired and resolved: %s" % ", ".join(sorted(hot))
    if name == "network-traffic":
        for rule, kind in (("traffic", "surge"), ("latency", "latency")):
            cells = {t["cell"] for t in truth if t["kind"] == kind}
            check(alert_keys(events, rule) == cells, "rule %s fired %s, truth %s" % (rule, alert_keys(events, rule), cells))
        return "anomalies in %s" % ", ".join(sorted({t["cell"] for t in truth}))
    if name == "process-events":
        last = max(t["cycle"] for t in truth)
        want, _ = expected_event_counts(truth, last, 120, 10, 15)
        got = rule_counts(events, "events")
        check(got == want, "%d windows differ from the truth" % len(set(got.items()) ^ set(want.items())))
        return "%d windows equal the truth" % len(want)
    if name == "web-servers":
        total = open_results(events, "web_servers")
        check(len(total) == 1 and total[0]["distinct(DstDevice)"] == truth[0]["count"], "totals %s" % total)
        return "%d web servers" % truth[0]["count"]
    if name == "scada-cleaning":
        spikes = {(t["sensor"], t["time"]) for t in truth if t.get("kind") == "spike"}
        outliers = {(e["key"], e["time"]) for e in events if e.get("event") == "outlier"}
        outliers = {o for o in outliers if not in_ramp(o, hot_ramps(truth, 1000000))}
        check(outliers == spikes, "%d outliers, %d spikes" % (len(outliers), len(spikes)))
        hot = {t["key"] for t in truth if "hot_from_reading" in t}
        check(alert_keys(events, "trend") == hot, "trend fired %s, hot %s" % (alert_keys(events, "trend"), hot))
        return "%d outliers, trend of %s" % (len(outliers), ", ".join(sorted(hot)))
    raise Failure("the README runs examples/%s.ini, which this test does not know" % name)


def case_readme(env):
    """Every command of the README's "Use cases" runs, from the repository
    root with the build in build/, and shows what the README says."""
    blocks = readme_blocks(env.source)
    names = sorted(n for n, _ in blocks)
    examples = sorted(f[:-4] for f in os.listdir(os.path.join(env.source, "examples")) if f.endswith(".ini"))
    check(names == examples, "the README runs %s, examples/ holds %s" % (names, examples))
    root = os.path.join(env.work, "root")
    os.makedirs(root)
    os.symlink(env.build, os.path.join(root, "build"))
    os.symlink(os.path.join(env.source, "examples"), os.path.join(root, "examples"))
    tmp = os.path.join(env.work, "tmp")
    os.makedirs(tmp)
    said = []
    for name, body in blocks:
        # Its files go to a folder of the test's instead of /tmp.
        script = body.replace("/tmp/", tmp + "/")
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=root, capture_output=True, text=True,
                           timeout=300)
        check(r.returncode == 0, "examples/%s.ini: the README's commands failed (%d):\n%s\n%s" % (
            name, r.returncode, script, r.stderr[-2000:]))
        truth = re.search(r"--truth (\S+)", script)
        check(truth, "examples/%s.ini: the README's commands write no truth file" % name)
        said.append("%s: %s" % (name, readme_check(name, r.stdout, load_jsonl(truth.group(1)))))
    return "; ".join(said)


TRAFFIC_COUNT = 30000
SCADA_COUNT = 30000
SCADA_STEP = "1s"

CASES = {
    "equipment-temperature": case_equipment_temperature,
    "network-traffic": case_network_traffic,
    "process-events": case_process_events,
    "web-servers": case_web_servers,
    "scada-cleaning": case_scada_cleaning,
    "readme": case_readme,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sensorgate-use-case.")
    env = Env(os.path.abspath(a.build), os.path.abspath(a.source), work)
    try:
        print("use case %s: %s" % (a.case, CASES[a.case](env)))
        return 0
    except Skip as e:
        print("use case %s skipped: %s" % (a.case, e))
        return SKIP
    except Failure as e:
        print("use case %s FAILED: %s\n(work folder %s)" % (a.case, e, work))
        a.keep = True
        return 1
    finally:
        env.stop_all()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
