#!/usr/bin/python3
"""Local receivers for the alerting tests: every request or message is
appended to a JSON-lines log, and the port is written to a file once the
server listens (127.0.0.1, an ephemeral port).

  alert_sinks.py http LOG PORTFILE    webhook receiver / fake Telegram Bot API
  alert_sinks.py smtp LOG PORTFILE    SMTP sink (aiosmtpd)

The HTTP server records method, path, headers and body. It is steered by
files next to LOG: LOG.slow (sleep that many seconds before answering),
LOG.fail (answer that HTTP status). A request is logged as "begin" before
any sleep and as a full record once answered, so a test sees both; one
whose sleep was cut short by removing LOG.slow (its client is gone: the
test killed it) is logged as "late", not as a request.
"""
import json
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def append(log, rec):
    with open(log, "a") as f:
        f.write(json.dumps(rec) + "\n")


def write_port(portfile, port):
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, portfile)


def serve_http(log, portfile):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            append(log, {"event": "begin", "path": self.path})
            late = False
            try:
                with open(log + ".slow") as f:
                    until = time.monotonic() + float(f.read().strip() or "0")
                while time.monotonic() < until:
                    if not os.path.exists(log + ".slow"):
                        late = True
                        break
                    time.sleep(0.05)
            except FileNotFoundError:
                pass
            status = 200
            try:
                with open(log + ".fail") as f:
                    status = int(f.read().strip() or "503")
            except FileNotFoundError:
                pass
            rec = {"event": "request", "method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                   "status": status}
            reply = b'{"ok":true,"result":{}}' if status == 200 else b'{"ok":false,"description":"fail"}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:
                late = True
            if late:
                rec["event"] = "late"  # its client went away (killed)
            append(log, rec)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    write_port(portfile, srv.server_address[1])
    srv.serve_forever()


def serve_smtp(log, portfile):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            append(log, {"event": "mail", "from": envelope.mail_from, "to": envelope.rcpt_tos,
                         "data": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    write_port(portfile, port)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("http", "smtp"):
        sys.exit("usage: alert_sinks.py http|smtp LOG PORTFILE")
    (serve_http if sys.argv[1] == "http" else serve_smtp)(sys.argv[2], sys.argv[3])
