#!/usr/bin/python3
"""STARTTLS SMTP sink of the TLS policy test bed (aiosmtpd, run by /usr/bin/python3).

Accepts every message and writes it to <mail>/<time>-<name>.eml with an X-Testbed-TLS header
naming the TLS version and cipher (or "none"), so a test can tell how it was delivered.
"""
import argparse
import os
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, name, mail):
        self.name = name
        self.mail = mail

    async def handle_DATA(self, server, session, envelope):
        tls = "none"
        if session.ssl:
            cipher = session.ssl.get("cipher") if isinstance(session.ssl, dict) else None
            tls = " ".join(str(x) for x in cipher[:2]) if cipher else "yes"
        path = os.path.join(self.mail, "%d-%s.eml" % (time.time_ns(), self.name))
        with open(path, "wb") as f:
            f.write(("X-Testbed-TLS: %s\r\nX-Testbed-Rcpt: %s\r\n"
                     % (tls, ",".join(envelope.rcpt_tos))).encode())
            f.write(envelope.original_content or b"")
        return "250 OK queued by %s" % self.name


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mail", required=True)
    a = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    controller = Controller(Sink(a.name, a.mail), hostname=a.ip, port=a.port,
                            server_hostname=a.name, tls_context=ctx, require_starttls=False)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
