#pragma once

// Remembers hosts/IPs that failed to connect (RFC 5321 §4.5.4.1's "unreachable list"): the
// n-th consecutive failure marks the key down for initial * 2^(n-1), capped at `max`. While a
// key is down, deliveries bound for it are deferred without connecting (unless the request is
// the scheduler's probe, DeliveryRequest::probe). Failures reported while the key is down
// (connections started before it was marked) neither extend nor double the period. A
// successful connection forgets the history. Time comes from the injected Clock.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"

namespace outpost::transport::smtp {

class HostDownTracker {
 public:
  struct Options {
    Millis initial{std::chrono::seconds(30)};
    Millis max{std::chrono::minutes(10)};
  };
  HostDownTracker(const Clock& clock, Options options) : clock_(clock), options_(options) {}

  void MarkDown(const std::string& key);
  void MarkUp(const std::string& key);
  bool IsDown(const std::string& key) const;
  // How long `key` stays down from now (zero when it is up).
  Millis RemainingForTest(const std::string& key) const;

 private:
  struct Entry {
    uint32_t failures = 0;
    MonotonicTime until;
  };
  void Purge(MonotonicTime now);

  const Clock& clock_;
  Options options_;
  std::map<std::string, Entry> entries_;
};

}  // namespace outpost::transport::smtp
