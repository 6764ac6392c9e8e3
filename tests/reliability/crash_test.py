"""CI version of the crash loop (crash_loop.py): 5 SIGKILLs across accept, delivery and
compaction. The long version is tests/soak/crash_loop.sh."""
import json
import os
import unittest

from crash_loop import CrashLoop
from rharness import ReliabilityHarness


class CrashLoopShort(ReliabilityHarness):
    KILLS = int(os.environ.get("OUTPOST_CRASH_KILLS", "5"))

    def test_kill9_loop_loses_nothing_and_keeps_the_store_consistent(self):
        loop = CrashLoop(self, kills=self.KILLS, seed=os.environ.get("OUTPOST_CRASH_SEED"))
        s = loop.run()
        print("CRASH_LOOP_SUMMARY " + json.dumps(s, sort_keys=True))
        self.assertEqual(s["kills"], self.KILLS)
        self.assertGreater(s["accepted"], 0)
        self.assertEqual(s["missing"], [])
        self.assertEqual(s["duplicates_outside_a_kill"], [])
        # Only in-flight deliveries repeat: at most the route's concurrency (4) per kill.
        self.assertLessEqual(s["duplicates"], 4 * s["kills"])
        self.assertTrue(s["final_store"]["ok"], s["final_store"])
        self.assertEqual(s["final_store"]["quarantined"], 0)
        self.assertEqual(s["stop_rc"], 0)


if __name__ == "__main__":
    unittest.main()
