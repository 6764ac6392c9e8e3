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
                               int64_t now_ms) {
  if (dest.empty()) return;
  if ((++records_ & 1023) == 0) Forget(now_ms);
  if (!Unreachable(result)) {
    down_.erase(dest);
    return;
  }
  Down& d = down_[dest];
  // Transactions that started before the destination was marked down end inside the period:
  // they neither extend nor double it.
  if (now_ms < d.until_unix_ms) return;
  d.period = d.period.count() == 0 ? options_.initial : std::min(d.period * 2, options_.max);
  d.until_unix_ms = now_ms + d.period.count();
  d.error = result.outcomes.front().error;
  d.reply = result.outcomes.front().reply;
}

const DestinationHealth::Down* DestinationHealth::DownAt(const std::string& dest,
                                                         int64_t now_ms) const {
  if (dest.empty() || down_.empty()) return nullptr;
  auto it = down_.find(dest);
  return it != down_.end() && now_ms < it->second.until_unix_ms ? &it->second : nullptr;
}

size_t DestinationHealth::DownCount(int64_t now_ms) const {
  size_t n = 0;
  for (const auto& [dest, d] : down_) n += now_ms < d.until_unix_ms ? 1 : 0;
  return n;
}

bool DestinationHealth::ProbeDue(const std::string& dest, int64_t now_ms) const {
  if (dest.empty() || down_.empty()) return false;
  auto it = down_.find(dest);
  return it != down_.end() && now_ms >= it->second.until_unix_ms;
}

void DestinationHealth::Forget(int64_t now_ms) {
  for (auto it = down_.begin(); it != down_.end();) {
    if (now_ms - it->second.until_unix_ms > options_.max.count()) {
      it = down_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace outpost::scheduler
