#!/usr/bin/python3
"""A real SMTP server for sensorgate's mail tests: Debian's aiosmtpd.

Run with /usr/bin/python3 (python3-aiosmtpd). Listens on 127.0.0.1:PORT and
writes each message it accepts to DIR/NNNN.eml (atomically), and one line per
message to DIR/received.log: "<unix time of the 250> <Message-ID>".

  --port N            the port (pick a free one with --pick-port first)
  --tls CERT KEY      offer STARTTLS with this certificate (smtp://)
  --smtps             TLS from the first byte (smtps://), with --tls's pair
  --no-starttls       do not offer STARTTLS even with --tls
  --auth USER:PASS    offer AUTH PLAIN/LOGIN (after STARTTLS when --tls) and
                      require it before MAIL
  --reject-rcpt ADDR  answer 550 to RCPT TO:<ADDR>
  --silent            accept TCP connections and never say a word
  --ready FILE        written once listening

  --pick-port         print a free TCP port of 127.0.0.1 and exit
  --parse FILE.eml    print the message's headers and body as JSON and exit
"""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def parse(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    headers = [[k, str(v)] for k, v in msg.items()]
    raw_names = []
    with open(path, "rb") as f:
        head = f.read().split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line and line[:1] not in (b" ", b"\t"):
            raw_names.append(line.split(b":", 1)[0].decode("ascii", "replace"))
    body = msg.get_content()
    print(json.dumps({"headers": headers, "raw_header_names": raw_names, "body": body,
                      "defects": [str(d) for d in msg.defects]}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2)
    ap.add_argument("--smtps", action="store_true")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--reject-rcpt", action="append", default=[])
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--pick-port", action="store_true")
    ap.add_argument("--parse")
    a = ap.parse_args()

    if a.pick_port:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
        return
    if a.parse:
        parse(a.parse)
        return

    if a.dir:
        os.makedirs(a.dir, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def ready():
        if a.ready:
            with open(a.ready + ".tmp", "w") as f:
                f.write(str(a.port))
            os.rename(a.ready + ".tmp", a.ready)

    if a.silent:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", a.port))
        srv.listen(16)
        srv.settimeout(0.2)
        held = []
        ready()
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)  # never answered
            except socket.timeout:
                pass
        return

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # not its deprecation notices
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    os.makedirs(a.dir, exist_ok=True)
    counter = [len([n for n in os.listdir(a.dir) if n.endswith(".eml")])]
    lock = threading.Lock()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in a.reject_rcpt:
                return "550 5.1.1 <%s>: recipient rejected" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogateescape")
            msg = email.message_from_bytes(data, policy=email.policy.compat32)
            with lock:
                counter[0] += 1
                name = os.path.join(a.dir, "%06d.eml" % counter[0])
                with open(name + ".tmp", "wb") as f:
                    f.write(data)
                # The log line first: whoever sees the .eml finds its line.
                with open(os.path.join(a.dir, "received.log"), "a") as f:
                    f.write("%.6f %s\n" % (time.time(), msg.get("Message-ID", "")))
                os.rename(name + ".tmp", name)
            return "250 OK: queued"

    ctx = None
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])

    authenticator = None
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
                auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

    kwargs = dict(hostname="127.0.0.1", port=a.port, server_hostname="localhost",
                  ready_timeout=10.0, decode_data=False, enable_SMTPUTF8=True)
    if a.smtps:
        kwargs["ssl_context"] = ctx
    elif ctx is not None and not a.no_starttls:
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = True
    if authenticator is not None:
        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # With --smtps the whole session is TLS already (aiosmtpd does not see it).
        kwargs["auth_require_tls"] = ctx is not None and not a.no_starttls and not a.smtps
    controller = Controller(Handler(), **kwargs)
    controller.start()
    ready()
    while not stop.is_set():
        stop.wait(0.2)
    controller.stop()


if __name__ == "__main__":
    main()
