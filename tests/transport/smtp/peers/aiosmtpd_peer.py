#!/usr/bin/python3
"""A real SMTP/LMTP peer for the integration tests, built on Debian's python3-aiosmtpd.

Listens on 127.0.0.1:PORT, prints READY once listening, and appends one JSON line per
accepted message to --record: {"from", "to", "tls", "auth", "data"}.
Run with /usr/bin/python3 (the system interpreter that has aiosmtpd).
"""
import argparse
import asyncio
import json
import signal
import ssl
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--record", required=True)
    p.add_argument("--auth", help="user:password accepted by AUTH")
    p.add_argument("--no-plain", action="store_true", help="offer AUTH LOGIN only")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls-max-1-1", action="store_true",
                   help="offer STARTTLS but only speak TLS <= 1.1 (handshake fails)")
    p.add_argument("--refuse-rcpt", action="append", default=[],
                   help="address refused with 550 at RCPT")
    p.add_argument("--defer-after-data", action="append", default=[],
                   help="LMTP: address answered 452 after the final dot")
    return p.parse_args()


class Handler:
    def __init__(self, args):
        self.args = args

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.refuse_rcpt:
            return "550 5.1.1 <%s>: recipient refused" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(self.args.record, "a") as f:
            f.write(json.dumps({
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "auth": session.authenticated is True,
                "data": envelope.content.decode("utf-8", "replace"),
            }) + "\n")
        if not self.args.lmtp:
            return "250 2.0.0 OK: queued"
        # LMTP (RFC 2033): one reply per accepted recipient, in order.
        lines = []
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.args.defer_after_data:
                lines.append("452 4.2.2 <%s>: mailbox full" % rcpt)
            else:
                lines.append("250 2.0.0 <%s>: delivered" % rcpt)
        return "\r\n".join(lines)


def main():
    args = parse_args()
    tls_context = None
    if args.cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.cert, args.key)
        if args.tls_max_1_1:
            tls_context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            tls_context.maximum_version = ssl.TLSVersion.TLSv1_1

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not args.auth:
            return AuthResult(success=False)
        user, password = args.auth.split(":", 1)
        ok = (auth_data.login.decode() == user and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)

    handler = Handler(args)
    cls = LMTP if args.lmtp else SMTP
    kwargs = dict(hostname="peer.test", tls_context=tls_context)
    if args.auth:
        kwargs.update(authenticator=authenticator, auth_require_tls=False)
        if args.no_plain:
            kwargs.update(auth_exclude_mechanism=["PLAIN"])

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: cls(handler, **kwargs), host="127.0.0.1", port=args.port))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    print("READY", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
