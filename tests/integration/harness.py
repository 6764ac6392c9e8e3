"""End-to-end harness: starts the real outpostd and real peers on loopback, cleans up by PID.

Peers: dnsmasq (authoritative for *.test on 127.0.0.1:<free port>; Outpost's dns.servers point
at it), aiosmtpd (peer.py: SMTP/LMTP, STARTTLS, AUTH, scripted refusals), Postfix's smtp-sink.
MX hosts listen on 127.0.10.x port 25 (the tests run as root). Nothing waits on fixed sleeps:
every wait polls a condition up to a deadline.
"""
import email
import email.policy
import glob
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's, which has python3-aiosmtpd
DNSMASQ = "/usr/sbin/dnsmasq"
SMTP_SINK = "/usr/sbin/smtp-sink"


def outpostd_binary():
    path = os.environ.get("OUTPOSTD")
    if not path:
        build = os.environ.get("OUTPOST_BINARY_DIR", "")
        path = os.path.join(build, "tools", "outpostd", "outpostd")
    return path


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Peer:
    """An aiosmtpd peer (peer.py); messages land in self.out as <n>.eml files."""

    def __init__(self, proc, host, port, out):
        self.proc, self.host, self.port, self.out = proc, host, port, out

    def messages(self):
        found = []
        for path in sorted(glob.glob(os.path.join(self.out, "*.eml"))):
            with open(path, "rb") as f:
                found.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return found

    def message_ids(self):
        return [m["Message-ID"] for m in self.messages()]

    def arrivals(self):
        """(time saved, Message-ID) per message file."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.out, "*.eml"))):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            out.append((os.stat(path).st_mtime, msg["Message-ID"]))
        return out


class Daemon:
    def __init__(self, harness, config_path, log_path, port):
        self.harness, self.config_path, self.log_path, self.port = harness, config_path, log_path, port
        self.proc = None

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def log_lines(self, event):
        return [l for l in self.log().splitlines() if (" %s " % event) in l]

    def deliveries(self, **fields):
        """The scheduler's `delivery` lines whose fields all match."""
        out = []
        for line in self.log_lines("delivery"):
            kv = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line))
            kv = {k: v.strip('"') for k, v in kv.items()}
            if all(kv.get(k) == v for k, v in fields.items()):
                out.append(kv)
        return out

    def start(self):
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([outpostd_binary(), "--config", self.config_path],
                                         stdout=log, stderr=log, cwd=self.harness.dir)
        self.harness.track(self.proc)
        wait_for(lambda: port_open("127.0.0.1", self.port) or self.proc.poll() is not None,
                 20, "outpostd to listen on %d" % self.port)
        if self.proc.poll() is not None:
            raise AssertionError("outpostd exited with %s:\n%s" % (self.proc.returncode, self.log()))
        return self

    def signal(self, signo):
        os.kill(self.proc.pid, signo)

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        """SIGTERM, then the exit status."""
        self.signal(signal.SIGTERM)
        return self.proc.wait(30)

    def send(self, sender, rcpts, message_id, subject="e2e", body="hello\r\n", timeout=10):
        """One SMTP transaction; returns the data reply (code, text)."""
        msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n\r\n%s" %
               (sender, ", ".join("<%s>" % r for r in rcpts), subject, message_id, body))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=timeout) as s:
            s.ehlo("client.test")
            code, text = s.mail(sender)
            if code != 250:
                return code, text.decode()
            for r in rcpts:
                s.rcpt(r)
            code, text = s.data(msg.encode())
            return code, text.decode()


