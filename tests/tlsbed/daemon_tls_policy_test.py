"""DANE, MTA-STS and TLS-RPT through the real outpostd (docs/TLS-POLICY.md, issue 10).

One test bed (tests/tlsbed/tlsbed.sh: BIND with a signed .test hierarchy behind a validating
Unbound, STARTTLS sinks, the HTTPS policy server) serves every test of this file; each test
runs its own daemon with a fresh data dir, so MTA-STS caches never leak between tests. The MX
sinks listen on 127.0.11.5/.6 port 25 (we run as root, like the e2e tests), the policy server
on 127.0.11.7. Everything is stopped by PID.
"""
import base64
import email
import email.policy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import Harness, free_port, wait_for  # noqa: E402

BED = os.path.join(HERE, "tlsbed.sh")
TOOLS = ["/usr/sbin/named", "/usr/sbin/unbound", "/usr/bin/dnssec-keygen",
         "/usr/bin/dnssec-signzone", "/usr/bin/dig", "/usr/bin/openssl"]


def missing_tools():
    for tool in TOOLS:
        if not os.access(tool, os.X_OK):
            return tool
    if subprocess.call(["/usr/bin/python3", "-c", "import aiosmtpd"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
        return "python3-aiosmtpd"
    return None


class TlsPolicyDelivery(Harness):
    bed = None

    @classmethod
    def setUpClass(cls):
        missing = missing_tools()
        if missing:
            raise unittest.SkipTest("test bed needs " + missing)
        cls.bed_dir = tempfile.mkdtemp(prefix="outpost-tlsbed-daemon-")
        env = dict(os.environ, TLSTB_DIR=cls.bed_dir, DANE_MX_IP="127.0.11.5",
                   STS_MX_IP="127.0.11.6", STS_WEB_IP="127.0.11.7", SMTP_PORT="25")
        # Ports are picked free at start; another test may take one in between, so a failed
        # start is retried once with fresh ports before it counts.
        for attempt in range(2):
            out = subprocess.run([BED, "up"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=120)
            if out.returncode == 0:
                break
            subprocess.call([BED, "down"], env=env)
            log = out.stdout.decode(errors="replace")
            if attempt == 1:
                raise AssertionError("tlsbed.sh up failed:\n" + log)
            sys.stderr.write("tlsbed.sh up failed, retrying:\n" + log)
        cls.env = env
        cls.bed = {}
        with open(os.path.join(cls.bed_dir, "env")) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                cls.bed[key] = value

    @classmethod
    def tearDownClass(cls):
        if cls.bed is not None:
            subprocess.call([BED, "down"], env=cls.env)
        shutil.rmtree(cls.bed_dir, ignore_errors=True)

    # ---- helpers ----
    def write_policy(self, mode, mx):
        path = os.path.join(self.bed["WWW_DIR"], "sts.test", "mta-sts.txt")
        with open(path, "w") as f:
            f.write("version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 86400\r\n" % (mode, mx))

    def start_daemon(self, report_interval="1h", **overrides):
        config = self.daemon_config(self.bed["RESOLVER"], **overrides)
        # Opportunistic TLS by default (self-signed sinks); DANE and MTA-STS enforce their own
        # authentication whatever allowInvalidCerts says.
        config.setdefault("tlsStrategies", [{"name": "default", "allowInvalidCerts": True}])
        config["tlsPolicy"] = {"caFile": self.bed["TEST_CA"],
                               "mtaStsPort": int(self.bed["HTTPS_PORT"]),
                               "reportInterval": report_interval,
                               "reportOrganization": "outpost-test"}
        self.last_config = config
        return self.daemon(config).start()

    def sink_messages(self, rcpt):
        found = []
        for path in sorted(glob.glob(os.path.join(self.bed["MAIL_DIR"], "*.eml"))):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            if rcpt in (msg["X-Testbed-Rcpt"] or "").split(","):
                found.append(msg)
        return found

    def deliver(self, d, rcpt, tag):
        code, text = d.send("sender@sender.test", [rcpt], "<%s@tls>" % tag)
        self.assertEqual(code, 250, text)

    # ---- DANE ----
    def test_dane_verified_delivery(self):
        d = self.start_daemon()
        self.deliver(d, "ok@dane.test", "dane-ok")
        msgs = wait_for(lambda: self.sink_messages("ok@dane.test"), 20, "delivery to mx.dane.test")
        self.assertNotEqual(msgs[0]["X-Testbed-TLS"], "none")
        applied = [l for l in d.log_lines("smtp.tls_policy_applied") if "mx.dane.test" in l]
        self.assertTrue(applied, d.log())
        self.assertIn("policy=tlsa", applied[0])
        self.assertEqual(d.stop(), 0)

    def test_wrong_tlsa_defers_with_last_error_dane_and_the_ladder_works(self):
        fallback = self.start_peer("127.0.11.9", port=2526)
        d = self.start_daemon(
            routes=[{"@type": "Local", "name": "local"}, {"@type": "Mx", "name": "mx"},
                    {"@type": "Relay", "name": "fallback", "address": "127.0.11.9", "port": 2526}],
            strategy={"route": {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"},
                                          {"if": "retry_num > 0 && last_error == 'dane'",
                                           "then": "'fallback'"}],
                                "else": "'mx'"}})
        self.deliver(d, "u@badtlsa.dane.test", "dane-bad")
        wait_for(fallback.messages, 30, "the dane ladder to the fallback relay")
        deferred = d.deliveries(rcpt="u@badtlsa.dane.test", status="deferred")
        self.assertEqual([x["route"] for x in deferred], ["mx"])
        self.assertTrue(deferred[0]["reply"].startswith("451 4.7.5"), deferred)
        self.assertEqual(deferred[0]["host"], "mx-badtlsa.dane.test")
        wait_for(lambda: d.deliveries(rcpt="u@badtlsa.dane.test", status="sent"), 10, "the log")
        self.assertEqual(self.sink_messages("u@badtlsa.dane.test"), [])  # never sent unverified
        self.assertEqual(d.stop(), 0)

    def test_bogus_dnssec_defers(self):
        d = self.start_daemon()
        self.deliver(d, "u@bogus.test", "bogus")
        deferred = wait_for(lambda: d.deliveries(rcpt="u@bogus.test", status="deferred"), 20,
                            "the bogus TLSA to defer")
        self.assertTrue(deferred[0]["reply"].startswith("451 4.7.5"), deferred)
        self.assertIn("TLSA lookup failed", deferred[0]["reply"])
        self.assertEqual(self.sink_messages("u@bogus.test"), [])
        self.assertEqual(d.stop(), 0)

    def test_unsigned_zone_is_opportunistic(self):
        d = self.start_daemon()
        self.deliver(d, "u@insecure.test", "insecure")
        msgs = wait_for(lambda: self.sink_messages("u@insecure.test"), 20, "opportunistic delivery")
        self.assertNotEqual(msgs[0]["X-Testbed-TLS"], "none")  # STARTTLS, unauthenticated
        self.assertFalse([l for l in d.log_lines("smtp.tls_policy_applied")
                          if "mx.insecure.test" in l])
        self.assertEqual(d.stop(), 0)

    # ---- MTA-STS ----
    def test_mta_sts_enforce_delivers_to_a_matching_mx(self):
        self.write_policy("enforce", "mx.sts.test")
        d = self.start_daemon()
        self.deliver(d, "enforced@sts.test", "sts-ok")
        wait_for(lambda: self.sink_messages("enforced@sts.test"), 20, "delivery to mx.sts.test")
        applied = [l for l in d.log_lines("smtp.tls_policy_applied") if "mx.sts.test" in l]
        self.assertTrue(applied and "policy=sts" in applied[0], d.log())
        self.assertEqual(d.stop(), 0)

    def test_mta_sts_policy_cache_survives_a_restart(self):
        # The cached enforce policy is security state (RFC 8461 §5.1): after a restart it still
        # applies while the policy server is unreachable (here: the policy file is gone, 404).
        self.write_policy("enforce", "mx.sts.test")
        d = self.start_daemon()
        self.deliver(d, "cached1@sts.test", "sts-cached-1")
        wait_for(lambda: self.sink_messages("cached1@sts.test"), 20, "first delivery")
        self.assertEqual(d.stop(), 0)
        os.unlink(os.path.join(self.bed["WWW_DIR"], "sts.test", "mta-sts.txt"))
        d = self.daemon(self.last_config).start()
        self.deliver(d, "cached2@sts.test", "sts-cached-2")
        wait_for(lambda: self.sink_messages("cached2@sts.test"), 20, "delivery after the restart")
        applied = [l for l in d.log_lines("smtp.tls_policy_applied") if "policy=sts" in l]
        self.assertEqual(len(applied), 2, d.log())  # one per daemon run: the cache applied
        self.assertFalse(d.log_lines("mta_sts_fetch_failed"))  # nothing refetched
        self.assertEqual(d.stop(), 0)

    def test_mta_sts_enforce_with_mx_outside_the_policy_defers(self):
        self.write_policy("enforce", "other.sts.test")
        d = self.start_daemon()
        self.deliver(d, "outside@sts.test", "sts-outside")
        deferred = wait_for(lambda: d.deliveries(rcpt="outside@sts.test", status="deferred"), 20,
                            "the MTA-STS deferral")
        self.assertTrue(deferred[0]["reply"].startswith("451 4.7.5 MTA-STS enforce"), deferred)
        self.assertEqual(self.sink_messages("outside@sts.test"), [])
        self.assertEqual(d.stop(), 0)

    def test_mta_sts_testing_delivers_and_tls_rpt_reports_the_counts(self):
        self.write_policy("testing", "other.sts.test")
        for old in glob.glob(os.path.join(self.bed["TLSRPT_DIR"], "*")):
            os.unlink(old)
        d = self.start_daemon(report_interval="2s")
        for n in range(2):
            rcpt = "testing%d@sts.test" % n
            self.deliver(d, rcpt, "sts-testing-%d" % n)
            wait_for(lambda: self.sink_messages(rcpt), 20, "testing-mode delivery %d" % n)

        def reports():
            out = []
            for path in glob.glob(os.path.join(self.bed["TLSRPT_DIR"], "*.report")):
                with open(path) as f:
                    out.append(json.load(f))
            return out

        def counts():
            ok = failed = 0
            details = {}
            for r in reports():
                for p in r["policies"]:
                    if p["policy"]["policy-domain"] != "sts.test":
                        continue
                    ok += p["summary"]["total-successful-session-count"]
                    failed += p["summary"]["total-failure-session-count"]
                    for fd in p.get("failure-details", []):
                        key = (fd["result-type"], fd.get("receiving-mx-hostname"))
                        details[key] = details.get(key, 0) + fd["failed-session-count"]
            return ok, failed, details

        wait_for(lambda: counts()[1] >= 2, 30, "TLS-RPT reports over HTTPS")
        ok, failed, details = counts()
        self.assertEqual((ok, failed), (0, 2), reports())
        self.assertEqual(details, {("validation-failure", "mx.sts.test"): 2})
        report = reports()[0]
        self.assertEqual(report["organization-name"], "outpost-test")
        self.assertEqual(report["policies"][0]["policy"]["policy-type"], "sts")
        # The same report by mail, through our own queue (source 'report').
        mailed = wait_for(lambda: self.sink_messages("tlsrpt@sts.test"), 30, "the mailed report")
        self.assertEqual(mailed[0].get_content_type(), "multipart/report")
        self.assertEqual(mailed[0].get_param("report-type"), "tlsrpt")
        self.assertEqual(mailed[0]["TLS-Report-Domain"], "sts.test")
        parts = [p for p in mailed[0].iter_attachments()
                 if p.get_content_type() == "application/tlsrpt+json"]
        self.assertEqual(len(parts), 1)
        body = json.loads(base64.b64decode(parts[0].get_payload()))
        self.assertEqual(body["policies"][0]["policy"]["policy-domain"], "sts.test")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
