#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "common/dispatcher.h"
#include "queue/queue_store.h"

namespace outpost::daemon {

// Periodic retention purge (DESIGN.md §2: queue.failedRetention, queue.completedRetention).
// Every `interval` it removes old failed and completed recipients in batches of `batch`; while
// a batch hits its limit the next one follows on the next loop turn, so a big backlog of
// expired records never holds the loop for long and never competes with ingest for a whole
// group commit.
//
// Loop thread only. `dispatcher` and `store` outlive the purger. Destroying it cancels the
// timer; a Purge in flight completes into nothing.
class RetentionPurger {
 public:
  struct Options {
    Millis failed_retention{std::chrono::hours(24 * 7)};
    Millis completed_retention{std::chrono::hours(24)};
    Millis interval{std::chrono::minutes(1)};
    size_t batch = 500;
  };
  RetentionPurger(Dispatcher& dispatcher, queue::QueueStore& store, Options options);

  // Arms the first run after `first_delay`.
  void Start(Millis first_delay);
  // New retention values and interval (SIGHUP reload); take effect at the next batch.
  void SetRetention(Millis failed, Millis completed, Millis interval);

  uint64_t recipients_removed() const { return recipients_removed_; }
  uint64_t runs() const { return runs_; }

 private:
  void RunBatch();

  Dispatcher& dispatcher_;
  queue::QueueStore& store_;
  Options options_;
  std::unique_ptr<Timer> timer_;
  bool running_ = false;
  uint64_t recipients_removed_ = 0;
  uint64_t runs_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::daemon
