#include "transport/smtp/host_down_tracker.h"

#include <algorithm>

namespace outpost::transport::smtp {

void HostDownTracker::MarkDown(const std::string& key) {
  MonotonicTime now = clock_.MonotonicNow();
  if (entries_.size() > 4096) Purge(now);
  Entry& e = entries_[key];
  // A failure reported while the key is already down comes from a connection that started
  // before it was marked (concurrent deliveries to one dead host): it is the same outage, not
  // a consecutive failure. Counting it doubled the period per concurrent connection: 20
  // parallel refusals kept a host down for the 10-minute cap after it had come back.
  if (e.failures > 0 && now < e.until) return;
  e.failures = std::min<uint32_t>(e.failures + 1, 30);
  Millis d = options_.initial;
  for (uint32_t i = 1; i < e.failures && d < options_.max; ++i) d *= 2;
  e.until = now + std::min(d, options_.max);
}

void HostDownTracker::MarkUp(const std::string& key) { entries_.erase(key); }

bool HostDownTracker::IsDown(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && clock_.MonotonicNow() < it->second.until;
}

Millis HostDownTracker::RemainingForTest(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Millis(0);
  auto left = std::chrono::duration_cast<Millis>(it->second.until - clock_.MonotonicNow());
  return std::max(left, Millis(0));
}

void HostDownTracker::Purge(MonotonicTime now) {
  // Forget keys whose down time ended long ago, so the map cannot grow without bound.
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now > it->second.until + options_.max ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace outpost::transport::smtp
