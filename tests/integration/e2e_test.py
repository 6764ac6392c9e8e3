"""End-to-end tests: the real outpostd against real peers on loopback (see harness.py).

Each class is one ctest (tests/integration/CMakeLists.txt). MX hosts live on 127.0.10.x:25.
"""
import email
import email.policy
import glob
import os
import json
import signal
import subprocess
import threading
import time
import unittest

from harness import Harness, free_port, outpostd_binary, wait_for

SENDER_MX = "127.0.10.9"  # where DSNs to sender@sender.test arrive


def dsn_reports(peer):
    """(message, {field: value}) for every multipart/report the peer received."""
    reports = []
    for m in peer.messages():
        if m.get_content_type() != "multipart/report":
            continue
        fields = {}
        for part in m.walk():
            if part.get_content_type() == "message/delivery-status":
                payload = part.get_payload()
                blocks = payload if isinstance(payload, list) else [part]
                for block in blocks:
                    for k, v in block.items():
                        fields.setdefault(k.lower(), v)
                raw = part.as_string()
                for line in raw.splitlines():
                    if ":" in line:
                        k, v = line.split(":", 1)
                        fields.setdefault(k.strip().lower(), v.strip())
        reports.append((m, fields))
    return reports


class LocalMaildir(Harness):
    def test_local_domain_is_delivered_to_maildir(self):
        dns = self.start_dns()
        d = self.daemon(self.daemon_config(dns)).start()
        code, text = d.send("sender@sender.test", ["alice@local.test"], "<local-1@e2e>")
        self.assertEqual(code, 250, text)
        self.assertRegex(text, r"2\.0\.0 Ok: queued as [0-9a-f]{16}")
        files = wait_for(lambda: glob.glob(self.path("mail", "local.test", "alice", "new", "*")), 20,
                         "the Maildir file")
        with open(files[0], "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertEqual(msg["Message-ID"], "<local-1@e2e>")
        self.assertEqual(msg["Delivered-To"], "alice@local.test")
        self.assertEqual(msg["Return-Path"], "<sender@sender.test>")
        wait_for(lambda: d.deliveries(rcpt="alice@local.test", status="sent", route="local"), 10, "the log line")
        self.assertEqual(len(d.deliveries(rcpt="alice@local.test", status="sent", route="local")), 1)
        self.assertEqual(d.stop(), 0)


class RelayStartTlsAuth(Harness):
    def test_relay_with_starttls_and_auth(self):
        cert, key = self.make_cert("relay.test")
        dns = self.start_dns()
        peer = self.start_peer("127.0.10.1", port=2587, tls_cert=cert, tls_key=key,
                               auth="relayuser:s3cret")
        config = self.daemon_config(dns)
        config["routes"].append({"@type": "Relay", "name": "relay", "address": "127.0.10.1",
                                 "port": 2587, "protocol": "smtp", "allowInvalidCerts": True,
                                 "authUsername": "relayuser",
                                 "authSecret": {"@type": "Value", "secret": "s3cret"}})
        config["strategy"] = {"route": {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}],
                                        "else": "'relay'"}}
        d = self.daemon(config).start()
        code, text = d.send("sender@sender.test", ["bob@remote.test", "carol@remote.test"], "<relay-1@e2e>")
        self.assertEqual(code, 250, text)
        msgs = wait_for(peer.messages, 20, "the relayed message")
        self.assertEqual(len(msgs), 1)  # one transaction for both recipients
        self.assertEqual(msgs[0]["X-Peer-Tls"], "yes")
        self.assertEqual(msgs[0]["X-Peer-Auth"], "yes")
        self.assertEqual(sorted(msgs[0]["X-Peer-Rcpt-To"].split(",")), ["bob@remote.test", "carol@remote.test"])
        self.assertEqual(msgs[0]["Message-ID"], "<relay-1@e2e>")
        self.assertEqual(d.stop(), 0)

    def test_wrong_relay_password_defers_and_never_bounces(self):
        cert, key = self.make_cert("relay.test")
        dns = self.start_dns()
        peer = self.start_peer("127.0.10.1", port=2587, tls_cert=cert, tls_key=key, auth="relayuser:s3cret")
        config = self.daemon_config(dns)
        config["routes"].append({"@type": "Relay", "name": "relay", "address": "127.0.10.1", "port": 2587,
                                 "allowInvalidCerts": True, "authUsername": "relayuser",
                                 "authSecret": {"@type": "Value", "secret": "wrong"}})
        config["strategy"] = {"route": "'relay'"}
        d = self.daemon(config).start()
        code, _ = d.send("sender@sender.test", ["bob@remote.test"], "<relay-2@e2e>")
        self.assertEqual(code, 250)
        wait_for(lambda: len(d.deliveries(rcpt="bob@remote.test", status="deferred")) >= 2, 20,
                 "two deferred attempts")
        self.assertEqual(peer.messages(), [])
        self.assertEqual(d.deliveries(status="bounced") + d.deliveries(status="failed"), [])
        self.assertEqual(d.stop(), 0)


