#include "scheduler/schedule_plan.h"

#include <algorithm>
#include <memory>
#include <random>

namespace outpost::scheduler {

RandomSource SeededRandom(uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine]() { return (*engine)(); };
}

Millis RetryDelay(const router::Schedule& schedule, uint32_t failures,
                  const RandomSource& random) {
  if (schedule.retry.empty()) return Millis(0);  // the loader never allows it
  const size_t n = std::max<uint32_t>(failures, 1);
  const Millis base = schedule.retry[std::min(n - 1, schedule.retry.size() - 1)];
  // Factor in [0.9, 1.1] with 1/10000 resolution: jitter spreads retries of a burst.
  const int64_t step = static_cast<int64_t>(random() % 20001) - 10000;  // [-10000, 10000]
  const int64_t jitter = base.count() * step / 100000;
  return Millis(base.count() + jitter);
}

SchedulePlan PlanFromSchedule(const router::Schedule& schedule, int64_t base_unix_ms,
                              int64_t first_attempt_unix_ms) {
  SchedulePlan p;
  p.virtual_queue = schedule.queue_id;
  p.schedule = schedule.name;
  p.next_attempt_unix_ms = first_attempt_unix_ms;
  if (!schedule.notify.empty()) p.next_notify_unix_ms = base_unix_ms + schedule.notify[0].count();
  if (schedule.expiry == router::Schedule::ExpiryKind::kTtl) {
    p.expiry_unix_ms = base_unix_ms + schedule.ttl.count();
  } else {
    p.max_attempts = std::max<uint32_t>(schedule.max_attempts, 1);
  }
  return p;
}

const router::Schedule* FallbackSchedule(const router::Config& config) {
  if (const router::Schedule* s = config.FindSchedule("remote")) return s;
  return config.schedules.empty() ? nullptr : &config.schedules.front();
}

NotifyStep NextNotify(const router::Schedule& schedule, int64_t base_unix_ms, uint32_t notify_num,
                      int64_t now_unix_ms) {
  NotifyStep step;
  for (size_t k = size_t{notify_num} + 1; k < schedule.notify.size(); ++k) {
    const int64_t at = base_unix_ms + schedule.notify[k].count();
    if (at > now_unix_ms) {
      step.next_notify_unix_ms = at;
      step.increment = static_cast<uint32_t>(k - notify_num);
      return step;
    }
  }
  step.next_notify_unix_ms = 0;
  step.increment = 1;
  return step;
}

}  // namespace outpost::scheduler
