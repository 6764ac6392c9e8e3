#pragma once

#include <functional>
#include <string_view>

#include "transport/dns/dns_message.h"

namespace outpost::transport::dns {

// Asynchronous DNS lookups. The real one is CaresResolver; tests use FakeResolver.
// All methods are called on the loop thread.
class Resolver {
 public:
  // Receives the interpreted answer. Failures are data too: a timeout, SERVFAIL or unparsable
  // answer arrives as DnsOutcome::kTempFail with a detail, NXDOMAIN as kNxDomain.
  using Callback = std::function<void(DnsResult)>;
  virtual ~Resolver() = default;

  // Looks up (name, type). `done` is called exactly once, on the loop thread, never from
  // inside Lookup() itself (even for cache hits and invalid names), unless the resolver is
  // destroyed first, in which case it is never called.
  virtual void Lookup(std::string_view name, DnsType type, Callback done) = 0;
};

}  // namespace outpost::transport::dns
