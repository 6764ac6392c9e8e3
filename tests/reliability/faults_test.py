"""Fault injection against the real outpostd: hostile and broken peers, DNS down or silent,
disk full and a read-only data dir (tmpfs in a private mount namespace). Every fault must
end as a classified outcome in the queue (admin API = `outpost queue show --json`): the
right state and last_error, a bounded reply, and a daemon that keeps serving.

Each class is one ctest (tests/reliability/CMakeLists.txt).
"""
import os
import smtplib
import subprocess
import unittest

from rharness import ReliabilityHarness, outpostd_binary, queued_id, store_check, sync_fault_shim, wait_for

RCPT = "user@hostile.test"


class HostilePeers(ReliabilityHarness):
    """Relay peers that misbehave at each stage; transport timeouts are 1 s here."""

    TIMEOUT = "1s"

    def deliver_to(self, peer, rcpts=(RCPT,), **route):
        config = self.relay_to(self.rel_config(), "hostile", peer.port, **route)
        d = self.start_daemon(config)
        code, text = d.send("sender@sender.test", list(rcpts), "<fault@rel>")
        self.assertEqual(code, 250, text)
        return d, self.admin(config), queued_id(text)

    def first_outcome(self, admin, msg_id, timeout=20):
        return self.wait_recipient(admin, msg_id, lambda r: r["state"] != "scheduled" or r["retryNum"] > 0,
                                   timeout, "the first attempt's outcome")

    def assert_deferred(self, r, last_error):
        self.assertEqual(r["state"], "deferred", r)
        self.assertEqual(r["lastError"], last_error, r)
        self.assertEqual(r["retryNum"], 1, r)

    def test_hang_after_connect_is_a_temporary_connection_failure(self):
        peer = self.scripted_peer(greeting=None)
        d, admin, mid = self.deliver_to(peer)
        r = self.first_outcome(admin, mid)
        self.assert_deferred(r, "connection")
        self.assertEqual(d.stop(), 0)

    def test_hang_mid_multiline_reply_is_temporary(self):
        peer = self.scripted_peer(greeting=b"220-peer.test first line of a greeting\r\n")
        d, admin, mid = self.deliver_to(peer)
        self.assert_deferred(self.first_outcome(admin, mid), "connection")
        self.assertEqual(d.stop(), 0)

    def test_hang_after_the_data_command_is_temporary(self):
        peer = self.scripted_peer(data_cmd="hang")
        d, admin, mid = self.deliver_to(peer)
        r = self.first_outcome(admin, mid)
        self.assertEqual(r["state"], "deferred", r)
        self.assertEqual(peer.messages, [])
        self.assertEqual(d.stop(), 0)

    def test_hang_after_final_dot_defers_without_another_host(self):
        peer = self.scripted_peer(data_end="hang")
        d, admin, mid = self.deliver_to(peer)
        r = self.first_outcome(admin, mid)
        self.assertEqual(r["state"], "deferred", r)
        self.assertEqual(len(peer.messages), 1)  # the peer may hold it: a possible duplicate
        self.assertEqual(peer.connections(), 1)
        self.assertEqual(d.stop(), 0)

    def test_close_after_final_dot_defers(self):
        peer = self.scripted_peer(data_end="close")
        d, admin, mid = self.deliver_to(peer)
        r = self.first_outcome(admin, mid)
        self.assertEqual(r["state"], "deferred", r)
        self.assertEqual(d.stop(), 0)

    def test_two_megabyte_reply_line_is_bounded_and_temporary(self):
        peer = self.scripted_peer(greeting=b"220 " + b"A" * (2 << 20) + b"\r\n")
        d, admin, mid = self.deliver_to(peer)
        r = self.first_outcome(admin, mid)
        self.assertEqual(r["state"], "deferred", r)
        self.assertIn(r["lastError"], ("unexpected-reply", "connection"), r)
        self.assertLess(len(r["lastReply"]["text"]), 4096, "stored reply text is bounded")
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<still-alive@rel>")[0], 250)
        self.assertEqual(d.stop(), 0)

    def test_invalid_replies_are_temporary(self):
        greetings = [b"hello there\r\n", b"99 nope\r\n", b"2200 too long code\r\n", b"\x00\x01\x02\r\n"]
        config = self.rel_config()
        for i, greeting in enumerate(greetings):
            self.relay_to(config, "bad%d" % i, self.scripted_peer(greeting=greeting).port, domain="bad%d.test" % i)
        d = self.start_daemon(config)
        admin = self.admin(config)
        ids = []
        for i in range(len(greetings)):
            code, text = d.send("sender@sender.test", ["u@bad%d.test" % i], "<invalid-%d@rel>" % i)
            self.assertEqual(code, 250, text)
            ids.append(queued_id(text))
        for greeting, mid in zip(greetings, ids):
            with self.subTest(greeting=greeting):
                r = self.first_outcome(admin, mid)
                self.assertEqual(r["state"], "deferred", r)
                self.assertIn(r["lastError"], ("unexpected-reply", "connection"), r)
        self.assertEqual(d.stop(), 0)

    def test_close_during_tls_handshake_is_temporary(self):
        peer = self.scripted_peer(starttls="drop")
        config = self.relay_to(self.rel_config(), "hostile", peer.port)
        config["tlsStrategies"][0]["startTls"] = "require"
        d = self.start_daemon(config)
        code, text = d.send("sender@sender.test", [RCPT], "<tls-drop@rel>")
        self.assertEqual(code, 250, text)
        r = self.first_outcome(self.admin(config), queued_id(text))
        self.assert_deferred(r, "tls")
        self.assertEqual(peer.messages, [])  # never fell back to plaintext under `require`
        self.assertEqual(d.stop(), 0)

    def test_lmtp_peer_answering_fewer_replies_than_recipients(self):
        # Three recipients, one reply after the final dot, then silence: the first recipient
        # is delivered, the other two are deferred (RFC 2033 §4.2 + the 451 rule).
        peer = self.scripted_peer(lmtp=True, lmtp_replies=1)
        rcpts = ["a@hostile.test", "b@hostile.test", "c@hostile.test"]
        d, admin, mid = self.deliver_to(peer, rcpts=rcpts, protocol="lmtp")
        wait_for(lambda: all(r["state"] != "scheduled" for r in admin.message(mid)["recipients"]), 20,
                 "every recipient's outcome")
        states = {r["address"]: r["state"] for r in admin.message(mid)["recipients"]}
        self.assertEqual(states, {"a@hostile.test": "delivered", "b@hostile.test": "deferred",
                                  "c@hostile.test": "deferred"})
        self.assertEqual(d.stop(), 0)


