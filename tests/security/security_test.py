"""Security tests against the real outpostd on loopback (tests/reliability/rharness.py, which
reuses tests/integration/harness.py). Past MTA vulnerabilities as test cases
(reference/reliability.md C.4): open relay, AUTH before TLS, admin API without a valid token,
SMTP smuggling, STARTTLS command/response injection (CVE-2011-0411, CVE-2021-38371), header
injection through envelope addresses, Maildir path traversal, hostile peer replies stored in
the queue (CVE-2020-8794), secrets in logs.

Each class is one ctest (tests/security/CMakeLists.txt).
"""
import base64
import glob
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reliability"))

from rharness import ADMIN_TOKEN, ReliabilityHarness, free_port, queued_id, smtp_dialogue, wait_for  # noqa: E402

RELAY_PASSWORD = "relay-pa55word-never-logged"
USER_PASSWORD = "listener-pa55word-never-logged"


def codes(stream):
    """Reply codes of the final line of every reply in a byte stream."""
    out = []
    for line in stream.split(b"\r\n"):
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" ":
            out.append(int(line[:3]))
    return out


class NoOpenRelay(ReliabilityHarness):
    def test_untrusted_unauthenticated_client_cannot_relay(self):
        config = self.rel_config()
        config["listeners"][0]["relayNetworks"] = ["10.0.0.0/8"]  # 127.0.0.1 is untrusted
        d = self.start_daemon(config)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("spammer@evil.test")[0], 250)
            code, text = s.rcpt("victim@remote.test")
            self.assertGreaterEqual(code, 500, text)
            self.assertLess(code, 600, text)
            code, text = s.rcpt("victim@[127.0.0.1]")
            self.assertGreaterEqual(code, 500, text)
            # A local domain is accepted from anyone.
            self.assertEqual(s.rcpt("alice@local.test")[0], 250)
        # Source-routed and double-@ forms do not sneak through either. (The percent hack,
        # <victim%remote.test@local.test>, is a local part of a local domain here: never relayed.)
        for rcpt in ("<@local.test:victim@remote.test>", "<victim@remote.test@local.test>"):
            with self.subTest(rcpt=rcpt):
                out = smtp_dialogue(d.port, [b"EHLO c.test\r\n", b"MAIL FROM:<s@evil.test>\r\n",
                                             b"RCPT TO:" + rcpt.encode() + b"\r\n", b"QUIT\r\n"])
                rcpt_code = codes(out)[3]
                if rcpt_code == 250:
                    self.fail("accepted %s: %r" % (rcpt, out))
        self.assertEqual(d.stop(), 0)


