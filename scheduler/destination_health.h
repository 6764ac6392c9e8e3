#pragma once
// Which destinations (a Relay route, the recipient domain of an MX route: the scheduler's
// per-destination concurrency keys) could not be reached recently.
//
// Why: the transport remembers a down host and fails the next attempts at once, but each of
// those attempts still went through a transaction, a full outcome and a retry on the
// recipient's own schedule. With a backlog of 100-recipient messages for a dead relay, every
// retry interval re-read and re-wrote the whole backlog, and ingest stalled behind it. With
// this memory the scheduler defers due recipients of a down destination in bulk, without a
// transaction, and re-times them to the end of the down period (DESIGN.md §5: the deferral
// counts as an attempt, last_error as the failure that marked the destination down).
//
// A destination is down after a transaction in which every recipient failed temporarily
// before any session got through (dns or connection class), for a period that starts at
// `initial` and doubles with each failed probe, up to `max`. Any other result (a delivery, a
// reply, a TLS failure) marks it up again. The first transaction after a period ended is the
// probe (StartProbe): exactly one at a time. While it is out the destination still counts as
// down, its other recipients are deferred in bulk to the end of a provisional period (so a
// probe hanging on a connect timeout neither floods the dead host with probes nor leaves the
// backlog leased in memory). Failures of transactions that started before the destination was
// marked down are the same outage: they neither extend nor double the period.
//
// Not thread-safe: the scheduler's loop only. Memory: one small entry per destination that is
// currently failing (forgotten `max` after its period ended).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "transport/api/delivery.h"

namespace outpost::scheduler {

class DestinationHealth {
 public:
  struct Options {
    Millis initial{std::chrono::seconds(30)};
    Millis max{std::chrono::minutes(10)};
  };
  struct Down {
    int64_t until_unix_ms = 0;
    int64_t marked_unix_ms = 0;  // when this period started
    Millis period{0};
    bool probing = false;        // the probe is out (until_unix_ms is provisional)
    transport::ErrorClass error = transport::ErrorClass::kConnection;
    transport::SmtpReply reply;  // what the failing transaction reported
  };

  explicit DestinationHealth(Options options) : options_(options) {}

  // A transaction to `dest` ("" = no destination key: ignored), started at `started_ms`, ended
  // with `result`; `probe` if StartProbe made it the probe.
  void Record(const std::string& dest, const transport::DeliveryResult& result, int64_t now_ms,
              int64_t started_ms, bool probe);
  // Set when `dest` is down at `now_ms`: recipients bound there are deferred until
  // `until_unix_ms`. While the probe is out, a provisional period that has run out is renewed
  // from `now_ms`.
  const Down* DownAt(const std::string& dest, int64_t now_ms);
  // Called for a transaction about to be handed to an agent: true when it is the probe of a
  // destination whose down period has ended (DeliveryRequest::probe); from then on the
  // destination stays down (DownAt) until the probe's result is recorded.
  bool StartProbe(const std::string& dest, int64_t now_ms);
  // Destinations in a down period at `now_ms` (for /metrics).
  size_t DownCount(int64_t now_ms) const;
  // Forgets every destination (an operator's retry-now means: try now).
  void Clear() { down_.clear(); }
  size_t size_for_test() const { return down_.size(); }

  // True when every recipient of `result` failed temporarily at the dns or connection stage.
  static bool Unreachable(const transport::DeliveryResult& result);

 private:
  void Forget(int64_t now_ms);

  Options options_;
  std::unordered_map<std::string, Down> down_;
  uint32_t records_ = 0;
};

}  // namespace outpost::scheduler
