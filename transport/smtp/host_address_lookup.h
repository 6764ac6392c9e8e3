#pragma once

// The one thing SmtpRelayAgent needs from DNS: a relay host name's addresses. The composition
// root backs it with the c-ares resolver of transport/dns/; tests use a map.

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/api/delivery.h"

namespace outpost::transport::smtp {

class HostAddressLookup {
 public:
  using Callback = std::function<void(StatusOr<std::vector<std::string>>)>;
  virtual ~HostAddressLookup() = default;
  // Resolves `host` to IP literals, ordered by `strategy`. Loop thread. `done` runs exactly
  // once on the loop thread, never inside Lookup(). Must not block. An error or an empty list
  // means the relay cannot be reached now (a temporary `dns` failure).
  virtual void Lookup(const std::string& host, IpLookupStrategy strategy, Callback done) = 0;
};

}  // namespace outpost::transport::smtp