class Harness(unittest.TestCase):
    """Base class: a temp dir, process tracking and cleanup by PID."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="outpost-e2e-")
        self._procs = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for proc in reversed(self._procs):
            if proc.stdout:
                proc.stdout.close()
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                    proc.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.kill(proc.pid, signal.SIGKILL)
                        proc.wait(5)
                    except ProcessLookupError:
                        pass
        if os.environ.get("OUTPOST_E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def track(self, proc):
        self._procs.append(proc)
        return proc

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # ---- peers ----
    def start_dns(self, mx=(), hosts=(), null_mx=()):
        """dnsmasq authoritative for .test: mx = [(domain, host, pref)], hosts = [(name, ip)]."""
        port = free_port()
        args = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
                "--port=%d" % port, "--user=root", "--group=root", "--local=/test/",
                "--pid-file=" + self.path("dnsmasq.pid"), "--log-facility=" + self.path("dnsmasq.log")]
        for domain, host, pref in mx:
            args.append("--mx-host=%s,%s,%d" % (domain, host, pref))
        for name, ip in hosts:
            args.append("--host-record=%s,%s" % (name, ip))
        for domain in null_mx:
            args.append("--dns-rr=%s,15,000000" % domain)  # RFC 7505: MX 0 "."
        self.track(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: self._dns_ready(port), 10, "dnsmasq on %d" % port)
        return "127.0.0.1:%d" % port

    @staticmethod
    def _dns_ready(port):
        # A minimal query for "ready.test" A; any answer means dnsmasq is serving.
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ready\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(q, ("127.0.0.1", port))
                return len(s.recv(512)) > 0
            except OSError:
                return False

    def start_peer(self, host, port=25, name=None, **opts):
        out = self.path("peer-%s" % (name or "%s-%d" % (host, port)))
        args = [PYTHON, os.path.join(HERE, "peer.py"), "--bind", "%s:%d" % (host, port), "--out", out]
        for key, value in opts.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                args.append(flag)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    args += [flag, str(v)]
            else:
                args += [flag, str(value)]
        with open(out + ".log", "w") as log:
            proc = self.track(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log))
        line = proc.stdout.readline().decode()
        proc.stdout.close()
        if not line.startswith("READY"):
            raise AssertionError("peer %s:%d did not start: %r" % (host, port, line))
        return Peer(proc, host, port, out)

    def start_smtp_sink(self, host, port=25):
        """Postfix's smtp-sink; every transaction is dumped to a file under the returned dir."""
        out = self.path("sink-%s-%d" % (host, port))
        os.makedirs(out)
        self.track(subprocess.Popen([SMTP_SINK, "-u", "root", "-d", out + "/msg.", "%s:%d" % (host, port), "64"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: port_open(host, port), 10, "smtp-sink on %s:%d" % (host, port))
        return out

    def make_cert(self, cn):
        cert, key = self.path(cn + ".crt"), self.path(cn + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=" + cn], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cert, key

    # ---- the daemon ----
    def daemon_config(self, dns, **overrides):
        """A test config: local domain local.test, fast retries, MX for the rest."""
        port = free_port()
        config = {
            "server": {"hostname": "outpost.test", "dataDir": self.path("data")},
            "listeners": [{"name": "smtp", "bind": "127.0.0.1:%d" % port,
                           "relayNetworks": ["127.0.0.0/8"]}],
            "admin": {"bind": "127.0.0.1:%d" % free_port()},
            "dns": {"servers": [dns], "timeout": "2s"},
            "localDomains": ["local.test"],
            "local": {"maildirRoot": self.path("mail")},
            "queue": {"minFreeSpace": "1MB"},
            "routes": [{"@type": "Local", "name": "local"}, {"@type": "Mx", "name": "mx"}],
            "schedules": [
                {"name": "remote", "queueId": "remote", "retry": ["1s"], "notify": ["1h"],
                 "expiry": {"@type": "Ttl", "expire": "1h"}},
                {"name": "dsn", "queueId": "dsn", "retry": ["1s"],
                 "expiry": {"@type": "Attempts", "maxAttempts": 10}},
            ],
        }
        for key, value in overrides.items():
            config[key] = value
        return config

    def write_config(self, config, name="outpost.json"):
        path = self.path(name)
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        return path

    def daemon(self, config):
        path = self.write_config(config)
        port = int(config["listeners"][0]["bind"].rsplit(":", 1)[1])
        return Daemon(self, path, self.path("outpostd.log"), port)
