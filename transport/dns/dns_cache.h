#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "transport/dns/dns_message.h"

namespace outpost::transport::dns {

// A TTL-respecting cache of interpreted answers, keyed by (normalized name, type). Positive
// answers live for their record TTL, NODATA/NXDOMAIN for their SOA negative TTL (RFC 2308);
// temporary failures and zero TTLs are never cached. TTLs are capped at `max_ttl`.
// Not thread-safe: owned by one resolver on the loop thread.
class DnsCache {
 public:
  DnsCache(const Clock& clock, size_t max_entries, Millis max_ttl);

  // The cached result with ttl_seconds lowered to the time it has left, or nullopt.
  std::optional<DnsResult> Get(std::string_view name, DnsType type);
  void Put(std::string_view name, DnsType type, const DnsResult& result);
  size_t size() const { return entries_.size(); }

 private:
  using Key = std::pair<std::string, DnsType>;
  struct Entry {
    DnsResult result;
    MonotonicTime expires;
  };
  void EvictOne();

  const Clock& clock_;
  const size_t max_entries_;
  const Millis max_ttl_;
  std::map<Key, Entry> entries_;
};

}  // namespace outpost::transport::dns
