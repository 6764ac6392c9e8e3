#pragma once
// GET /metrics: the Prometheus text exposition format (version 0.0.4) of what the queue
// store, the storage writer and the scheduler expose. Pure: data in, text out.
#include <cstdint>
#include <optional>
#include <string>

#include "queue/types.h"
#include "scheduler/metrics.h"
#include "storage/store.h"

namespace outpost::admin {

struct StorageCounters {
  uint64_t synced_writes = 0;      // fsynced RocksDB writes (one per group commit)
  uint64_t committed_batches = 0;  // caller batches made durable
  uint64_t failed_batches = 0;
  uint64_t resume_attempts = 0;
  storage::SyncLatency sync_latency;
};

struct MetricsSnapshot {
  std::optional<queue::QueueStats> queue;  // nullopt when the store could not be read
  scheduler::SchedulerMetrics scheduler;
  StorageCounters storage;
  uint64_t leases = 0;  // recipients leased (in flight or parked)
};

std::string RenderPrometheus(const MetricsSnapshot& m);

// Escapes a label value (backslash, double quote, newline).
std::string PrometheusLabel(std::string_view value);

}  // namespace outpost::admin
