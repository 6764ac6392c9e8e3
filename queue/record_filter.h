#pragma once

#include "outpost_queue.pb.h"
#include "queue/types.h"

namespace outpost::queue {

// Message-level parts of a Filter (sender, age).
bool MessageMatches(const Filter& f, const proto::MessageRecord& m);
// Recipient-level parts (state, domain, queue, last_error, failed since).
bool RecipientMatches(const Filter& f, const proto::RecipientRecord& r);

}  // namespace outpost::queue
