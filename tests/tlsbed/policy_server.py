#!/usr/bin/python3
"""HTTPS server of the TLS policy test bed.

GET /.well-known/mta-sts.txt serves www/<host>/mta-sts.txt, the host taken from the Host header
minus the "mta-sts." prefix and any port; the file is read on every request so a test can edit
it. POST /tlsrpt stores the body (a TLS-RPT report) in the tlsrpt directory and answers 201.
"""
import argparse
import http.server
import os
import ssl
import time


def make_handler(www, tlsrpt):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def _send(self, code, body=b"", ctype="text/plain"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else host
            path = os.path.join(www, os.path.basename(domain), "mta-sts.txt")
            if self.path != "/.well-known/mta-sts.txt" or not domain or not os.path.isfile(path):
                self._send(404, b"not found\n")
                return
            with open(path, "rb") as f:
                self._send(200, f.read())

        def do_POST(self):
            if self.path != "/tlsrpt":
                self._send(404, b"not found\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 10 * 1024 * 1024))
            name = "%d-%d.report" % (time.time_ns(), os.getpid())
            with open(os.path.join(tlsrpt, name), "wb") as f:
                f.write(body)
            self._send(201, b"stored\n")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--www", required=True)
    p.add_argument("--tlsrpt", required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer((a.ip, a.port), make_handler(a.www, a.tlsrpt))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                    do_handshake_on_connect=False)
    server.serve_forever()


if __name__ == "__main__":
    main()
