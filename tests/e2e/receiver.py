#!/usr/bin/python3
"""receiver.py -- a webhook receiver on loopback, the peer of leadrouter's
webhook delivery in the e2e tests. Not a test itself.

Run (Debian's python, standard library only):

    /usr/bin/python3 tests/e2e/receiver.py --port 0 --log FILE --secret SECRET \
        [--mode ok] [--control] [--max-seconds 600]

It binds 127.0.0.1 only (--port 0: a free port) and, once ready, prints
exactly one line on stdout:

    receiver: listening on http://127.0.0.1:PORT

Every POST (any path) is appended to FILE as one JSON line (flushed, that
is handed to the kernel, before the answer is sent):

    {"path": "/hook", "delivery": <Leadrouter-Delivery header or null>,
     "batch": <Leadrouter-Batch header or null>,
     "signature": <Leadrouter-Signature header or null>,
     "valid": true|false|null, "body": <body as JSON, or the raw string>,
     "mode": "ok", "at": 1712345678.123}

"valid" is the documented receiver's check: the header is
"t=T,v1=HEX[,v1=HEX...]"; expected = hex(HMAC-SHA256(secret,
"T." + raw body)); valid when some v1 equals it (hmac.compare_digest) and
|now - T| <= 300 s. null when --secret was not given; false when the header
is missing or malformed. The secret is used as its UTF-8 bytes.

Modes (the answer to a POST; the request is logged in every mode):
    ok        200 {"ok":true}
    fail      500 {"ok":false}
    gone      410 {"ok":false} (a permanent error)
    throttle  429 with Retry-After: 1
    hang      reads the body, then waits 60 s before answering (200), or
              until PUT /_release (503)
    reset     reads the body, then closes the socket with an RST (SO_LINGER 0)
    slow      waits 0.5 s, then 200 {"ok":true}
    slow_gone waits 1 s, then 410 {"ok":false}
    short_ok  200 with Content-Length: 100, sends 2 bytes of it and closes
    short_gone  the same with 410
    endless   200 with a chunked body that never ends (until the client
              goes, or 60 s)
    throttle_huge  503 with Retry-After: 9300000000000000
    throttle_overflow  503 with Retry-After: 99999999999999999999 (more
              than libcurl reads)
    moved     301 to https://crm.example.com/new-hook, no body
    moved_here  302 to /moved?tok=abc (relative: on this host), no body
    moved_far   301 to https://crm.example.com/ and 500 x's, no body
    past599   600 {"ok":false} (no HTTP status: not one to retry)
    hold_gone waits until PUT /_release (60 s at most), then 410 {"ok":false}

With --control:
    PUT /_mode/NAME   switches the mode (204; 400 for an unknown mode)
    PUT /_release     every hanging request, now and from then on, answers
                      503 at once (204)
    GET /_count       {"requests": N, "valid": N, "distinct_deliveries": N}
                      (deliveries: Leadrouter-Delivery ids, and the ids in
                      the array of a batch)
Control requests are not logged.

Exits 0 on SIGTERM/SIGINT (within 1 s) and after --max-seconds.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "fail", "gone", "past599", "throttle", "hang", "reset", "slow", "slow_gone",
         "short_ok", "short_gone", "endless", "throttle_huge", "hold_gone", "throttle_overflow",
         "moved", "moved_here", "moved_far")
TOLERANCE_S = 300
HANG_S = 60
SLOW_S = 0.5


def signature_valid(secret, header, raw, now):
    """Whether HEADER ("t=T,v1=HEX[,v1=...]") signs RAW with SECRET, T
    within TOLERANCE_S of NOW. None when no secret was given."""
    if secret is None:
        return None
    if not header:
        return False
    t = None
    sigs = []
    for item in header.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if t is not None or not (val.isascii() and val.isdigit()):
                return False
            t = int(val)
        elif key == "v1":
            sigs.append(val)
    if t is None or not sigs or abs(now - t) > TOLERANCE_S:
        return False
    mac = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    ok = False
    for s in sigs:          # compare with every v1, no early exit
        ok |= hmac.compare_digest(mac, s)
    return ok


class State:
    """What the handler threads share; every field under `lock`."""

    def __init__(self, log_path, secret, mode, control):
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8")
        self.secret = secret
        self.mode = mode
        self.control = control
        self.requests = 0
        self.valid = 0
        self.deliveries = set()
        self.stop = threading.Event()
        self.release = threading.Event()

    def record(self, entry):
        """Appends ENTRY as one durable JSON line and counts it."""
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.lock:
            if self.log.closed:         # shutting down
                return
            self.log.write(line)
            self.log.flush()            # in the kernel before the answer: readers
                                        # see it (no fsync: a disk stall would
                                        # outlast the sender's timeout)
            self.requests += 1
            if entry["valid"] is True:
                self.valid += 1
            if entry["delivery"] is not None:
                self.deliveries.add(entry["delivery"])
            elif isinstance(entry["body"], list):       # a batch: the ids are inside
                for item in entry["body"]:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        self.deliveries.add(item["id"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive; every answer has a length
    server_version = "receiver.py"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def read_body(self):
        """The request body: Content-Length or chunked. None when malformed
        (the connection is then closed)."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass                    # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)         # the chunk's CRLF
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, body=b"", headers=()):
        """Sends STATUS with BODY (JSON) and extra HEADERS; a client that is
        gone is not an error here."""
        try:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def short(self, status):
        """Sends STATUS announcing a 100-byte body, 2 bytes of it, and closes."""
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"ok")
            self.wfile.flush()
        except OSError:
            pass

    def endless(self):
        """Sends 200 and a chunked body without end, until the client goes."""
        self.close_connection = True
        st = self.server.state
        end = time.monotonic() + HANG_S
        chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
        try:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while not st.stop.is_set() and time.monotonic() < end:
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            pass

    def reset(self):
        """Closes the connection abruptly: RST, no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())  # detached: nothing touches the fd again
        except OSError:
            pass

    def do_POST(self):
        st = self.server.state
        raw = self.read_body()
        if raw is None:
            self.close_connection = True
            self.answer(400, b'{"ok":false}')
            return
        now = time.time()
        with st.lock:
            mode = st.mode
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        sig = self.headers.get("Leadrouter-Signature")
        st.record({
            "path": self.path,
            "delivery": self.headers.get("Leadrouter-Delivery"),
            "batch": self.headers.get("Leadrouter-Batch"),
            "signature": sig,
            "valid": signature_valid(st.secret, sig, raw, int(now)),
            "body": body,
            "mode": mode,
            "at": now,
        })
        if mode == "ok":
            self.answer(200, b'{"ok":true}')
        elif mode == "fail":
            self.answer(500, b'{"ok":false}')
        elif mode == "gone":
            self.answer(410, b'{"ok":false}')
        elif mode == "past599":
            self.answer(600, b'{"ok":false}')
        elif mode == "throttle":
            self.answer(429, b'{"ok":false}', [("Retry-After", "1")])
        elif mode == "hold_gone":
            end = time.monotonic() + HANG_S
            while not (st.stop.is_set() or st.release.is_set()) and time.monotonic() < end:
                st.stop.wait(0.05)
            self.answer(410, b'{"ok":false}')
        elif mode == "hang":
            end = time.monotonic() + HANG_S
            while not (st.stop.is_set() or st.release.is_set()) and time.monotonic() < end:
                st.stop.wait(0.05)
            if st.stop.is_set():
                self.reset()
            elif st.release.is_set():
                self.answer(503, b'{"ok":false}')
            else:
                self.answer(200, b'{"ok":true}')
        elif mode == "reset":
            self.reset()
        elif mode == "slow":
            st.stop.wait(SLOW_S)
            self.answer(200, b'{"ok":true}')
        elif mode == "slow_gone":
            st.stop.wait(1.0)
            self.answer(410, b'{"ok":false}')
        elif mode == "short_ok":
            self.short(200)
        elif mode == "short_gone":
            self.short(410)
        elif mode == "endless":
            self.endless()
        elif mode == "throttle_huge":
            self.answer(503, b'{"ok":false}', [("Retry-After", "9300000000000000")])
        elif mode == "throttle_overflow":
            self.answer(503, b'{"ok":false}', [("Retry-After", "99999999999999999999")])
        elif mode == "moved":
            self.answer(301, b'', [("Location", "https://crm.example.com/new-hook")])
        elif mode == "moved_here":
            self.answer(302, b'', [("Location", "/moved?tok=abc")])
        elif mode == "moved_far":
            self.answer(301, b'', [("Location", "https://crm.example.com/" + "x" * 500)])

    def do_PUT(self):
        st = self.server.state
        if st.control and self.path == "/_release":
            self.read_body()
            st.release.set()
            self.answer(204)
            return
        if not st.control or not self.path.startswith("/_mode/"):
            self.read_body()
            self.answer(405, b'{"ok":false}', [("Allow", "POST")])
            return
        self.read_body()
        mode = self.path[len("/_mode/"):]
        if mode not in MODES:
            self.answer(400, json.dumps({"error": "unknown mode", "modes": MODES}).encode())
            return
        with st.lock:
            st.mode = mode
        self.answer(204)

    def do_GET(self):
        st = self.server.state
        if not st.control or self.path != "/_count":
            self.answer(404, b'{"ok":false}')
            return
        with st.lock:
            counts = {"requests": st.requests, "valid": st.valid,
                      "distinct_deliveries": len(st.deliveries)}
        self.answer(200, json.dumps(counts).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True               # a hanging handler never delays exit
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """Clients that vanish (timeouts, resets) are expected here."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser(description="webhook receiver on loopback (tests only)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True, help="JSON lines file, appended to")
    p.add_argument("--secret", help="signing secret; without it 'valid' is null")
    p.add_argument("--mode", choices=MODES, default="ok")
    p.add_argument("--control", action="store_true", help="enable PUT /_mode/NAME and GET /_count")
    p.add_argument("--max-seconds", type=float, default=600)
    a = p.parse_args()

    state = State(a.log, a.secret, a.mode, a.control)
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = state
    signal.signal(signal.SIGTERM, lambda *_: state.stop.set())
    signal.signal(signal.SIGINT, lambda *_: state.stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    print(f"receiver: listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)

    deadline = time.monotonic() + a.max_seconds
    while not state.stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            print("receiver: --max-seconds reached, exiting", file=sys.stderr, flush=True)
            break
        state.stop.wait(min(left, 0.2))
    state.stop.set()                    # wakes hanging handlers
    srv.shutdown()
    srv.server_close()
    with state.lock:
        state.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