class DnsFaults(ReliabilityHarness):
    def mx_config(self, dns):
        config = self.rel_config(dns)
        config["dns"]["timeout"] = "1s"
        return config

    def check_dns_deferral(self, dns):
        config = self.mx_config(dns)
        d = self.start_daemon(config)
        code, text = d.send("sender@sender.test", ["user@nodns.test"], "<dns@rel>")
        self.assertEqual(code, 250, text)
        r = self.wait_recipient(self.admin(config), queued_id(text), lambda r: r["retryNum"] > 0, 20,
                                "the DNS outcome")
        self.assertEqual((r["state"], r["lastError"]), ("deferred", "dns"), r)
        self.assertEqual(d.stop(), 0)

    def test_dns_server_down_is_temporary_dns(self):
        self.check_dns_deferral(None)  # a port nobody listens on

    def test_dns_server_that_never_answers_is_temporary_dns(self):
        import socket
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        self.check_dns_deferral("127.0.0.1:%d" % silent.getsockname()[1])


class DiskFaults(ReliabilityHarness):
    """The data dir is a small tmpfs mounted inside a private mount namespace (unshare -m)
    that only the daemon lives in, so nothing leaks into the host's mount table."""

    def start_in_tmpfs(self, config, size="96m"):
        data = config["server"]["dataDir"]
        os.makedirs(data, exist_ok=True)
        d = self.daemon(config)
        script = 'mount -t tmpfs -o size=%s tmpfs "$1" && exec "$2" --config "$3"' % size
        if not self.spawn(d, ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", data,
                              outpostd_binary(), d.config_path]):
            self.skipTest("cannot mount tmpfs in a private namespace here:\n" + d.log())
        return d

    def in_ns(self, d, *cmd):
        """Runs a command in the daemon's mount namespace."""
        return subprocess.run(["nsenter", "-t", str(d.proc.pid), "-m", "--"] + list(cmd),
                              capture_output=True, text=True, timeout=30)

    def fill(self, d, data):
        self.in_ns(d, "sh", "-c", 'dd if=/dev/zero of="%s/filler" bs=1M 2>/dev/null; sync' % data)

    def test_disk_full_answers_451_then_recovers(self):
        config = self.rel_config()
        config["queue"] = {"minFreeSpace": 0}
        data = config["server"]["dataDir"]
        d = self.start_in_tmpfs(config)
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<before-full@rel>")[0], 250)
        self.fill(d, data)
        # RocksDB preallocates its WAL (fallocate), so writes that fit the reserved space are
        # still durable and rightly get 250. Push bodies until the WAL needs more space.
        codes, body = [], "x" * (512 << 10) + "\r\n"
        for i in range(120):
            code, text = d.send("s@sender.test", ["a@local.test"], "<full-%d@rel>" % i, body=body)
            codes.append(code)
            if code != 250:
                break
        self.assertEqual(codes[-1], 451, codes)
        self.assertTrue(all(c in (250, 451) for c in codes), codes)
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<while-full@rel>")[0], 451)
        self.assertIsNone(d.proc.poll(), "the daemon must not exit on a full disk")
        self.in_ns(d, "rm", "-f", data + "/filler")
        wait_for(lambda: d.send("s@sender.test", ["a@local.test"], "<after-full@rel>")[0] == 250, 30,
                 "acceptance after space returns")
        self.assertEqual(d.stop(), 0)

    def test_below_min_free_space_answers_452(self):
        config = self.rel_config()
        config["queue"] = {"minFreeSpace": "32MB"}
        data = config["server"]["dataDir"]
        d = self.start_in_tmpfs(config)
        self.assertEqual(d.send("s@sender.test", ["a@local.test"], "<ok@rel>")[0], 250)
        self.in_ns(d, "sh", "-c", 'dd if=/dev/zero of="%s/filler" bs=1M count=80 2>/dev/null' % data)
        code, text = d.send("s@sender.test", ["a@local.test"], "<low@rel>")
        self.assertEqual(code, 452, text)
        self.assertIn("4.3.1", text)
        self.in_ns(d, "rm", "-f", data + "/filler")
        wait_for(lambda: d.send("s@sender.test", ["a@local.test"], "<ok2@rel>")[0] == 250, 20, "recovery")
        self.assertEqual(d.stop(), 0)