class LmtpOneRecipientRefused(Harness):
    def test_lmtp_refusal_bounces_only_that_recipient(self):
        dns = self.start_dns(mx=[("sender.test", "mx.sender.test", 10)], hosts=[("mx.sender.test", SENDER_MX)])
        lmtp = self.start_peer("127.0.10.2", port=2424, lmtp=True, refuse=["bad@lmtp.test"])
        sender_mx = self.start_peer(SENDER_MX)
        config = self.daemon_config(dns)
        config["routes"].append({"@type": "Relay", "name": "lmtp", "address": "127.0.10.2", "port": 2424,
                                 "protocol": "lmtp"})
        config["strategy"] = {"route": {"match": [{"if": "rcpt_domain == 'lmtp.test'", "then": "'lmtp'"}],
                                        "else": "'mx'"}}
        d = self.daemon(config).start()
        code, text = d.send("sender@sender.test", ["one@lmtp.test", "bad@lmtp.test", "two@lmtp.test"],
                            "<lmtp-1@e2e>")
        self.assertEqual(code, 250, text)
        msgs = wait_for(lmtp.messages, 20, "the LMTP delivery")
        self.assertEqual(sorted(msgs[0]["X-Peer-Rcpt-To"].split(",")), ["one@lmtp.test", "two@lmtp.test"])
        reports = wait_for(lambda: dsn_reports(sender_mx), 20, "the failure DSN at the sender's MX")
        report, fields = reports[0]
        self.assertIn("bad@lmtp.test", fields.get("final-recipient", ""))
        self.assertEqual(fields.get("action"), "failed")
        self.assertEqual(fields.get("status"), "5.1.1")
        self.assertEqual(report["X-Peer-Mail-From"], "<>")
        wait_for(lambda: len(d.deliveries(route="lmtp", status="sent")) == 2, 10, "two sent lines")
        self.assertEqual(d.stop(), 0)


class MxPriorityFirstDown(Harness):
    def test_second_mx_takes_the_mail_when_the_first_is_down(self):
        # mx1 (preference 10) has nothing listening; mx2 (20) is Postfix's smtp-sink.
        dns = self.start_dns(mx=[("prio.test", "mx1.prio.test", 10), ("prio.test", "mx2.prio.test", 20)],
                             hosts=[("mx1.prio.test", "127.0.10.3"), ("mx2.prio.test", "127.0.10.4")])
        sink = self.start_smtp_sink("127.0.10.4")
        d = self.daemon(self.daemon_config(dns)).start()
        code, text = d.send("sender@sender.test", ["user@prio.test"], "<prio-1@e2e>")
        self.assertEqual(code, 250, text)
        sent = wait_for(lambda: d.deliveries(rcpt="user@prio.test", status="sent"), 20, "delivery")
        self.assertEqual(sent[0]["host"], "mx2.prio.test")
        dumped = ""
        for p in glob.glob(sink + "/*"):
            with open(p, errors="replace") as f:
                dumped += f.read()
        self.assertIn("<prio-1@e2e>", dumped)
        self.assertEqual(d.stop(), 0)


