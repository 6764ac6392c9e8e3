#include "tools/outpostd/retention_purger.h"

#include "common/logging.h"

namespace outpost::daemon {

RetentionPurger::RetentionPurger(Dispatcher& dispatcher, queue::QueueStore& store, Options options)
    : dispatcher_(dispatcher), store_(store), options_(options) {
  timer_ = dispatcher_.CreateTimer([this]() { RunBatch(); });
}

void RetentionPurger::Start(Millis first_delay) { timer_->Enable(first_delay); }

void RetentionPurger::SetRetention(Millis failed, Millis completed, Millis interval) {
  options_.failed_retention = failed;
  options_.completed_retention = completed;
  options_.interval = interval;
}

void RetentionPurger::RunBatch() {
  if (running_) return;
  running_ = true;
  int64_t now = ToUnixMs(dispatcher_.clock().Now());
  std::weak_ptr<bool> alive = alive_;
  store_.Purge(
      now, options_.failed_retention, options_.completed_retention, options_.batch,
      [this, alive](StatusOr<queue::PurgeCounts> counts) {
        if (alive.expired()) return;
        running_ = false;
        ++runs_;
        if (!counts.ok()) {
          OUTPOST_LOG_WARN("retention.purge_failed", {"error", counts.status().ToString()});
          timer_->Enable(options_.interval);
          return;
        }
        recipients_removed_ += counts->recipients_removed;
        if (counts->recipients_removed > 0 || counts->messages_removed > 0) {
          OUTPOST_LOG_INFO("retention.purged", {"rcpts", counts->recipients_removed},
                           {"messages", counts->messages_removed},
                           {"bodies", counts->bodies_removed},
                           {"more", counts->more ? "yes" : "no"});
        }
        // More to do: next batch on the next loop turn, so other work interleaves.
        timer_->Enable(counts->more ? Millis(0) : options_.interval);
      });
}

}  // namespace outpost::daemon
