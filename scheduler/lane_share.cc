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

void LaneShare::Charge(const Flow& flow, std::chrono::nanoseconds took, size_t recipients) {
  const uint64_t start = StartOf(flow);
  const uint64_t weight =
      std::max<uint32_t>(1, flow.lane == Lane::kFirst ? options_.first_weight
                                                      : options_.retry_weight);
  const uint64_t cost = static_cast<uint64_t>(std::max<int64_t>(took.count(), 0)) +
                        static_cast<uint64_t>(options_.per_recipient.count()) * recipients;
  Tags& t = tags_[flow];
  t.finish = start + cost / weight;
  t.served = ++services_;
  virtual_now_ = start;
}

}  // namespace outpost::scheduler
