#pragma once
// Turns what happened to one recipient (an attempt's outcome, a TTL that ran out, a delay
// notice falling due, a config error) into the RecipientChange the store records and the DSN
// entry it calls for. Pure: the caller passes now, the schedule and the randomness. This is
// the one place that implements the counting rules of DESIGN.md §4.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "outpost_queue.pb.h"
#include "queue/dsn/dsn_types.h"
#include "queue/types.h"
#include "router/config.h"
#include "scheduler/schedule_plan.h"
#include "transport/api/delivery.h"

namespace outpost::scheduler {

// The status word of a delivery log line: sent (delivered), deferred (temporary failure,
// will retry), bounced (permanently failed and a failure DSN goes to the sender), failed
// (permanently failed without a DSN: null sender, NOTIFY=NEVER...), expired-recipient
// failures included in the last two.
enum class LogStatus { kNone, kSent, kDeferred, kBounced, kFailed };
std::string_view LogStatusName(LogStatus s);

struct PlannedChange {
  queue::RecipientChange change;
  // Set when this change calls for a report to the sender (already checked against NOTIFY
  // and the null return path); `report` is then filled in.
  std::optional<dsn::DsnEvent> dsn_event;
  dsn::RecipientReport report;
  LogStatus log_status = LogStatus::kNone;
};

struct PlanContext {
  int64_t now_unix_ms = 0;
  // The recipient's schedule; null when it no longer exists (a reload removed it): retries
  // then use the config retry delay.
  const router::Schedule* schedule = nullptr;
  const RandomSource* random = nullptr;  // for retry jitter; required for attempt outcomes
  Millis config_retry{std::chrono::minutes(5)};
};

// What the attempt itself was, for the history record.
struct AttemptMeta {
  std::string route;
  int64_t started_unix_ms = 0;
  int64_t duration_ms = 0;
};

dsn::NotifyFlags NotifyFlagsOf(uint32_t notify_flags);

// An attempt ended with `outcome`:
//  - delivered -> delivered (+ success report if NOTIFY=SUCCESS and we are the last DSN hop);
//  - permanent -> failed (+ failure report);
//  - temporary with class `config` -> see PlanConfigFailure;
//  - temporary -> retry_num + 1 = n; when max_attempts is set and n >= max_attempts the
//    recipient fails with this error (+ failure report); else deferred, next attempt after
//    RetryDelay(n), and a delay notice rides along when one is due.
PlannedChange PlanAttemptOutcome(const proto::MessageRecord& message,
                                 const proto::RecipientRecord& rcpt,
                                 const transport::RecipientOutcome& outcome,
                                 const AttemptMeta& attempt, const PlanContext& ctx);

// A computed strategy name did not exist: temporary failure with last_error 'config' that
// consumes neither retry_num nor expiry time (the TTL instant moves by the same wait).
PlannedChange PlanConfigFailure(const proto::MessageRecord& message,
                                const proto::RecipientRecord& rcpt, std::string_view error,
                                std::string_view route, const PlanContext& ctx);

// True when the recipient has expired at `now` (TTL reached, or max attempts used).
bool IsExpired(const proto::RecipientRecord& rcpt, int64_t now_unix_ms);
// The recipient expired: failed with its last error (+ failure report, status 5.4.7 unless
// the last reply was already permanent).
PlannedChange PlanExpiry(const proto::MessageRecord& message, const proto::RecipientRecord& rcpt,
                         const PlanContext& ctx);

// True when a delay notice is due at `now`.
bool IsNotifyDue(const proto::RecipientRecord& rcpt, int64_t now_unix_ms);
// A delay notice fell due while the next attempt is still ahead: the notice (if NOTIFY asks
// for it) and the next notice time; state unchanged.
PlannedChange PlanNotice(const proto::MessageRecord& message, const proto::RecipientRecord& rcpt,
                         const PlanContext& ctx);

// No attempt and no count: the recipient waits until `next_attempt_unix_ms` (a suspended or
// saturated destination). State unchanged.
PlannedChange PlanPostpone(const proto::RecipientRecord& rcpt, int64_t next_attempt_unix_ms);

}  // namespace outpost::scheduler
