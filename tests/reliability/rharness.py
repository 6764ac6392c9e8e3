"""Reliability/security harness: reuses tests/integration/harness.py (daemon, dnsmasq, aiosmtpd
peers, cleanup by PID) and adds what those suites need on top of it:

- ReliabilityHarness: a daemon config with an admin token and short transport timeouts, a
  relay route per scripted peer, the admin API (message JSON as `outpost queue show --json`
  prints it) and the store consistency checker (`outpost queue check`).
- ScriptedPeer: a hostile SMTP/LMTP server in a thread of the test process (loopback only):
  hangs, drips, oversize lines, invalid replies, a drop during TLS, short LMTP answers,
  forged reply text. Every connection's transcript is kept for assertions.

Imported by tests/reliability/*.py, tests/security/*.py and tests/soak/*.py.
"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import Daemon, Harness, Peer, free_port, outpostd_binary, port_open, wait_for  # noqa: E402,F401

ADMIN_TOKEN = "rel-admin-t0ken-5ecret"
QUEUED_RE = re.compile(r"queued as ([0-9a-f]{16})")


def built_file(env_var, name):
    """A test artefact of tests/reliability: $env_var, else <OUTPOST_BINARY_DIR>/tests/reliability/name."""
    return os.environ.get(env_var) or os.path.join(os.environ.get("OUTPOST_BINARY_DIR", ""), "tests",
                                                   "reliability", name)


def cli_binary():
    """The `outpost` CLI: $OUTPOST_CLI, else <OUTPOST_BINARY_DIR>/tools/outpost/outpost."""
    return os.environ.get("OUTPOST_CLI") or os.path.join(os.environ.get("OUTPOST_BINARY_DIR", ""), "tools",
                                                         "outpost", "outpost")


def sync_fault_shim():
    return built_file("OUTPOST_SYNC_FAULT_SHIM", "libsync_fault_shim.so")


def store_check(data_dir):
    """`outpost queue check` (queue::CheckConsistency over a read-only view of a data dir):
    (exit code 0 consistent / 1 problems / 2 unreadable, report dict or None, stderr)."""
    r = subprocess.run([cli_binary(), "queue", "check", "--data-dir", data_dir, "--json"],
                       capture_output=True, text=True, timeout=60)
    report = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, report, r.stderr


def queued_id(text):
    m = QUEUED_RE.search(text)
    return m.group(1) if m else None


class Admin:
    """The admin API with (or without) a bearer token; answers (status, parsed JSON or text)."""

    def __init__(self, bind, token=ADMIN_TOKEN):
        self.base, self.token = "http://" + bind, token
        self.saw_invalid_utf8 = False

    def request(self, method, path, body=None, token=None, raw_auth=None):
        headers = {}
        tok = self.token if token is None else token
        if raw_auth is not None:
            headers["Authorization"] = raw_auth
        elif tok:
            headers["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, payload = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        try:
            return status, json.loads(payload)
        except UnicodeDecodeError:
            # Known admin JSON bug (docs/RELIABILITY.md): non-UTF-8 bytes are copied raw.
            self.saw_invalid_utf8 = True
            return status, json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            return status, payload.decode(errors="replace")

    def message(self, msg_id):
        status, body = self.request("GET", "/api/queue/messages/" + msg_id)
        return body if status == 200 else None

    def recipient(self, msg_id, address=None):
        m = self.message(msg_id)
        if not m:
            return None
        for r in m["recipients"]:
            if address is None or r["address"] == address:
                return r
        return None


class ReliabilityHarness(Harness):
    """Harness plus the admin API, short timeouts and scripted peers."""

    TIMEOUT = "2s"

    def rel_config(self, dns=None, **overrides):
        if dns is None:
            dns = "127.0.0.1:%d" % free_port()  # nothing answers: only relay routes are used
        config = self.daemon_config(dns)
        config["admin"] = {"bind": "127.0.0.1:%d" % free_port(),
                           "token": {"@type": "Value", "secret": ADMIN_TOKEN}}
        t = self.TIMEOUT
        config["connectionStrategies"] = [{
            "name": "default", "connectTimeout": t, "greetingTimeout": t, "ehloTimeout": t,
            "mailFromTimeout": t, "rcptToTimeout": t, "dataTimeout": t}]
        config["tlsStrategies"] = [{"name": "default", "startTls": "optional", "allowInvalidCerts": True,
                                    "tlsTimeout": t}]
        # Retries far apart: a test looks at the first attempt's outcome, undisturbed.
        config["schedules"] = [
            {"name": "remote", "queueId": "remote", "retry": ["1h"], "notify": ["1d"],
             "expiry": {"@type": "Ttl", "expire": "2d"}},
            {"name": "dsn", "queueId": "dsn", "retry": ["1s"],
             "expiry": {"@type": "Attempts", "maxAttempts": 10}},
        ]
        for key, value in overrides.items():
            config[key] = value
        return config

    def relay_to(self, config, name, port, host="127.0.0.1", domain=None, **route):
        """Adds a Relay route and sends `domain` (or everything non-local) through it."""
        r = {"@type": "Relay", "name": name, "address": host, "port": port, "protocol": "smtp"}
        r.update(route)
        config["routes"].append(r)
        rules = config.setdefault("strategy", {}).setdefault(
            "route", {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}], "else": "'mx'"})
        if domain is None:
            rules["else"] = "'%s'" % name
        else:
            rules["match"].insert(0, {"if": "rcpt_domain == '%s'" % domain, "then": "'%s'" % name})
        return config

    def spawn(self, d, argv, env=None):
        """Starts the daemon `d` through `argv` (a wrapper such as strace, unshare or an
        LD_PRELOAD env), waits for its listener and admin API, and returns whether it runs."""
        with open(d.log_path, "a") as log:
            d.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=self.dir, env=env)
        self.track(d.proc)
        wait_for(lambda: port_open("127.0.0.1", d.port) or d.proc.poll() is not None, 30, "outpostd")
        wait_for(lambda: d.log_lines("admin.started") or d.proc.poll() is not None, 10, "the admin API")
        return d.proc.poll() is None

    def admin(self, config):
        return Admin(config["admin"]["bind"])

    def start_daemon(self, config):
        d = self.daemon(config).start()
        wait_for(lambda: d.log_lines("admin.started"), 10, "the admin API")
        return d

    def wait_recipient(self, admin, msg_id, predicate, timeout=20, what="recipient state"):
        def probe():
            r = admin.recipient(msg_id)
            return r if r and predicate(r) else None
        return wait_for(probe, timeout, what)

    def scripted_peer(self, **behaviour):
        peer = ScriptedPeer(**behaviour)
        peer.start()
        self.addCleanup(peer.stop)
        return peer


class Transcript:
    def __init__(self):
        self.received = bytearray()  # every byte the client sent (plaintext part)
        self.sent = bytearray()
        self.closed_by_client = False
        self.lock = threading.Lock()


class ScriptedPeer:
    """A minimal SMTP (or LMTP) server on 127.0.0.1 whose answers can be hostile.

    Keyword behaviour (all optional):
      greeting: bytes sent on connect, or None to hang silently (default a 220 line).
      ehlo: bytes answering EHLO/LHLO (default a multi-line 250 with PIPELINING, 8BITMIME).
      starttls: "drop" offers STARTTLS, answers 220 and closes as soon as the ClientHello
        arrives; "inject" answers "220 go\\r\\n250 injected\\r\\n" in one segment and then
        does a real handshake (cert/key required).
      rcpt: function(address) -> reply bytes (default 250).
      data_cmd: bytes answering DATA (default 354), or "hang" (no answer).
      data_end: bytes answering the final dot, "hang" (no answer), "close".
      lmtp: answer the final dot once per accepted recipient unless lmtp_replies says how many.
      after_reply: "hang" keeps the connection open without reading further.
    Connections are served one thread each; stop() closes everything.
    """

    def __init__(self, greeting=b"220 peer.test ESMTP scripted\r\n", ehlo=None, starttls=None,
                 rcpt=None, data_cmd=b"354 go ahead\r\n", data_end=b"250 2.0.0 Ok\r\n", lmtp=False, lmtp_replies=None,
                 cert=None, key=None, host="127.0.0.1"):
        self.greeting, self.starttls, self.rcpt_fn = greeting, starttls, rcpt
        self.data_cmd = data_cmd
        self.data_end, self.lmtp, self.lmtp_replies = data_end, lmtp, lmtp_replies
        self.cert, self.key = cert, key
        caps = [b"peer.test", b"PIPELINING", b"8BITMIME", b"ENHANCEDSTATUSCODES"]
        if starttls:
            caps.insert(1, b"STARTTLS")  # never last: removed from the post-TLS list
        self.ehlo = ehlo if ehlo is not None else b"".join(
            b"250%s%s\r\n" % (b" " if i == len(caps) - 1 else b"-", c) for i, c in enumerate(caps))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.transcripts = []
        self.messages = []  # bodies received up to the final dot
        self._stop = threading.Event()
        self._conns = []

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass

    def connections(self):
        return len(self.transcripts)

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            t = Transcript()
            self.transcripts.append(t)
            threading.Thread(target=self._serve_safely, args=(conn, t), daemon=True).start()

    def _serve_safely(self, conn, t):
        try:
            self._serve(conn, t)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _hang(self):
        self._stop.wait(60)

    def _send(self, conn, t, data):
        t.sent += data
        conn.sendall(data)

    def _lines(self, conn, t, buf):
        """Yields CRLF-terminated lines (bytes, without CRLF); buf is a one-element list."""
        while True:
            while b"\r\n" in buf[0]:
                line, buf[0] = buf[0].split(b"\r\n", 1)
                yield line
            chunk = conn.recv(65536)
            if not chunk:
                t.closed_by_client = True
                return
            t.received += chunk
            buf[0] += chunk

    def _serve(self, conn, t, after_tls=False):
        if self.greeting is None:
            return self._hang()
        if not after_tls:
            self._send(conn, t, self.greeting)
        buf = [b""]
        rcpts = []
        lines = self._lines(conn, t, buf)
        for line in lines:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO", b"HELO"):
                # Under TLS the capabilities no longer offer STARTTLS.
                self._send(conn, t, self.ehlo.replace(b"250-STARTTLS\r\n", b"") if after_tls
                           else self.ehlo)
            elif verb == b"STAR" and self.starttls and not after_tls:
                return self._starttls(conn, t)
            elif verb == b"MAIL":
                rcpts = []
                self._send(conn, t, b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                addr = line.split(b":", 1)[1].strip().split(b" ")[0].strip(b"<>").decode(errors="replace")
                reply = self.rcpt_fn(addr) if self.rcpt_fn else b"250 2.1.5 Ok\r\n"
                if reply.startswith(b"2"):
                    rcpts.append(addr)
                self._send(conn, t, reply)
            elif verb == b"DATA":
                if self.data_cmd == "hang":
                    return self._hang()
                self._send(conn, t, self.data_cmd)
                body = []
                for dl in lines:
                    if dl == b".":
                        break
                    body.append(dl)
                self.messages.append(b"\r\n".join(body))
                if self.data_end == "hang":
                    return self._hang()
                if self.data_end == "close":
                    return
                if self.lmtp:
                    n = len(rcpts) if self.lmtp_replies is None else self.lmtp_replies
                    self._send(conn, t, self.data_end * n)
                    if n < len(rcpts):
                        return self._hang()
                else:
                    self._send(conn, t, self.data_end)
            elif verb == b"RSET" or verb == b"NOOP":
                self._send(conn, t, b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                self._send(conn, t, b"221 2.0.0 Bye\r\n")
                return
            else:
                self._send(conn, t, b"502 5.5.2 unknown\r\n")

    def _starttls(self, conn, t):
        if self.starttls == "drop":
            self._send(conn, t, b"220 2.0.0 go ahead\r\n")
            conn.recv(1)  # the first byte of the ClientHello: now drop the connection
            return
        # "inject": a plaintext reply glued after the 220 (CVE-2021-38371 class). A client
        # that keeps it would read it as the answer to its post-TLS EHLO.
        self._send(conn, t, b"220 2.0.0 go ahead\r\n250 2.0.0 injected-plaintext\r\n")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        tls = ctx.wrap_socket(conn, server_side=True)
        t.tls = True
        self._serve(tls, t, after_tls=True)


def smtp_dialogue(port, chunks, host="127.0.0.1", timeout=5, read_until_close=False):
    """Sends raw byte chunks to our listener, reading what comes back after each; returns
    the whole reply stream. Used for smuggling and injection probes."""
    out = b""
    with socket.create_connection((host, port), timeout=timeout) as s:
        out += _read_reply(s)
        for chunk in chunks:
            s.sendall(chunk)
            out += _read_reply(s)
        if read_until_close:
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    out += data
            except socket.timeout:
                pass
    return out


def _read_reply(s, quiet=0.15):
    """Reads until the peer has been quiet for `quiet` seconds after at least one full line."""
    data = b""
    s.settimeout(5)
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data
        if not chunk:
            return data
        data += chunk
        if data.endswith(b"\r\n"):
            s.settimeout(quiet)
