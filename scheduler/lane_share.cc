#include "scheduler/lane_share.h"

#include <algorithm>
#include <tuple>

namespace outpost::scheduler {

const LaneShare::Tags* LaneShare::Find(const Flow& f) const {
  auto it = tags_.find(f);
  return it == tags_.end() ? nullptr : &it->second;
}

uint64_t LaneShare::StartOf(const Flow& f) const {
  const Tags* t = Find(f);
  return std::max(virtual_now_, t ? t->finish : 0);
}

size_t LaneShare::Pick(const std::vector<Flow>& ready) const {
  size_t best = 0;
  auto rank = [&](size_t i) {
    const Tags* t = Find(ready[i]);
    return std::make_tuple(StartOf(ready[i]), t ? t->served : 0);
  };
  for (size_t i = 1; i < ready.size(); ++i) {
    if (rank(i) < rank(best)) best = i;
  }
  return best;
}

uint64_t LaneShare::CostOf(std::chrono::nanoseconds took, size_t recipients) const {
  return static_cast<uint64_t>(std::max<int64_t>(took.count(), 0)) +
         static_cast<uint64_t>(options_.per_recipient.count()) * recipients;
}

std::chrono::nanoseconds LaneShare::RetryBudget() const {
  const uint64_t first = std::max<uint32_t>(1, options_.first_weight);
  const uint64_t retry = std::max<uint32_t>(1, options_.retry_weight);
  return std::chrono::nanoseconds(std::chrono::nanoseconds(options_.window).count() * retry /
                                  (first + retry));
}

uint64_t LaneShare::WeightOf(Lane lane) const {
  return std::max<uint32_t>(1, lane == Lane::kFirst ? options_.first_weight
                                                    : options_.retry_weight);
}

void LaneShare::CountRetryTime(uint64_t cost, MonotonicTime now) {
  if (now - window_start_ >= options_.window) {
    window_start_ = now;
    retry_ns_in_window_ = 0;
  }
  retry_ns_in_window_ += cost;
}

void LaneShare::Charge(const Flow& flow, std::chrono::nanoseconds took, size_t recipients,
                       MonotonicTime now) {
  const uint64_t start = StartOf(flow);
  const uint64_t cost = CostOf(took, recipients);
  Tags& t = tags_[flow];
  t.finish = start + cost / WeightOf(flow.lane);
  t.served = ++services_;
  virtual_now_ = start;
  if (flow.lane == Lane::kRetry) {
    CountRetryTime(cost, now);
  } else if (recipients > 0) {
    first_active_until_ = now + options_.active_grace;
  }
}

void LaneShare::ChargeAfter(const Flow& flow, std::chrono::nanoseconds took, MonotonicTime now) {
  const uint64_t cost = CostOf(took, 0);
  Tags& t = tags_[flow];
  t.finish = std::max(t.finish, virtual_now_) + cost / WeightOf(flow.lane);
  if (flow.lane == Lane::kRetry) CountRetryTime(cost, now);
}

bool LaneShare::RetriesMayRun(MonotonicTime now) const {
  if (now >= first_active_until_) return true;
  if (now - window_start_ >= options_.window) return true;  // a new window starts
  return retry_ns_in_window_ < static_cast<uint64_t>(RetryBudget().count());
}

MonotonicTime LaneShare::RetriesResumeAt(MonotonicTime now) const {
  if (RetriesMayRun(now)) return now;
  return std::min(first_active_until_, window_start_ + options_.window);
}

}  // namespace outpost::scheduler
