#include "scheduler/metrics.h"

namespace outpost::scheduler {

void SchedulerMetrics::RecordLatency(int64_t ms) {
  size_t i = 0;
  while (i < kLatencyBoundsMs.size() && ms > kLatencyBoundsMs[i]) ++i;
  ++attempt_latency_buckets[i];
  attempt_latency_sum_ms += static_cast<uint64_t>(ms < 0 ? 0 : ms);
  ++attempts;
}

}  // namespace outpost::scheduler
