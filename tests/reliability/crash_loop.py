"""Crash loop: SMTP injection under SIGKILL at random moments, then an audit.

Clients inject a steady stream of messages (recording every Message-ID that got 250); the
daemon is killed with SIGKILL `kills` times, cycling through three moments:
  accept     - while the clients are injecting;
  delivery   - injection paused, the backlog is being delivered to the sink (an aiosmtpd peer
               that saves each message before it answers, so kills catch deliveries it holds);
  compaction - after clean restarts have left several L0 files per column family (a clean
               close flushes memtables), the daemon is restarted and killed as soon as a new
               .sst file appears in the data dir (a compaction or flush writing its output).
After every kill, while the daemon is down, the store is audited (`outpost queue check`:
records decode, indexes and counters agree). At the end every accepted message must be at
the sink; duplicates are counted and each must straddle a kill (only in-flight ones repeat).

Used by crash_test.py (CI: 5 kills) and tests/soak/crash_loop.sh (20+ kills), which prints
the figures.
"""
import glob
import os
import random
import signal
import threading
import time

from rharness import ReliabilityHarness, free_port, store_check, wait_for

PHASES = ("accept", "delivery", "compaction")


class CrashLoop:
    def __init__(self, h: ReliabilityHarness, kills, clients=3, seed=None, log=print):
        self.h, self.kills, self.clients = h, kills, clients
        self.rng = random.Random(seed)
        self.log = log
        self.accepted, self.lock = set(), threading.Lock()
        self.counter = 0
        self.injecting = threading.Event()
        self.stopping = threading.Event()
        self.kill_times = []
        self.kill_phases = {p: 0 for p in PHASES}
        self.compaction_hits = 0  # SIGKILL while new .sst files were being written
        self.compaction_inputs_gone = 0  # ... and compaction had already removed an input
        self.audits = []

    # ---- setup ----
    def start(self):
        self.sink = self.h.start_peer("127.0.0.1", port=free_port(), name="sink", data_delay=0.03)
        config = self.h.rel_config()
        self.h.relay_to(config, "sink", self.sink.port, concurrency=4)
        config["schedules"][0]["retry"] = ["1s"]
        self.config = config
        self.data_dir = config["server"]["dataDir"]
        self.d = self.h.daemon(config).start()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for t in self.threads:
            t.start()

    def _client(self):
        while not self.stopping.is_set():
            if not self.injecting.wait(0.1):
                continue
            with self.lock:
                n = self.counter
                self.counter += 1
            mid = "<crash-%d@rel>" % n
            try:
                code, _ = self.d.send("sender@sender.test", ["user%d@sink.test" % n], mid, timeout=5)
            except Exception:
                time.sleep(0.05)  # killed mid-transaction, or not listening yet: not accepted
                continue
            if code == 250:
                with self.lock:
                    self.accepted.add(mid)

    # ---- the loop ----
    def run(self):
        self.start()
        for k in range(self.kills):
            phase = PHASES[k % len(PHASES)]
            getattr(self, "_kill_during_" + phase)()
            self.kill_phases[phase] += 1
            self._audit("after kill %d (%s)" % (k + 1, phase))
            self.d.start()
        self.injecting.clear()
        wait_for(lambda: self.accepted <= set(self.sink.message_ids()), 120,
                 "every accepted message at the sink")
        self.stopping.set()
        for t in self.threads:
            t.join(10)
        rc = self.d.stop()
        self._audit("at the end")
        return self.summary(rc)

    def _kill(self):
        self.d.kill9()
        self.kill_times.append(time.time())

    def _kill_during_accept(self):
        self.injecting.set()
        before = len(self.accepted)
        wait_for(lambda: len(self.accepted) >= before + 5, 30, "injection to flow")
        time.sleep(self.rng.uniform(0.0, 0.8))
        self._kill()

    def _kill_during_delivery(self):
        self.injecting.set()
        before = len(self.accepted)
        wait_for(lambda: len(self.accepted) >= before + 20, 30, "a backlog")
        self.injecting.clear()
        delivered = len(set(self.sink.message_ids()))
        # Deliveries are flowing (or, on a fast box, the backlog is already drained).
        wait_for(lambda: len(set(self.sink.message_ids())) > delivered or
                 self.accepted <= set(self.sink.message_ids()), 30, "deliveries in progress")
        time.sleep(self.rng.uniform(0.0, 0.3))
        self._kill()

    def _sst_files(self):
        return set(glob.glob(os.path.join(self.data_dir, "*.sst")))

    def _kill_during_compaction(self):
        # The daemon never flushes small memtables while running, but a clean close does:
        # each SIGTERM adds an L0 file to every column family that saw writes, and the fourth
        # reaches RocksDB's compaction trigger, so that close flushes AND compacts. On that
        # fourth close a watcher polls the data dir and SIGKILLs the daemon once a random
        # number of new .sst files has appeared: mid-flush or mid-compaction.
        for cycle in range(4):
            self.injecting.set()
            before = len(self.accepted)
            wait_for(lambda: len(self.accepted) >= before + 3, 30, "a few messages")
            self.injecting.clear()
            if cycle < 3:
                self.d.stop()
                self.d.start()
        known = self._sst_files()
        target = self.rng.randint(1, 7)
        self.d.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline and self.d.proc.poll() is None and
               len(self._sst_files() - known) < target):
            time.sleep(0.0002)
        now = self._sst_files()
        if self.d.proc.poll() is None and now - known:
            self.compaction_hits += 1
            if known - now:
                self.compaction_inputs_gone += 1
        try:
            self._kill()
        except ProcessLookupError:
            self.kill_times.append(time.time())  # it finished first: still an audit point

    def _audit(self, when):
        rc, report, err = store_check(self.data_dir)
        self.audits.append((when, rc, report, err))
        if rc != 0:
            raise AssertionError("store inconsistent %s: %s %s" % (when, report, err))

    def summary(self, stop_rc):
        ids = self.sink.message_ids()
        dups = {m for m in set(ids) if ids.count(m) > 1}
        missing = self.accepted - set(ids)
        straddle_violations = []
        arrivals = self.sink.arrivals()
        for mid in dups:
            times = sorted(t for t, m in arrivals if m == mid)
            for first, second in zip(times, times[1:]):
                if not any(first <= k <= second for k in self.kill_times):
                    straddle_violations.append((mid, times))
        return {
            "kills": len(self.kill_times), "phases": dict(self.kill_phases),
            "killed_while_writing_sst": self.compaction_hits,
            "killed_after_compaction_removed_inputs": self.compaction_inputs_gone,
            "accepted": len(self.accepted), "delivered_unique": len(set(ids)),
            "delivered_total": len(ids), "duplicates": len(dups), "missing": sorted(missing),
            "duplicates_outside_a_kill": straddle_violations, "audits": len(self.audits),
            "final_store": self.audits[-1][2], "stop_rc": stop_rc,
        }
