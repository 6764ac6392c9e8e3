#pragma once
// Counters the scheduler keeps for /metrics. Plain data, copied out by Scheduler::metrics().
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace outpost::scheduler {

struct SchedulerMetrics {
  // Upper bounds (ms) of the attempt latency buckets; a last implicit +Inf bucket follows.
  static constexpr std::array<int64_t, 10> kLatencyBoundsMs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};

  // Recipient results by (status, route): status is sent|deferred|bounced|failed.
  std::map<std::pair<std::string, std::string>, uint64_t> deliveries;
  // Transactions per latency bucket (not cumulative; index kLatencyBoundsMs.size() is +Inf).
  std::array<uint64_t, kLatencyBoundsMs.size() + 1> attempt_latency_buckets{};
  uint64_t attempt_latency_sum_ms = 0;
  uint64_t attempts = 0;  // transactions completed
  // Transactions in flight per virtual queue (queues known to the scheduler, 0 included).
  std::map<std::string, uint32_t> in_flight_by_queue;
  // Recipient attempts that ended with an error, by last_error class (dns, connection, tls,
  // unexpected-reply, ...): where deliveries fail, at a glance.
  std::map<std::string, uint64_t> attempt_errors;
  uint64_t config_failures = 0;   // recipients deferred with last_error 'config'
  uint64_t dsns_enqueued = 0;     // failure/delay/success reports written
  uint64_t store_errors = 0;      // failed scans or outcome writes (retried later)
  uint64_t recipients_parked = 0; // waiting in memory for a destination slot or a resume
  uint64_t deferred_destination_down = 0;  // deferred without a transaction (DestinationHealth)
  uint64_t destinations_down = 0;          // destinations in a down period now

  void RecordLatency(int64_t ms);
};

}  // namespace outpost::scheduler