class NullMxBounce(Harness):
    def test_null_mx_bounces_with_an_rfc3464_report(self):
        dns = self.start_dns(mx=[("sender.test", "mx.sender.test", 10)], hosts=[("mx.sender.test", SENDER_MX)],
                             null_mx=["null.test"])
        sender_mx = self.start_peer(SENDER_MX)
        d = self.daemon(self.daemon_config(dns)).start()
        code, text = d.send("sender@sender.test", ["nobody@null.test"], "<null-1@e2e>")
        self.assertEqual(code, 250, text)
        reports = wait_for(lambda: dsn_reports(sender_mx), 20, "the failure DSN")
        report, fields = reports[0]
        self.assertEqual(report["X-Peer-Mail-From"], "<>")
        self.assertEqual(report["X-Peer-Rcpt-To"], "sender@sender.test")
        self.assertIn("report-type=delivery-status", report["Content-Type"].replace('"', ""))
        self.assertIn("nobody@null.test", fields.get("final-recipient", ""))
        self.assertEqual(fields.get("action"), "failed")
        self.assertEqual(fields.get("status"), "5.1.10")
        self.assertIn("outpost.test", fields.get("reporting-mta", ""))
        wait_for(lambda: d.deliveries(rcpt="nobody@null.test", status="bounced"), 10, "the log line")
        self.assertEqual(d.stop(), 0)


class FailoverAfterTwoFailures(Harness):
    def test_fallback_route_on_the_third_attempt(self):
        dns = self.start_dns(mx=[("fo.test", "mx.fo.test", 10)], hosts=[("mx.fo.test", "127.0.10.5")])
        fallback = self.start_peer("127.0.10.6", port=2526)
        config = self.daemon_config(dns)
        config["routes"].append({"@type": "Relay", "name": "fallback", "address": "127.0.10.6", "port": 2526})
        config["strategy"] = {"route": {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"},
                                                  {"if": "retry_num > 1", "then": "'fallback'"}],
                                        "else": "'mx'"}}
        d = self.daemon(config).start()
        code, text = d.send("sender@sender.test", ["user@fo.test"], "<fo-1@e2e>")
        self.assertEqual(code, 250, text)
        wait_for(fallback.messages, 30, "delivery through the fallback relay")
        wait_for(lambda: d.deliveries(rcpt="user@fo.test", status="sent"), 10, "the log line")
        deferred = d.deliveries(rcpt="user@fo.test", status="deferred")
        self.assertEqual([x["route"] for x in deferred], ["mx", "mx"])
        sent = d.deliveries(rcpt="user@fo.test", status="sent")
        self.assertEqual([(x["route"], x["retry_num"]) for x in sent], [("fallback", "3")])
        self.assertEqual(d.stop(), 0)


class TemporaryFailuresThenSuccess(Harness):
    def test_two_451s_then_delivered(self):
        dns = self.start_dns(mx=[("tf.test", "mx.tf.test", 10)], hosts=[("mx.tf.test", "127.0.10.7")])
        peer = self.start_peer("127.0.10.7", tempfail=2)
        d = self.daemon(self.daemon_config(dns)).start()
        code, text = d.send("sender@sender.test", ["user@tf.test"], "<tf-1@e2e>")
        self.assertEqual(code, 250, text)
        wait_for(peer.messages, 30, "delivery after two temporary failures")
        wait_for(lambda: d.deliveries(rcpt="user@tf.test", status="sent"), 10, "the log line")
        deferred = d.deliveries(rcpt="user@tf.test", status="deferred")
        self.assertEqual(len(deferred), 2)
        self.assertTrue(all(x["reply"].startswith("451") for x in deferred), deferred)
        self.assertEqual(len(d.deliveries(rcpt="user@tf.test", status="sent")), 1)
        self.assertEqual(len(peer.messages()), 1)
        self.assertEqual(d.stop(), 0)


