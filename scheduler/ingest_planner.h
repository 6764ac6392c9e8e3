#pragma once
// Schedules recipients that enter the queue (SMTP/API ingest, DSNs) or are replayed: the
// schedule expression per recipient picks the virtual queue, retry list, notices and expiry.
#include <chrono>
#include <cstdint>

#include "outpost_queue.pb.h"
#include "queue/types.h"
#include "router/router.h"

namespace outpost::scheduler {

// Fills every recipient's policy fields (virtual_queue, schedule, next_attempt, next_notify,
// expiry, max_attempts) of `message`: first attempt at `now`, notices and TTL from
// message->received_unix_ms. A recipient whose schedule expression fails (a computed name
// that does not exist) is logged loudly and put in the built-in `remote` schedule's queue
// with its first attempt `config_retry` from now — never refused, never bounced.
// Returns how many recipients hit a config error.
size_t PlanNewMessage(const router::Router& router, queue::NewMessage* message, int64_t now_unix_ms,
                      std::chrono::milliseconds config_retry);

// The ReplayPlanner body: re-runs the schedule expression with the current config for a
// replayed recipient (already reset by the store); notices and TTL restart from now.
void PlanReplay(const router::Router& router, const proto::MessageRecord& message,
                proto::RecipientRecord* rcpt, int64_t now_unix_ms,
                std::chrono::milliseconds config_retry);

}  // namespace outpost::scheduler
