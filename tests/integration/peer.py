#!/usr/bin/python3
"""A scriptable SMTP/LMTP peer for the end-to-end tests (aiosmtpd, Debian's python3-aiosmtpd).

Saves every accepted message as <out>/<n>.eml with the envelope in X-Peer-* headers, can offer
STARTTLS and require AUTH, refuse chosen recipients, and answer 451 to the first N DATA
commands. Prints "READY <host> <port>" on stdout once listening; stops on SIGTERM.
"""
import argparse
import asyncio
import os
import signal
import ssl
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.tempfails_left = args.tempfail

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.refuse:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.tempfails_left > 0:
            self.tempfails_left -= 1
            reply = "451 4.3.0 try again later (scripted)"
            return self._per_rcpt(envelope, reply)
        self.count += 1
        path = os.path.join(self.args.out, "%06d-%d.eml" % (self.count, os.getpid()))
        head = "X-Peer-Mail-From: <%s>\r\nX-Peer-Rcpt-To: %s\r\nX-Peer-Auth: %s\r\nX-Peer-Tls: %s\r\n" % (
            envelope.mail_from.strip("<>"), ",".join(envelope.rcpt_tos),
            "yes" if getattr(session, "authenticated", False) else "no",
            "yes" if session.ssl else "no")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(tmp, path)
        if self.args.data_delay > 0:
            # The message is saved but not yet acknowledged: a sender killed now has an
            # attempt in flight that the peer already holds (a legitimate duplicate later).
            await asyncio.sleep(self.args.data_delay)
        return self._per_rcpt(envelope, "250 2.0.0 Ok: saved")

    def _per_rcpt(self, envelope, reply):
        # LMTP answers DATA once per accepted recipient (RFC 2033 §4.2).
        if self.args.lmtp:
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return check


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--auth", help="USER:PASSWORD; AUTH is then required")
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--tempfail", type=int, default=0)
    p.add_argument("--data-delay", type=float, default=0.0)
    args = p.parse_args()
    args.refuse = [a.lower() for a in args.refuse]
    host, port = args.bind.rsplit(":", 1)
    os.makedirs(args.out, exist_ok=True)
    handler = Handler(args)
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    kwargs = dict(hostname="peer-" + host, tls_context=tls, require_starttls=False)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs.update(authenticator=authenticator(user, password), auth_required=True,
                      auth_require_tls=tls is not None)
    cls = LMTP if args.lmtp else SMTP
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: cls(handler, **kwargs), host=host, port=int(port))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("READY %s %s" % (host, port), flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