class DaemonLifecycle(Harness):
    def test_second_daemon_on_the_same_data_dir_fails_clearly(self):
        dns = self.start_dns()
        config = self.daemon_config(dns)
        d = self.daemon(config).start()
        other = dict(config, listeners=[dict(config["listeners"][0], bind="127.0.0.1:%d" % free_port())])
        path = self.write_config(other, "second.json")
        r = subprocess.run([outpostd_binary(), "--config", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("another outpostd is running on %s (pid %d)" % (config["server"]["dataDir"], d.proc.pid),
                      r.stderr)
        self.assertEqual(d.stop(), 0)

    def test_sighup_rejects_a_bad_config_and_applies_a_good_one(self):
        dns = self.start_dns()
        config = self.daemon_config(dns)
        d = self.daemon(config).start()
        with open(d.config_path, "w") as f:
            f.write('{"routes": [{"@type": "Relay", "name": "r", "port": 70000}], "bogus": 1}')
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.log_lines("config.reload_rejected"), 10, "the rejection")
        errors = "\n".join(d.log_lines("config.reload_error"))
        self.assertIn("port", errors)
        self.assertIn("bogus", errors)
        # Still serving with the old config: local delivery works.
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<hup-1@e2e>")[0], 250)
        wait_for(lambda: d.deliveries(rcpt="a@local.test", status="sent"), 20, "delivery")
        # A good config: from now on everything for remote.test goes to Maildir as well.
        config["strategy"] = {"route": {"match": [{"if": "rcpt_domain == 'remote.test'", "then": "'local'"}],
                                        "else": "'mx'"}}
        config["localDomains"].append("remote.test")
        with open(d.config_path, "w") as f:
            json.dump(config, f)
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.log_lines("config.reloaded"), 10, "the reload")
        self.assertEqual(d.send("s@sender.test", ["b@remote.test"], "<hup-2@e2e>")[0], 250)
        wait_for(lambda: d.deliveries(rcpt="b@remote.test", status="sent", route="local"), 20,
                 "delivery on the reloaded route")
        self.assertEqual(d.stop(), 0)

    def test_a_bad_config_refuses_to_start_listing_every_error(self):
        path = self.write_config({"server": {"dataDir": self.path("data")}, "listeners": [{"bind": "nowhere"}],
                                  "routes": [{"@type": "Relay", "name": "r", "port": 70000}]}, "bad.json")
        r = subprocess.run([outpostd_binary(), "--config", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("port", r.stderr)
        self.assertIn("bind", r.stderr)
        self.assertFalse(os.path.exists(self.path("data", "CURRENT")))  # nothing opened

    def test_completed_recipients_are_purged_after_their_retention(self):
        dns = self.start_dns()
        config = self.daemon_config(dns)
        config["queue"] = {"minFreeSpace": "1MB", "completedRetention": "1s"}
        d = self.daemon(config).start()
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<purge-1@e2e>")[0], 250)
        wait_for(lambda: d.deliveries(rcpt="a@local.test", status="sent"), 20, "delivery")
        purged = wait_for(lambda: d.log_lines("retention.purged"), 20, "the retention purge")
        self.assertIn("rcpts=1", purged[0])
        self.assertEqual(d.stop(), 0)

    def test_below_free_space_watermark_answers_452(self):
        dns = self.start_dns()
        config = self.daemon_config(dns)
        config["queue"] = {"minFreeSpace": "1000000GB"}
        d = self.daemon(config).start()
        code, text = d.send("s@sender.test", ["a@local.test"], "<full-1@e2e>")
        self.assertEqual(code, 452, text)
        self.assertIn("4.3.1", text)
        self.assertEqual(d.stop(), 0)


class AdminAndExamples(Harness):
    def test_admin_api_is_served_with_the_configured_token(self):
        import urllib.error
        import urllib.request
        dns = self.start_dns()
        config = self.daemon_config(dns)
        config["admin"]["token"] = {"@type": "Value", "secret": "t0ken"}
        d = self.daemon(config).start()
        url = "http://%s/api/queue/stats" % config["admin"]["bind"]
        wait_for(lambda: d.log_lines("admin.started"), 10, "the admin API")
        with self.assertRaises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url, timeout=5)
        self.assertEqual(denied.exception.code, 401)
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<adm-1@e2e>")[0], 250)
        req = urllib.request.Request(url, headers={"Authorization": "Bearer t0ken"})
        with urllib.request.urlopen(req, timeout=5) as r:
            self.assertEqual(r.status, 200)
            stats = json.loads(r.read())
        self.assertGreaterEqual(stats.get("messages", 0), 1, stats)
        self.assertEqual(d.stop(), 0)

    def test_every_example_passes_config_check(self):
        examples = sorted(glob.glob(os.path.join(os.environ["OUTPOST_SOURCE_DIR"], "examples", "*.json")))
        self.assertIn("outpost.json", [os.path.basename(p) for p in examples])
        env = dict(os.environ, OUTPOST_ADMIN_TOKEN="example-token")
        for path in examples:
            r = subprocess.run([os.environ["OUTPOST_CLI"], "config", "check", path], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, "%s: %s%s" % (path, r.stdout, r.stderr))


class KillNineNoLoss(Harness):
    """kill -9 during injection and again during delivery of the backlog: every message that
    got a 250 reaches the sink; duplicates only from attempts in flight at a kill."""

    TOTAL = 240
    CLIENTS = 4

    def test_nothing_accepted_is_lost(self):
        dns = self.start_dns(mx=[("sink.test", "mx.sink.test", 10)], hosts=[("mx.sink.test", "127.0.10.8")])
        # The sink saves each message before it answers, and answers slowly: a kill always
        # catches deliveries the sink holds but the daemon has not recorded.
        sink = self.start_peer("127.0.10.8", data_delay=0.05)
        config = self.daemon_config(dns)
        config["queue"] = {"minFreeSpace": "1MB", "mxConcurrency": 4}
        d = self.daemon(config).start()

        accepted, lock = set(), threading.Lock()
        counter = iter(range(self.TOTAL))

        def client():
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                mid = "<kill-%d@e2e>" % n
                try:
                    code, _ = d.send("sender@sender.test", ["user%d@sink.test" % n], mid, timeout=5)
                except Exception:
                    continue  # the daemon died mid-transaction: not accepted
                if code == 250:
                    with lock:
                        accepted.add(mid)

        threads = [threading.Thread(target=client) for _ in range(self.CLIENTS)]
        for t in threads:
            t.start()
        wait_for(lambda: len(accepted) >= self.TOTAL // 4, 60, "a quarter accepted")
        d.kill9()  # 1: during injection
        kill_times = [time.time()]
        for t in threads:
            t.join(30)
        d.start()
        for n in range(self.TOTAL, self.TOTAL + 60):  # more mail into the backlog
            mid = "<kill-%d@e2e>" % n
            if d.send("sender@sender.test", ["user%d@sink.test" % n], mid)[0] == 250:
                accepted.add(mid)
        wait_for(lambda: len(sink.message_ids()) >= len(accepted) // 2, 60, "half delivered")
        d.kill9()  # 2: during delivery of the backlog
        kill_times.append(time.time())
        d.start()
        wait_for(lambda: accepted <= set(sink.message_ids()), 90, "every accepted message at the sink")

        ids = sink.message_ids()
        missing = accepted - set(ids)
        self.assertEqual(missing, set())
        dups = {m for m in set(ids) if ids.count(m) > 1}
        # A duplicate is a message the sink held while the daemon was killed before recording
        # the outcome: at most the in-flight transactions per kill (mxConcurrency each), and
        # its copies straddle a kill (the first before it, a later one after the restart).
        self.assertLessEqual(len(dups), 4 * len(kill_times), sorted(dups))
        arrivals = sink.arrivals()
        for mid in dups:
            times = sorted(t for t, m in arrivals if m == mid)
            for first, second in zip(times, times[1:]):
                self.assertTrue(any(first <= k <= second for k in kill_times),
                                "%s duplicated outside a kill: %s vs kills %s" % (mid, times, kill_times))
        print("accepted=%d delivered=%d duplicates=%d" % (len(accepted), len(ids), len(dups)))
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