class AuthBeforeTls(ReliabilityHarness):
    def test_auth_is_refused_before_starttls(self):
        cert, key = self.make_cert("mx.outpost.test")
        h = subprocess.run([os.environ.get("OUTPOST_CLI", "outpost"), "passwd"], input=USER_PASSWORD + "\n",
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(h.returncode, 0, h.stderr)
        config = self.rel_config()
        config["listeners"][0].update({"tls": {"certFile": cert, "keyFile": key}, "relayNetworks": [],
                                       "users": [{"name": "alice", "passwordHash": h.stdout.strip()}]})
        d = self.start_daemon(config)
        plain = base64.b64encode(b"\0alice\0" + USER_PASSWORD.encode())
        out = smtp_dialogue(d.port, [b"EHLO c.test\r\n", b"AUTH PLAIN " + plain + b"\r\n",
                                     b"AUTH LOGIN\r\n", b"QUIT\r\n"])
        ehlo = out.split(b"\r\n")
        self.assertFalse(any(l[4:].startswith(b"AUTH") for l in ehlo[1:] if l[:4] == b"250-" or l[:4] == b"250 "),
                         "AUTH advertised before TLS: %r" % out)
        c = codes(out)
        self.assertTrue(500 <= c[2] < 600, out)  # AUTH PLAIN refused
        self.assertTrue(500 <= c[3] < 600, out)  # AUTH LOGIN refused (no 334 challenge)
        # After STARTTLS the same credentials work, and a wrong password is refused.
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("c.test")
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("alice", "wrong-" + USER_PASSWORD)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("c.test")
            self.assertEqual(s.login("alice", USER_PASSWORD)[0], 235)
        self.assertEqual(d.stop(), 0)
        self.assertNotIn(USER_PASSWORD, d.log())
        self.assertNotIn(plain.decode(), d.log())


class AdminTokens(ReliabilityHarness):
    ENDPOINTS = [
        ("GET", "/api/queue/messages"), ("GET", "/api/queue/messages/0123456789abcdef"),
        ("GET", "/api/queue/stats"), ("POST", "/api/queue/retry"), ("POST", "/api/queue/replay"),
        ("POST", "/api/queue/hold"), ("POST", "/api/queue/release"), ("POST", "/api/queue/cancel"),
        ("POST", "/api/queue/suspend"), ("POST", "/api/queue/resume"), ("POST", "/api/messages"),
        ("POST", "/api/route/explain"), ("GET", "/metrics"), ("GET", "/no/such/path"),
        ("DELETE", "/api/queue/messages/0123456789abcdef"),
    ]
    BAD_AUTH = [None, "", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + ADMIN_TOKEN + "x",
                "Bearer " + ADMIN_TOKEN[:-1], "bearer" + ADMIN_TOKEN, "Basic " + ADMIN_TOKEN,
                "Bearer  " + ADMIN_TOKEN + " extra", ADMIN_TOKEN]

    def test_every_endpoint_refuses_missing_or_wrong_tokens(self):
        config = self.rel_config()
        d = self.start_daemon(config)
        admin = self.admin(config)
        body = {"ids": ["0123456789abcdef"]}
        for method, path in self.ENDPOINTS:
            for auth in self.BAD_AUTH:
                with self.subTest(method=method, path=path, auth=auth):
                    if auth is None:
                        status, _ = admin.request(method, path, body if method == "POST" else None, token="")
                    else:
                        status, _ = admin.request(method, path, body if method == "POST" else None, raw_auth=auth)
                    self.assertEqual(status, 401)
        # The right token works (so the 401s above are about the token, not the route).
        self.assertEqual(admin.request("GET", "/api/queue/stats")[0], 200)
        self.assertEqual(d.stop(), 0)
        log = d.log()
        self.assertNotIn(ADMIN_TOKEN, log)
        self.assertNotIn(ADMIN_TOKEN[:-1], log)


class Smuggling(ReliabilityHarness):
    """SMTP smuggling (CVE-2023-51764 class): a fake end of data followed by a second,
    spoofed transaction. Only CRLF.CRLF ends DATA; bare LF/CR is refused; the smuggled
    transaction never becomes its own message."""

    VARIANTS = {
        "lf_dot_lf": b"\n.\n",
        "lf_dot_crlf": b"\n.\r\n",
        "crlf_dot_lf": b"\r\n.\n",
        "cr_dot_cr": b"\r.\r",
        "crlf_dot_cr": b"\r\n.\r",
    }

    def test_server_side_variants_are_refused_or_kept_as_data(self):
        peer = self.scripted_peer()
        config = self.relay_to(self.rel_config(), "peer", peer.port)
        d = self.start_daemon(config)
        admin = self.admin(config)
        for name, fake_end in self.VARIANTS.items():
            with self.subTest(variant=name):
                body = (b"From: <a@sender.test>\r\nSubject: outer-" + name.encode() + b"\r\n\r\nhello" + fake_end +
                        b"MAIL FROM:<admin@victim.test>\r\nRCPT TO:<smuggled@remote.test>\r\nDATA\r\n"
                        b"Subject: smuggled-" + name.encode() + b"\r\n\r\nevil\r\n.\r\n")
                out = smtp_dialogue(d.port, [b"EHLO c.test\r\n", b"MAIL FROM:<a@sender.test>\r\n",
                                             b"RCPT TO:<r@remote.test>\r\n", b"DATA\r\n", body, b"QUIT\r\n"])
                c = codes(out)
                # greeting, EHLO, MAIL, RCPT, 354, exactly ONE verdict for the whole body, QUIT.
                self.assertEqual(c[:5], [220, 250, 250, 250, 354], out)
                self.assertEqual(len(c), 7, "a smuggled command was answered: %r" % out)
                verdict = c[5]
                self.assertIn(verdict // 100, (2, 5), out)
                if verdict == 250:  # kept as data: one message holding the whole text
                    mid = queued_id(out.decode(errors="replace"))
                    m = admin.message(mid)
                    self.assertEqual(len(m["recipients"]), 1)
                    self.assertEqual(m["recipients"][0]["address"], "r@remote.test")
        wait_for(lambda: admin.request("GET", "/api/queue/stats")[1].get("byState", {}).get("scheduled", 0) == 0,
                 20, "deliveries to the peer")
        for msg in peer.messages:
            self.assertNotIn(b"\nSubject: smuggled", msg.split(b"\r\n\r\n", 1)[0])
        for t in peer.transcripts:
            self.assertNotIn(b"smuggled@remote.test", bytes(t.received).split(b"DATA\r\n")[0])
            self.assert_clean_wire(bytes(t.received))
        self.assertEqual(d.stop(), 0)

    def assert_clean_wire(self, wire):
        stripped = wire.replace(b"\r\n", b"")
        self.assertNotIn(b"\n", stripped, "bare LF on the wire")
        self.assertNotIn(b"\r", stripped, "bare CR on the wire")

    def test_client_side_never_emits_a_fake_end_of_data(self):
        # Injected through the admin API with LF line endings and every dot/LF/CR mix: the
        # wire to the peer has CRLF only and exactly one CRLF.CRLF (the real end).
        peer = self.scripted_peer()
        config = self.relay_to(self.rel_config(), "peer", peer.port)
        d = self.start_daemon(config)
        admin = self.admin(config)
        text = ("Subject: client-side\n\nline\n.\nMAIL FROM:<x@y>\n.\r\nbare\rcr\r.\r\n..\n.\nend\n")
        status, reply = admin.request("POST", "/api/messages",
                                      {"from": "a@sender.test", "to": ["r@remote.test"], "message": text})
        self.assertEqual(status // 100, 2, reply)
        wait_for(lambda: peer.messages, 20, "the delivery")
        wire = bytes(peer.transcripts[0].received)
        data = wire.split(b"DATA\r\n", 1)[1]
        self.assertEqual(data.count(b"\r\n.\r\n"), 1, data)
        self.assertTrue(data.endswith(b"\r\n.\r\nQUIT\r\n") or data.endswith(b"\r\n.\r\n")
                        or b"\r\n.\r\nRSET" in data or b"\r\n.\r\nQUIT" in data, data)
        self.assert_clean_wire(wire)
        self.assertEqual(d.stop(), 0)


class StartTlsInjection(ReliabilityHarness):
    def test_server_discards_plaintext_pipelined_after_starttls(self):
        cert, key = self.make_cert("mx.outpost.test")
        config = self.rel_config()
        config["listeners"][0]["tls"] = {"certFile": cert, "keyFile": key}
        d = self.start_daemon(config)
        with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"EHLO c.test\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            # CVE-2011-0411: commands glued after STARTTLS in the same segment.
            raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRSET\r\n")
            first = f.readline()
            if not first.startswith(b"220"):
                self.assertTrue(first[:1] in (b"4", b"5"), first)  # refusing the whole thing is fine too
                return
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            tls = ctx.wrap_socket(raw, server_hostname="mx.outpost.test")
            tls.settimeout(2)
            # The first thing under TLS must be our own EHLO's answer, nothing queued before.
            tls.sendall(b"EHLO c.test\r\n")
            got = b""
            try:
                while not got.endswith(b"\r\n") or b"250 " not in got:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except socket.timeout:
                pass
            self.assertTrue(got.startswith(b"250-") or got.startswith(b"250 "), got)
            # A MAIL now is accepted: the injected MAIL was never executed (else 503 nested MAIL).
            tls.sendall(b"MAIL FROM:<a@sender.test>\r\n")
            self.assertTrue(tls.recv(4096).startswith(b"250"))
        self.assertEqual(d.stop(), 0)

    def test_client_discards_a_reply_glued_after_220(self):
        cert, key = self.make_cert("peer.test")
        peer = self.scripted_peer(starttls="inject", cert=cert, key=key)
        config = self.relay_to(self.rel_config(), "peer", peer.port)
        config["tlsStrategies"][0]["startTls"] = "require"
        d = self.start_daemon(config)
        code, text = d.send("a@sender.test", ["r@remote.test"], "<glued@sec>")
        self.assertEqual(code, 250, text)
        r = self.wait_recipient(self.admin(config), queued_id(text), lambda r: r["state"] != "scheduled", 20,
                                "the outcome")
        self.assertEqual(r["state"], "delivered", r)
        self.assertEqual(len(peer.messages), 1)
        t = peer.transcripts[0]
        self.assertTrue(getattr(t, "tls", False))
        after = bytes(t.received).split(b"STARTTLS\r\n", 1)[1]
        self.assertTrue(after.startswith(b"EHLO "), "client did not EHLO again under TLS: %r" % after[:60])
        self.assertEqual(d.stop(), 0)


class EnvelopeInjection(ReliabilityHarness):
    """Addresses become header lines (Return-Path, Delivered-To, Received, DSN fields) and
    Maildir path components. Neither may be forged."""

    def test_header_injection_through_envelope_addresses(self):
        config = self.rel_config()
        d = self.start_daemon(config)
        admin = self.admin(config)
        tries = [b"MAIL FROM:<a\rX-Injected: yes@sender.test>\r\n",
                 b"MAIL FROM:<a@sender.test>\r\nRCPT TO:<bob\rX-Injected: yes@local.test>\r\n",
                 b"MAIL FROM:<a@sender.test>\r\nRCPT TO:<bob\nX-Injected: yes@local.test>\r\n",
                 b"MAIL FROM:<a@sender.test\x00X-Injected: yes>\r\n"]
        for probe in tries:
            with self.subTest(probe=probe):
                out = smtp_dialogue(d.port, [b"EHLO c.test\r\n", probe, b"QUIT\r\n"])
                replies = codes(out)[2:-1]  # after greeting and EHLO, before QUIT's 221
                clean_mail = probe.count(b"MAIL FROM:<a@sender.test>\r\n")
                # Only the clean MAIL FROM is accepted; the command carrying CR/LF/NUL is refused.
                self.assertEqual(replies.count(250), clean_mail, out)
                self.assertTrue(any(500 <= c < 600 for c in replies), out)
        for sender, rcpt in (("a@sender.test\r\nX-Injected: yes", "bob@local.test"),
                             ("a@sender.test", "bob@local.test\r\nX-Injected: yes"),
                             ("a@sender.test", "bob@local.test\nX-Injected: yes")):
            status, _ = admin.request("POST", "/api/messages",
                                      {"from": sender, "to": [rcpt], "message": "Subject: x\n\nbody\n"})
            self.assertEqual(status, 400, (sender, rcpt))
        # A legitimate message: its Maildir copy carries no injected header anywhere.
        self.assertEqual(d.send("a@sender.test", ["bob@local.test"], "<env@sec>")[0], 250)
        files = wait_for(lambda: glob.glob(self.path("mail", "local.test", "*", "new", "*")), 20, "delivery")
        for path in files:
            with open(path, "rb") as f:
                self.assertNotIn(b"X-Injected", f.read())
        self.assertEqual(d.stop(), 0)

    def test_maildir_path_traversal_through_local_parts(self):
        config = self.rel_config()
        d = self.start_daemon(config)
        admin = self.admin(config)
        hostile = ["../../../escape@local.test", "../escape@local.test", "a/b@local.test", ".hidden@local.test",
                   "..@local.test", ".@local.test", '"../quoted"@local.test', '"a/b"@local.test',
                   "%2e%2e%2fenc@local.test"]
        for rcpt in hostile:
            lp = rcpt.rsplit("@", 1)[0].strip('"')
            dangerous = "/" in lp or lp.startswith(".")
            out = smtp_dialogue(d.port, [b"EHLO c.test\r\n", b"MAIL FROM:<a@sender.test>\r\n",
                                         b"RCPT TO:<" + rcpt.encode() + b">\r\n", b"DATA\r\n",
                                         b"Subject: t\r\n\r\nx\r\n.\r\n", b"QUIT\r\n"])
            c = codes(out)
            with self.subTest(rcpt=rcpt):
                if c[3] != 250:
                    self.assertTrue(500 <= c[3] < 600, out)  # refused at RCPT
                    continue
                self.assertEqual(c[5], 250, out)
                mid = queued_id(out.decode(errors="replace"))
                r = self.wait_recipient(admin, mid, lambda r: r["state"] != "scheduled", 20, "outcome of " + rcpt)
                if dangerous:  # accepted at RCPT: Maildir delivery must refuse it permanently
                    self.assertEqual(r["state"], "failed", r)
                    self.assertEqual(r["lastReply"]["enhanced"], "5.1.3", r)
                else:
                    self.assertEqual(r["state"], "delivered", r)
        # Nothing was written outside <maildirRoot>/local.test/<single component>/.
        root = self.path("mail")
        for dirpath, dirnames, filenames in os.walk(self.dir):
            for name in filenames + dirnames:
                full = os.path.join(dirpath, name)
                self.assertNotIn("escape", name, full)
                self.assertNotIn("quoted", name, full)
        for path in glob.glob(os.path.join(root, "**"), recursive=True):
            rel = os.path.relpath(path, root)
            parts = rel.split(os.sep)
            if rel != "." and len(parts) >= 2:
                self.assertEqual(parts[0], "local.test", path)
                self.assertFalse(parts[1].startswith("."), path)
        self.assertEqual(d.stop(), 0)


class HostileRepliesInQueue(ReliabilityHarness):
    """CVE-2020-8794 class: what a peer says is stored bounded, stays data, and the DSN built
    from it carries no injected header."""

    def test_oversized_multiline_reply_is_a_bounded_temporary_protocol_error(self):
        lines = [b"550-5.1.1 first line"] + [b"550-X-Injected: yes line %d" % i for i in range(2000)]
        peer = self.scripted_peer(rcpt=lambda a: b"\r\n".join(lines) + b"\r\n550 5.1.1 end\r\n")
        config = self.relay_to(self.rel_config(), "peer", peer.port)
        d = self.start_daemon(config)
        code, text = d.send("a@sender.test", ["victim@remote.test"], "<huge@sec>")
        self.assertEqual(code, 250, text)
        r = self.wait_recipient(self.admin(config), queued_id(text), lambda r: r["retryNum"] > 0, 20, "outcome")
        self.assertEqual((r["state"], r["lastError"]), ("deferred", "unexpected-reply"), r)
        self.assertLessEqual(len(r["lastReply"]["text"]), 1024, r)
        self.assertNotIn("X-Injected", r["lastReply"]["text"])
        self.assertEqual(d.stop(), 0)

    def test_forged_reply_is_bounded_and_the_dsn_has_no_injected_header(self):
        # Within the client's reply limits (256 lines), so it is a real 550 verdict.
        lines = [b"550-5.1.1 first line"] + [b"550-X-Injected: yes line %d" % i for i in range(200)]
        reply = b"\r\n".join(lines) + b"\r\n550 5.1.1 \x00NUL\x01 and \xff\xfe bytes\r\n"
        peer = self.scripted_peer(rcpt=lambda a: reply)
        config = self.relay_to(self.rel_config(), "peer", peer.port, domain="remote.test")
        d = self.start_daemon(config)
        admin = self.admin(config)
        # The return path is local: the failure DSN lands in Maildir where we can read it.
        code, text = d.send("bounce@local.test", ["victim@remote.test"], "<forged@sec>")
        self.assertEqual(code, 250, text)
        r = self.wait_recipient(admin, queued_id(text), lambda r: r["state"] != "scheduled", 20, "the failure")
        self.assertEqual(r["state"], "failed", r)
        self.assertLessEqual(len(r["lastReply"]["text"].encode("utf-8", "replace")), 1024 * 3)
        self.assertEqual(r["address"], "victim@remote.test")
        self.assertEqual(r["lastReply"]["code"], 550)
        dsns = wait_for(lambda: glob.glob(self.path("mail", "local.test", "bounce", "new", "*")), 20, "the DSN")
        with open(dsns[0], "rb") as f:
            dsn = f.read().replace(b"\r\n", b"\n")  # Maildir files use LF
        headers = dsn.split(b"\n\n", 1)[0]
        self.assertIn(b"multipart/report", headers)
        self.assertNotIn(b"X-Injected", headers)
        for line in dsn.split(b"\n"):
            self.assertFalse(line.startswith(b"X-Injected"), "injected header line in the DSN")
            self.assertLessEqual(len(line), 998, "DSN line over the RFC 5322 limit")
        self.assertNotIn(b"\x00", dsn)
        self.assertEqual(d.stop(), 0)

    def test_non_utf8_reply_keeps_the_recipient_readable(self):
        # Regression: proto3 `string` fields refused non-UTF-8 bytes, so this reply made the
        # recipient record undecodable and the recipient vanished from show and delivery.
        peer = self.scripted_peer(rcpt=lambda a: b"450 4.2.0 mailbox busy \xff\xfe\xc3\r\n")
        config = self.relay_to(self.rel_config(), "peer", peer.port)
        d = self.start_daemon(config)
        admin = self.admin(config)
        code, text = d.send("a@sender.test", ["r@remote.test"], "<utf8@sec>")
        self.assertEqual(code, 250, text)
        r = self.wait_recipient(admin, queued_id(text), lambda r: r["retryNum"] > 0, 20, "the deferral")
        self.assertEqual((r["state"], r["lastError"]), ("deferred", "unexpected-reply"), r)
        self.assertEqual(admin.request("GET", "/api/queue/stats")[1].get("quarantined"), 0)
        self.assertEqual(d.stop(), 0)


class SecretsNeverLogged(ReliabilityHarness):
    def test_relay_password_and_admin_token_never_reach_the_log(self):
        cert, key = self.make_cert("relay.test")
        peer = self.start_peer("127.0.0.1", port=free_port(), name="relay", tls_cert=cert, tls_key=key,
                               auth="relayuser:" + RELAY_PASSWORD)
        config = self.rel_config()
        config["routes"].append({"@type": "Relay", "name": "good", "address": "127.0.0.1", "port": peer.port,
                                 "allowInvalidCerts": True, "authUsername": "relayuser",
                                 "authSecret": {"@type": "Value", "secret": RELAY_PASSWORD}})
        config["routes"].append({"@type": "Relay", "name": "bad", "address": "127.0.0.1", "port": peer.port,
                                 "allowInvalidCerts": True, "authUsername": "relayuser",
                                 "authSecret": {"@type": "Value", "secret": "wrong-" + RELAY_PASSWORD}})
        config["strategy"] = {"route": {"match": [{"if": "rcpt_domain == 'bad.test'", "then": "'bad'"}],
                                        "else": "'good'"}}
        d = self.start_daemon(config)
        admin = self.admin(config)
        self.assertEqual(d.send("a@sender.test", ["r@good.test"], "<s1@sec>")[0], 250)
        code, text = d.send("a@sender.test", ["r@bad.test"], "<s2@sec>")
        wait_for(peer.messages, 20, "the relayed message")
        self.wait_recipient(admin, queued_id(text), lambda r: r["retryNum"] > 0, 20, "the refused AUTH")
        admin.request("GET", "/api/queue/stats", raw_auth="Bearer wrong-" + ADMIN_TOKEN)
        admin.request("GET", "/api/queue/stats")
        self.assertEqual(d.stop(), 0)
        log = d.log()
        for secret in (RELAY_PASSWORD, ADMIN_TOKEN, base64.b64encode(RELAY_PASSWORD.encode()).decode(),
                       base64.b64encode(b"\0relayuser\0" + RELAY_PASSWORD.encode()).decode()):
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    unittest.main()
