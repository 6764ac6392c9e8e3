#pragma once
// Pure schedule arithmetic of DESIGN.md §4: retry intervals with jitter, delay-notice times
// (offsets from arrival) and expiry. No clock, no I/O: callers pass `now` and the randomness.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "router/config.h"

namespace outpost::scheduler {

using Millis = std::chrono::milliseconds;

// Uniform random 64-bit values. Called on the loop thread only. Tests pass a fixed sequence.
using RandomSource = std::function<uint64_t()>;
// std::mt19937_64 seeded with `seed`.
RandomSource SeededRandom(uint64_t seed);

// The wait after the n-th temporary failure (n >= 1): retry[min(n-1, len-1)] scaled by a
// factor drawn uniformly from [0.9, 1.1]. n == 0 is treated as 1.
Millis RetryDelay(const router::Schedule& schedule, uint32_t failures, const RandomSource& random);

// Where a recipient's schedule puts it, as stored in its record.
struct SchedulePlan {
  std::string virtual_queue;
  std::string schedule;
  int64_t next_attempt_unix_ms = 0;
  int64_t next_notify_unix_ms = 0;  // 0 = no delay notice
  int64_t expiry_unix_ms = 0;       // 0 = no TTL
  uint32_t max_attempts = 0;        // 0 = no attempt limit
};

// A fresh start under `schedule`: first attempt at `first_attempt_unix_ms`, delay notices and
// TTL counted from `base_unix_ms` (arrival, or the replay instant).
SchedulePlan PlanFromSchedule(const router::Schedule& schedule, int64_t base_unix_ms,
                              int64_t first_attempt_unix_ms);

// The schedule used when the schedule expression fails (a computed name that does not
// exist): the built-in `remote` schedule of `config` if present, else its first schedule.
// Never null for a loaded Config (the built-ins always exist).
const router::Schedule* FallbackSchedule(const router::Config& config);

// After notice number `notify_num` (0-based index into schedule.notify) was sent or skipped at
// `now`: the next notice at base + notify[k] for the first k > notify_num still in the future
// (notices missed while the daemon was down are not sent in a burst), and how far notify_num
// advances (k - notify_num). next = 0 when the list is exhausted.
struct NotifyStep {
  int64_t next_notify_unix_ms = 0;
  uint32_t increment = 1;
};
NotifyStep NextNotify(const router::Schedule& schedule, int64_t base_unix_ms, uint32_t notify_num,
                      int64_t now_unix_ms);

}  // namespace outpost::scheduler
