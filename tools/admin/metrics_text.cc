#include "tools/admin/metrics_text.h"

#include <cstdio>
#include <sstream>

namespace outpost::admin {
namespace {

void Header(std::ostream& os, const char* name, const char* type, const char* help) {
  os << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

// One sample without labels.
template <typename T>
void Single(std::ostream& os, const char* name, const char* type, const char* help, T value) {
  Header(os, name, type, help);
  os << name << " " << value << "\n";
}

// A gauge with one label, one sample per map entry.
template <typename Map>
void ByLabel(std::ostream& os, const char* name, const char* help, const char* label,
             const Map& values) {
  Header(os, name, "gauge", help);
  for (const auto& [key, n] : values) {
    os << name << "{" << label << "=\"" << PrometheusLabel(key) << "\"} " << n << "\n";
  }
}

// A histogram from per-bucket (not cumulative) counts, the last being +Inf; `bounds` and
// `sum` in 1/`per_second` of a second.
template <typename Bounds, typename Buckets>
void Histogram(std::ostream& os, const char* name, const char* help, const Bounds& bounds,
               const Buckets& buckets, uint64_t sum, uint64_t count, double per_second) {
  auto seconds = [per_second](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v / per_second);
    return std::string(buf);
  };
  Header(os, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    os << name << "_bucket{le=\"" << seconds(static_cast<double>(bounds[i])) << "\"} "
       << cumulative << "\n";
  }
  cumulative += buckets[bounds.size()];
  os << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
  os << name << "_sum " << seconds(static_cast<double>(sum)) << "\n";
  os << name << "_count " << count << "\n";
}

}  // namespace

std::string PrometheusLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderPrometheus(const MetricsSnapshot& m) {
  std::ostringstream os;
  if (m.queue) {
    const queue::QueueStats& q = *m.queue;
    Single(os, "outpost_queue_messages", "gauge",
           "Messages stored.", q.messages);
    Header(os, "outpost_queue_recipients", "gauge", "Recipients stored, by state.");
    for (const char* state :
         {"scheduled", "deferred", "delivered", "failed", "held", "cancelled"}) {
      auto it = q.by_state.find(state);
      os << "outpost_queue_recipients{state=\"" << state << "\"} "
         << (it == q.by_state.end() ? 0 : it->second) << "\n";
    }
    ByLabel(os, "outpost_queue_active_recipients",
            "Recipients not finished (scheduled, deferred, held), by virtual queue.", "queue",
            q.by_queue);
    Single(os, "outpost_queue_quarantined_records", "gauge",
           "Records that could not be decoded, moved to quarantine.", q.quarantined);
  }
  Single(os, "outpost_queue_store_read_ok", "gauge",
           "1 when the queue counters above could be read.", (m.queue ? 1 : 0));
  Single(os, "outpost_queue_leased_recipients", "gauge",
           "Recipients leased by the scheduler (in flight or waiting for a slot).", m.leases);

  const scheduler::SchedulerMetrics& s = m.scheduler;
  Header(os, "outpost_deliveries_total", "counter",
         "Recipient results by status (sent, deferred, bounced, failed) and route.");
  for (const auto& [key, n] : s.deliveries) {
    os << "outpost_deliveries_total{status=\"" << PrometheusLabel(key.first) << "\",route=\""
       << PrometheusLabel(key.second) << "\"} " << n << "\n";
  }
  Histogram(os, "outpost_attempt_duration_seconds",
            "Duration of delivery transactions (one attempt of the recipients sharing a route).",
            scheduler::SchedulerMetrics::kLatencyBoundsMs, s.attempt_latency_buckets,
            s.attempt_latency_sum_ms, s.attempts, 1e3);
  Header(os, "outpost_attempt_errors_total", "counter",
         "Recipient attempts that ended with an error, by last_error class (dns, connection, ...).");
  for (const auto& [cls, n] : s.attempt_errors) {
    os << "outpost_attempt_errors_total{class=\"" << PrometheusLabel(cls) << "\"} " << n << "\n";
  }
  ByLabel(os, "outpost_transactions_in_flight",
          "Delivery transactions in flight, by virtual queue.", "queue", s.in_flight_by_queue);
  Single(os, "outpost_config_failures_total", "counter",
           "Recipients deferred because a strategy named no existing object (last_error config).", s.config_failures);
  Single(os, "outpost_dsns_enqueued_total", "counter",
           "Delivery status notifications (failure, delay, success) enqueued.", s.dsns_enqueued);
  Single(os, "outpost_scheduler_store_errors_total", "counter",
           "Due scans or outcome writes that failed (retried later).", s.store_errors);
  Single(os, "outpost_recipients_parked", "gauge",
           "Recipients waiting in memory for a destination slot or a resume.", s.recipients_parked);
  Single(os, "outpost_destinations_down", "gauge",
         "Destinations (relay route, MX domain) marked down: their recipients wait for a probe.",
         s.destinations_down);
  Single(os, "outpost_deferred_destination_down_total", "counter",
         "Recipients deferred without a transaction because their destination was down.",
         s.deferred_destination_down);

  const StorageCounters& st = m.storage;
  Single(os, "outpost_storage_synced_writes_total", "counter",
           "Synced RocksDB writes (one fsync per group commit).", st.synced_writes);
  Single(os, "outpost_storage_committed_batches_total", "counter",
           "Caller write batches made durable (committed / synced = mean group size).", st.committed_batches);
  Header(os, "outpost_storage_group_commit_batch_size_mean", "gauge",
         "Mean number of caller batches per synced write since start.");
  char mean[32];
  std::snprintf(mean, sizeof mean, "%g",
                st.synced_writes == 0 ? 0.0
                                      : static_cast<double>(st.committed_batches) /
                                            static_cast<double>(st.synced_writes));
  os << "outpost_storage_group_commit_batch_size_mean " << mean << "\n";
  Single(os, "outpost_storage_failed_batches_total", "counter",
           "Write batches that failed (disk full, I/O error).", st.failed_batches);
  Single(os, "outpost_storage_resume_attempts_total", "counter",
           "Attempts to resume the store after a write error.", st.resume_attempts);
  Histogram(os, "outpost_storage_sync_write_duration_seconds",
            "Duration of the synced RocksDB writes (WAL fsync included), one per group commit.",
            storage::SyncLatency::kBoundsUs, st.sync_latency.buckets, st.sync_latency.sum_us,
            st.sync_latency.count, 1e6);
  return os.str();
}

}  // namespace outpost::admin
