#include "transport/dns/dns_cache.h"

#include <algorithm>

namespace outpost::transport::dns {

DnsCache::DnsCache(const Clock& clock, size_t max_entries, Millis max_ttl)
    : clock_(clock), max_entries_(max_entries), max_ttl_(max_ttl) {}

std::optional<DnsResult> DnsCache::Get(std::string_view name, DnsType type) {
  auto it = entries_.find(Key(NormalizeDnsName(name), type));
  if (it == entries_.end()) return std::nullopt;
  const MonotonicTime now = clock_.MonotonicNow();
  if (now >= it->second.expires) {
    entries_.erase(it);
    return std::nullopt;
  }
  DnsResult result = it->second.result;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(it->second.expires - now);
  result.ttl_seconds = static_cast<uint32_t>(left.count());
  return result;
}

void DnsCache::Put(std::string_view name, DnsType type, const DnsResult& result) {
  if (result.outcome == DnsOutcome::kTempFail || result.ttl_seconds == 0 || max_entries_ == 0) {
    return;
  }
  Millis ttl = std::min<Millis>(std::chrono::seconds(result.ttl_seconds), max_ttl_);
  Key key(NormalizeDnsName(name), type);
  if (entries_.find(key) == entries_.end() && entries_.size() >= max_entries_) EvictOne();
  entries_[std::move(key)] = Entry{result, clock_.MonotonicNow() + ttl};
}

// Drops every expired entry; if none was, the one closest to expiry. O(n), but only runs
// when the cache is full.
void DnsCache::EvictOne() {
  const MonotonicTime now = clock_.MonotonicNow();
  size_t before = entries_.size();
  std::erase_if(entries_, [now](const auto& kv) { return now >= kv.second.expires; });
  if (entries_.size() < before || entries_.empty()) return;
  auto soonest = std::min_element(
      entries_.begin(), entries_.end(),
      [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
  entries_.erase(soonest);
}

}  // namespace outpost::transport::dns
