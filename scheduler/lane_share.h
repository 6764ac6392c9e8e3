#pragma once
// How the due loop shares its time between the lanes of the due index (storage::DueLane:
// first attempts and retries, per virtual queue).
//
// Why: with one time-ordered due index, a retry wave (a down destination's backlog coming
// due again) sorted in front of new mail, and new mail waited behind the whole wave (measured:
// a 1M-recipient wave cut a healthy relay flow to 22 % for minutes). Counting recipients or
// batches is not fair either: a batch of retries of 100-recipient messages costs ~100x a batch
// of new 1-recipient messages. So each lane is charged the loop time its batches really took.
//
// Start-time fair queueing (Goyal et al.): each lane has a finish tag; the lane served next is
// the one with the smallest start tag max(V, finish), V being the start tag of the last lane
// served. A lane that was idle (nothing due) therefore starts at V: it gets no credit for the
// time it did not use, and the lanes with work share the loop in proportion to their weights.
// Work-conserving: a lane alone gets the whole loop.
//
// Charge = the measured loop time of the batch plus a nominal `per_recipient` cost, so that
// the share follows the work taken even on a coarse or fake clock (unit tests).
//
// Fair queueing alone shares a *saturated* loop. New mail arrives as a trickle: at most
// instants its lane has nothing due, so a work-conserving share hands the loop (and the store's
// writer, and the CPU the healthy flow's ingest needs) to a retry wave almost all the time
// (measured: 1.3k msg/s of new mail left the wave ~50 % of the loop). So while first attempts
// flow (one was served within `active_grace`), the retry lanes together may use at most their
// weighted share of wall time per `window`; the loop then idles rather than serve more
// retries. When no first attempt was served for `active_grace`, retries run unthrottled; and
// they always keep at least their share, so new mail cannot starve them either.
//
// Not thread-safe: the scheduler's loop only. Memory: one entry per (queue, lane) ever served.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "storage/keys.h"

namespace outpost::scheduler {

class LaneShare {
 public:
  using Lane = storage::DueLane;
  struct Options {
    // Relative shares while both lanes have work. First attempts get more: new mail mostly
    // goes out at once, while a retry backlog is mostly mail for destinations still failing.
    // A tenth of the loop for retries costs about a fifth of the machine: each retry's write
    // also takes the store's writer and compaction threads (backlog.sh: 4:1 left the healthy
    // flow 68 % of its rate during a 1M-recipient wave).
    uint32_t first_weight = 9;
    uint32_t retry_weight = 1;
    std::chrono::nanoseconds per_recipient{1000};
    Millis window{100};
    Millis active_grace{100};
  };
  struct Flow {
    std::string queue;
    Lane lane = Lane::kFirst;
    friend auto operator<=>(const Flow&, const Flow&) = default;
  };

  explicit LaneShare(Options options) : options_(options) {}

  // Of `ready` (non-empty: the lanes that may have work now), the index of the one to serve.
  // Ties go to the one served least recently.
  size_t Pick(const std::vector<Flow>& ready) const;
  // `flow` (as returned by Pick) was served at `now`: `took` of loop time for `recipients`
  // recipients.
  void Charge(const Flow& flow, std::chrono::nanoseconds took, size_t recipients,
              MonotonicTime now);
  // Work done on `flow`'s behalf outside its batch (an outcome's bookkeeping and log lines when
  // its write completes): it counts against the flow's share like the batch itself. Without
  // it the retries' measured share was about half of what they really took.
  void ChargeAfter(const Flow& flow, std::chrono::nanoseconds took, MonotonicTime now);
  // Whether retry lanes may be served at `now` (see above), and if not, when they may again.
  bool RetriesMayRun(MonotonicTime now) const;
  MonotonicTime RetriesResumeAt(MonotonicTime now) const;

  uint64_t virtual_time_for_test() const { return virtual_now_; }

 private:
  struct Tags {
    uint64_t finish = 0;  // virtual ns
    uint64_t served = 0;  // Charge() sequence number of the last service
  };
  uint64_t StartOf(const Flow& f) const;
  uint64_t CostOf(std::chrono::nanoseconds took, size_t recipients) const;
  uint64_t WeightOf(Lane lane) const;
  void CountRetryTime(uint64_t cost, MonotonicTime now);
  std::chrono::nanoseconds RetryBudget() const;
  const Tags* Find(const Flow& f) const;

  Options options_;
  std::map<Flow, Tags> tags_;
  uint64_t virtual_now_ = 0;
  uint64_t services_ = 0;
  MonotonicTime first_active_until_{};  // first attempts count as flowing until then
  MonotonicTime window_start_{};
  uint64_t retry_ns_in_window_ = 0;
};

}  // namespace outpost::scheduler
