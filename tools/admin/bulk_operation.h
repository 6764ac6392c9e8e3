#pragma once
// Runs one operator action (hold, release, retry, cancel, replay) over a selection in bounded
// batches so a filter matching millions of recipients never blocks the loop for long: each
// batch lists at most `batch` messages (QueueStore::List, bounded scan), hands their ids to
// the action, and the next batch is posted to the loop only when the previous one is durable.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dispatcher.h"
#include "common/status.h"
#include "queue/queue_store.h"
#include "tools/admin/request_parse.h"

namespace outpost::admin {

struct BulkRequest {
  // Either explicit ids (the filter, if any, narrows which recipients are touched) ...
  std::vector<uint64_t> ids;
  // ... or a filter walked in pages of `batch` messages from `cursor`.
  std::optional<FilterSpec> filter;
  std::string cursor;
  bool single_page = false;  // stop after one page; the result's cursor continues
  bool dry_run = false;      // count matching messages/recipients, change nothing
  size_t batch = 1000;
};

struct BulkResult {
  queue::OpCounts counts;         // summed over batches; counts.cursor as described above
  uint64_t matched_recipients = 0;  // dry runs: recipients the selection matches
  uint32_t batches = 0;
};

// Applies the action to one batch. The selection always carries explicit ids.
using BatchAction = std::function<void(queue::Selection,
                                       std::function<void(StatusOr<queue::OpCounts>)>)>;

// Loop thread only. `done` runs exactly once on the loop thread unless `alive` expired
// meanwhile (the caller went away): then the remaining batches are abandoned silently, and
// whatever batches completed stay applied.
void RunBulk(Dispatcher& dispatcher, queue::QueueStore& store, BulkRequest request,
             BatchAction action, std::weak_ptr<bool> alive,
             std::function<void(StatusOr<BulkResult>)> done);

}  // namespace outpost::admin
