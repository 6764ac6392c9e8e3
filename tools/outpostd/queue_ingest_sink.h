#pragma once

#include <functional>

#include "common/status.h"
#include "queue/queue_store.h"
#include "queue/types.h"
#include "transport/server/ingest_sink.h"

namespace outpost::daemon {

// The envelope and body of an ingested message as the queue stores it. Policy fields of the
// recipients (queue, schedule, due times, expiry) are left empty for the submit step.
queue::NewMessage ToNewMessage(smtp_server::IngestedMessage message);

// The error the listener should see for a failed durable write (DESIGN.md §2, §5): below the
// free-space watermark -> NoSpace (452 4.3.1); anything else, disk full included -> IoError
// (451 4.3.0, the store resumes itself).
Status IngestErrorFor(const Status& store_error, bool below_watermark);

// The listener's IngestSink over the queue. The submit step stamps the delivery policy on the
// recipients and writes the message durably; the sink only converts and maps errors.
//
// Threading: the loop thread of the listener, which is also the store's and the submit
// step's. `store` must outlive the sink.
class QueueIngestSink final : public smtp_server::IngestSink {
 public:
  using SubmitDone = std::function<void(StatusOr<uint64_t>)>;
  // Must call its `done` exactly once on the loop thread: after the synced write with the
  // queue id, or with the store's (or the policy step's) error.
  using SubmitFn = std::function<void(queue::NewMessage, SubmitDone)>;

  QueueIngestSink(queue::QueueStore& store, SubmitFn submit)
      : store_(store), submit_(std::move(submit)) {}

  void Submit(smtp_server::IngestedMessage message, Done done) override;
  bool BelowFreeSpaceWatermark() override { return store_.BelowFreeSpaceWatermark(); }

  uint64_t accepted() const { return accepted_; }
  uint64_t refused() const { return refused_; }

 private:
  queue::QueueStore& store_;
  SubmitFn submit_;
  uint64_t accepted_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace outpost::daemon
