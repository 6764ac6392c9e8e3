#pragma once
// Builds the DSN message for one report (one message, one event, its recipients) with
// queue/dsn's composer, as a queue::NewMessage ready to be enqueued in the same batch as the
// transition that caused it: null return path, source 'dsn', the original return path as the
// only recipient. Its schedule fields are left for the caller (the ingest planner) to fill.
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "outpost_queue.pb.h"
#include "queue/dsn/dsn_composer.h"
#include "queue/dsn/dsn_types.h"
#include "queue/types.h"

namespace outpost::scheduler {

class DsnWriter {
 public:
  explicit DsnWriter(dsn::RandomBits random) : random_(std::move(random)) {}

  // InvalidArgument for a null return path or an empty report (never a DSN for <>).
  // `reporting_mta` is server.hostname. Loop thread only (draws random bits).
  StatusOr<queue::NewMessage> Build(const proto::MessageRecord& message, std::string_view body,
                                    dsn::DsnEvent event,
                                    const std::vector<dsn::RecipientReport>& recipients,
                                    std::string_view reporting_mta, int64_t now_unix_ms) const;

 private:
  dsn::RandomBits random_;
};

}  // namespace outpost::scheduler
