#include "scheduler/destination_health.h"

#include <algorithm>

namespace outpost::scheduler {

bool DestinationHealth::Unreachable(const transport::DeliveryResult& result) {
  if (result.outcomes.empty()) return false;
  return std::all_of(result.outcomes.begin(), result.outcomes.end(), [](const auto& o) {
    return o.kind == transport::OutcomeKind::kTempFail &&
           (o.error == transport::ErrorClass::kConnection ||
            o.error == transport::ErrorClass::kDns);
  });
}

void DestinationHealth::Record(const std::string& dest, const transport::DeliveryResult& result,
                               int64_t now_ms, int64_t started_ms, bool probe) {
  if (dest.empty()) return;
  if ((++records_ & 1023) == 0) Forget(now_ms);
  if (!Unreachable(result)) {
    down_.erase(dest);
    return;
  }
  auto [it, fresh] = down_.try_emplace(dest);
  Down& d = it->second;
  if (!fresh && !probe) {
    // Started before this period was marked (or ended inside it): the same outage.
    if (started_ms < d.marked_unix_ms || now_ms < d.until_unix_ms || d.probing) return;
  }
  d.period = fresh ? options_.initial : std::min(d.period * 2, options_.max);
  d.marked_unix_ms = now_ms;
  d.until_unix_ms = now_ms + d.period.count();
  d.probing = false;
  d.error = result.outcomes.front().error;
  d.reply = result.outcomes.front().reply;
}

const DestinationHealth::Down* DestinationHealth::DownAt(const std::string& dest,
                                                         int64_t now_ms) {
  if (dest.empty() || down_.empty()) return nullptr;
  auto it = down_.find(dest);
  if (it == down_.end()) return nullptr;
  Down& d = it->second;
  if (now_ms < d.until_unix_ms) return &d;
  if (!d.probing) return nullptr;  // the period has ended: the next transaction is the probe
  d.until_unix_ms = now_ms + d.period.count();
  return &d;
}

bool DestinationHealth::StartProbe(const std::string& dest, int64_t now_ms) {
  if (dest.empty() || down_.empty()) return false;
  auto it = down_.find(dest);
  if (it == down_.end() || it->second.probing || now_ms < it->second.until_unix_ms) return false;
  it->second.probing = true;
  it->second.until_unix_ms = now_ms + it->second.period.count();
  return true;
}

size_t DestinationHealth::DownCount(int64_t now_ms) const {
  size_t n = 0;
  for (const auto& [dest, d] : down_) n += now_ms < d.until_unix_ms ? 1 : 0;
  return n;
}

void DestinationHealth::Forget(int64_t now_ms) {
  for (auto it = down_.begin(); it != down_.end();) {
    if (!it->second.probing && now_ms - it->second.until_unix_ms > options_.max.count()) {
      it = down_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace outpost::scheduler