class StoreIoErrors(ReliabilityHarness):
    """RocksDB write errors that are not ENOSPC: the WAL fsync fails with EIO while a trigger
    file exists (LD_PRELOAD shim). RocksDB cannot clear that error without a reopen (whether
    the data reached the disk is unknown), so the store gives up and outpostd exits 1 with a
    clear error for its supervisor; until then ingest answers 451, never 250. The restart
    replays the WAL: nothing acknowledged before is lost and the daemon serves again."""

    def try_send(self, d, message_id):
        """The DATA reply code, or None when the daemon is gone (refused or cut)."""
        try:
            return d.send("s@sender.test", ["a@local.test"], message_id, timeout=5)[0]
        except (OSError, smtplib.SMTPException):
            return None

    def test_wal_sync_eio_answers_451_then_exits_and_the_restart_serves_again(self):
        d, config, env = self.faulty_daemon()
        trigger = self.trigger
        admin = self.admin(config)
        code, text = d.send("s@sender.test", ["a@local.test"], "<io-0@rel>")
        self.assertEqual(code, 250, text)
        accepted = [queued_id(text)]
        open(trigger, "w").close()
        # The failing write itself is answered 451 (its completion precedes any give-up).
        self.assertEqual(self.try_send(d, "<io-bad-0@rel>"), 451)
        # Later ones: 451 while the process still runs, then refused; never 250.
        codes = [self.try_send(d, "<io-bad-%d@rel>" % i) for i in range(1, 4)]
        self.assertTrue(all(c in (451, None) for c in codes), codes)
        rc = d.proc.wait(30)
        self.assertEqual(rc, 1, "exits non-zero for a supervisor restart:\n" + d.log()[-3000:])
        self.assertTrue(d.log_lines("outpostd.store_failed"), d.log()[-3000:])
        self.assertTrue(d.log_lines("store_unrecoverable"), d.log()[-3000:])
        self.assertIn("outpostd: stopped: queue store failed", d.log())
        self.assertNotIn("AddressSanitizer", d.log())
        rc, report, err = store_check(config["server"]["dataDir"])
        self.assertEqual(rc, 0, (report, err))
        # The supervisor restarts it once the disk behaves: the WAL replays, it serves again.
        os.unlink(trigger)
        self.start_with_env(d, env)
        code, text = d.send("s@sender.test", ["a@local.test"], "<io-after@rel>")
        self.assertEqual(code, 250, text)
        accepted.append(queued_id(text))
        for mid in accepted:
            self.assertIsNotNone(admin.message(mid), mid)
        self.assertEqual(d.stop(), 0)
        rc, report, err = store_check(config["server"]["dataDir"])
        self.assertEqual(rc, 0, (report, err))

    def test_a_restart_while_the_disk_still_fails_exits_again_and_loses_nothing(self):
        """A crash loop under a supervisor while the disk stays broken: every start fails
        its first write, answers 451 and exits 1; the acknowledged message survives."""
        d, config, env = self.faulty_daemon()
        trigger = self.trigger
        code, text = d.send("s@sender.test", ["a@local.test"], "<io-0@rel>")
        self.assertEqual(code, 250, text)
        open(trigger, "w").close()
        self.assertEqual(self.try_send(d, "<io-bad-0@rel>"), 451)
        self.assertEqual(d.proc.wait(30), 1)
        self.start_with_env(d, env)
        self.assertIn(self.try_send(d, "<io-bad-1@rel>"), (451, None))
        self.assertEqual(d.proc.wait(30), 1)
        os.unlink(trigger)
        self.start_with_env(d, env)
        self.assertIsNotNone(self.admin(config).message(queued_id(text)))
        self.assertEqual(d.stop(), 0)
        rc, report, err = store_check(config["server"]["dataDir"])
        self.assertEqual(rc, 0, (report, err))

    def start_with_env(self, d, env):
        self.spawn(d, [outpostd_binary(), "--config", d.config_path], env)

    def faulty_daemon(self):
        """A daemon whose fsyncs fail while self.trigger exists; returns (daemon, config, env)."""
        self.trigger = self.path("fail-sync")
        config = self.rel_config()
        config["queue"] = {"minFreeSpace": 0}
        d = self.daemon(config)
        env = dict(os.environ, LD_PRELOAD=sync_fault_shim(), OUTPOST_FAULT_TRIGGER=self.trigger,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        self.start_with_env(d, env)
        return d, config, env


if __name__ == "__main__":
    unittest.main()
