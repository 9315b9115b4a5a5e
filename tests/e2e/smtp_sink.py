#!/usr/bin/python3
"""smtp_sink.py -- a real SMTP server (aiosmtpd) on loopback that keeps every
message it is given: the peer of leadrouter's email delivery in the e2e
tests. Not a test itself.

Run (Debian's python with python3-aiosmtpd, see scripts/install-deps):

    /usr/bin/python3 tests/e2e/smtp_sink.py --port 0 --dir DIR [--refuse ADDR]... [--busy ADDR]... [--auth-in-clear]
        [--max-seconds 600]

It binds 127.0.0.1 only (--port 0: a free port, taken by the listening
socket itself, so there is no race) and, once ready, prints exactly one line
on stdout:

    smtp_sink: listening on smtp://127.0.0.1:PORT

Every message accepted is saved as DIR/NNNN.eml (0001, 0002, ...: the
message bytes as received, CRLF line ends, dot-stuffing removed; written to
a temporary name and renamed, so a reader never sees half a file), its text
as a mail client shows it as DIR/NNNN.txt (the text/plain body decoded from
its Content-Transfer-Encoding, LF line ends; written first, so it is there
once the .eml is; empty when the message has no text body), then a line is
appended to DIR/index.jsonl (flushed and fsynced):

    {"file": "0001.eml", "mail_from": "a@x.test", "rcpt_tos": ["b@y.test"],
     "subject": <decoded Subject header or null>, "at": 1712345678.123}

The .eml exists before its index line does, and the 250 reply is sent only
after both are on disk. No AUTH, no TLS: loopback tests only. A recipient
given with --refuse is answered "550 5.1.1 no such user here" at RCPT, one
given with --busy "450 4.2.1 mailbox busy, try later".
With --auth-in-clear it offers AUTH without TLS (what a careless relay, or
someone in between who strips STARTTLS, would do), takes any login, and
appends each login it saw to DIR/logins.jsonl.

Exits 0 on SIGTERM/SIGINT (within 1 s) and after --max-seconds.

Try it:
    curl -s smtp://127.0.0.1:PORT --mail-from a@x.test --mail-rcpt b@y.test -T msg.txt
"""
import argparse
import asyncio
import email.parser
import email.policy
import json
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    """The aiosmtpd handler: numbers and stores messages. Runs on the one
    event loop thread, so nothing here needs a lock."""

    def __init__(self, directory, refuse=(), busy=()):
        self.dir = directory
        self.refuse = set(refuse)
        self.busy = set(busy)
        os.makedirs(directory, exist_ok=True)
        self.n = 0
        while os.path.exists(self._path(self.n + 1)):   # a reused DIR keeps counting
            self.n += 1
        self.index = open(os.path.join(directory, "index.jsonl"), "a", encoding="utf-8")

    def _path(self, n):
        return os.path.join(self.dir, f"{n:04d}.eml")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        if address in self.busy:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Stores the message durably, then accepts it."""
        raw = envelope.original_content
        self.n += 1
        name = os.path.basename(self._path(self.n))
        try:
            msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        except Exception:               # a malformed message is still kept
            msg = None
        try:
            body = msg.get_body(("plain",)) if msg is not None else None
            text = "" if body is None else body.get_content()
        except Exception:               # ... without its text
            text = ""
        with open(self._path(self.n)[:-4] + ".txt", "w", encoding="utf-8", newline="\n") as f:
            f.write(text.replace("\r\n", "\n"))
        tmp = os.path.join(self.dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self._path(self.n))
        try:
            subject = msg["subject"] if msg is not None else None
            subject = None if subject is None else str(subject)
        except Exception:               # a malformed header is still a message kept
            subject = None
        entry = {"file": name, "mail_from": envelope.mail_from,
                 "rcpt_tos": list(envelope.rcpt_tos), "subject": subject, "at": time.time()}
        self.index.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.index.flush()
        os.fsync(self.index.fileno())
        return "250 OK message accepted"


async def serve(args):
    """Listens until a signal or --max-seconds; returns the exit status."""
    loop = asyncio.get_running_loop()
    sink = Sink(args.dir, args.refuse, args.busy)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    def login(server, session, envelope, mechanism, auth_data):
        with open(os.path.join(args.dir, "logins.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"mechanism": mechanism}) + "\n")
        return AuthResult(success=True)

    auth = {"auth_require_tls": False, "authenticator": login} if args.auth_in_clear else {}
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp-sink.test", enable_SMTPUTF8=True, loop=loop, **auth),
        host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"smtp_sink: listening on smtp://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        print("smtp_sink: --max-seconds reached, exiting", file=sys.stderr, flush=True)
    server.close()
    sink.index.close()
    return 0


def main():
    p = argparse.ArgumentParser(description="SMTP sink on loopback (tests only)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True, help="where messages are saved")
    p.add_argument("--refuse", action="append", default=[], help="a recipient answered 550")
    p.add_argument("--busy", action="append", default=[], help="a recipient answered 450")
    p.add_argument("--auth-in-clear", action="store_true", help="offer AUTH without TLS")
    p.add_argument("--max-seconds", type=float, default=600)
    return asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
