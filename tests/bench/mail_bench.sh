#!/bin/bash
# Mail costs (issue 11): the latency from the record that makes an alert fire
# (group_wait = 0s) to the SMTP server's 250, median and p99 over N alerts,
# against Debian's aiosmtpd on loopback with STARTTLS and AUTH (a test CA made
# here with openssl); then the gateway's CPU time and peak RSS reading the
# same 200,000 records (with 100 alerts among them) with [email] on and off.
# Usage: tests/bench/mail_bench.sh [BUILD_DIR] [N]   (N alerts, default 100)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-100}
gate=$build/gateway/sensorgate
py=/usr/bin/python3
work=$(mktemp -d /tmp/sensorgate-mailbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=bench CA' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
  -extfile ext.cnf 2>/dev/null
printf 'benchpass\n' > pw && chmod 600 pw

exec "$py" - "$gate" "$src/tests/integration/smtp_server.py" "$work" "$n" <<'PY'
import os, re, signal, socket, statistics, subprocess, sys, time

gate, script, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ticks = os.sysconf("SC_CLK_TCK")

def pick_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def metrics(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b: break
            data += b
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        m = re.match(r"^(sensorgate_[a-z_]+(?:\{[^}]*\})?) (\S+)$", line)
        if m: out[m.group(1)] = float(m.group(2))
    return out

def wait_for(pred, timeout, step=0.0005):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v: return v
        time.sleep(step)
    raise SystemExit("timed out")

def record(key, value):
    return ('{"sensor":"%s","data_evento":"2023-03-15T12:00:00.000000Z",'
            '"padrao":{"leitura":{"temperatura":%s}}}\n' % (key, value))

def start_gateway(name, mail, smtp_port, log_path):
    ini = os.path.join(work, name + ".ini")
    with open(ini, "w") as f:
        f.write("[gateway]\nname = bench\nstate_dir = %s/state-%s\n" % (work, name))
        f.write("[file]\npath = %s\nfrom = beginning\n" % log_path)
        f.write("[window]\nsize = 1\n[alert]\nabove = 75\nclear_below = 73\n")
        f.write("[http]\nlisten = 127.0.0.1:0\n")
        if mail:
            f.write("[email]\nurl = smtp://127.0.0.1:%d\nstarttls = required\nusername = bench\n"
                    "password_file = %s/pw\nfrom = sensorgate@bench.example\nto = ops@bench.example\n"
                    "group_wait = 0s\ngroup_interval = 0s\nmax_per_hour = 3600\nca_file = %s/ca.crt\n"
                    % (smtp_port, work, work))
    err = open(os.path.join(work, name + ".err"), "w+")
    p = subprocess.Popen([gate, "--config", ini], stderr=err, stdout=subprocess.DEVNULL)
    def port():
        err.seek(0)
        m = re.search(r"\(port (\d+)\)", err.read())
        return int(m.group(1)) if m else None
    return p, wait_for(port, 20, 0.01)

def cpu_and_hwm(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open("/proc/%d/status" % pid) as f:
        hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
    return cpu, hwm

smtp_port = pick_port()
received = os.path.join(work, "received")
srv = subprocess.Popen([sys.executable, script, "--dir", received, "--port", str(smtp_port),
                        "--tls", work + "/server.crt", work + "/server.key", "--auth", "bench:benchpass",
                        "--ready", work + "/ready"], stderr=subprocess.DEVNULL)
wait_for(lambda: os.path.exists(work + "/ready"), 20, 0.01)
rlog = os.path.join(received, "received.log")
def received_lines():
    try:
        with open(rlog) as f: return f.read().splitlines()
    except FileNotFoundError:
        return []

# The same load for both runs: 200,000 cool records over 1,000 keys, and
# 100 keys turning hot among them.
bulk = []
for i in range(200000):
    bulk.append(record("hot%d" % (i // 2000), 80) if i % 2000 == 1999 else record("k%d" % (i % 1000), 60))
bulk = "".join(bulk)
results = {}
for name, mail in (("off", False), ("on", True)):
    log_path = os.path.join(work, "in-%s.log" % name)
    open(log_path, "w").close()
    gw, http = start_gateway(name, mail, smtp_port, log_path)
    cpu0, _ = cpu_and_hwm(gw.pid)
    t0 = time.time()
    with open(log_path, "a") as f: f.write(bulk)
    wait_for(lambda: metrics(http).get("sensorgate_records_read_total", 0) >= 200000, 120, 0.05)
    if mail:
        wait_for(lambda: (lambda m: m.get("sensorgate_mail_queued", 1) == 0 and m.get("sensorgate_mail_sent_total", 0) > 0)(metrics(http)), 120, 0.05)
    t1 = time.time()
    cpu1, hwm = cpu_and_hwm(gw.pid)
    results[name] = (cpu1 - cpu0, hwm, t1 - t0, metrics(http).get("sensorgate_mail_sent_total", 0))
    if mail:
        # Latency: one alert at a time, from the append of its record to the
        # server's timestamp of the 250 (both on this machine's clock).
        base = len(received_lines())
        lat = []
        for i in range(n):
            t_write = time.time()
            with open(log_path, "a") as f: f.write(record("lat%d" % i, 90))
            lines = wait_for(lambda: (lambda l: l if len(l) > base + i else None)(received_lines()), 30)
            lat.append((float(lines[base + i].split()[0]) - t_write) * 1000)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(round(0.99 * len(lat))) - 1)]
        print("latency record -> 250 over %d alerts (STARTTLS + AUTH, loopback): median %.1f ms, p99 %.1f ms, "
              "min %.1f ms, max %.1f ms" % (n, statistics.median(lat), p99, lat[0], lat[-1]))
    gw.send_signal(signal.SIGTERM); gw.wait(30)
srv.send_signal(signal.SIGTERM); srv.wait(30)
for name in ("off", "on"):
    cpu, hwm, secs, sent = results[name]
    print("mail %-3s: 200,000 records with 100 alerts: %.2f CPU s, peak RSS %d KiB, %.2f s until read (mail on: and every mail sent)%s"
          % (name, cpu, hwm, secs, (", %d mails sent" % sent) if name == "on" else ""))
PY
