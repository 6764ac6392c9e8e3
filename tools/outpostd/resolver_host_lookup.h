#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/dispatcher.h"
#include "transport/dns/resolver.h"
#include "transport/smtp/host_address_lookup.h"

namespace outpost::daemon {

// HostAddressLookup (relay host names) over the daemon's DNS resolver. IP literals are
// returned as they are; "localhost" is the loopback addresses (RFC 6761 §6.3: never sent to
// DNS) so a relay on "localhost" works with any dns.servers; other names get the A/AAAA
// lookups of the strategy, in its order.
//
// Loop thread only. `dispatcher` and `resolver` are not owned and outlive this object; `done`
// runs exactly once on the loop thread, never inside Lookup() (unless this object is destroyed
// first; then never).
class ResolverHostLookup final : public transport::smtp::HostAddressLookup {
 public:
  ResolverHostLookup(Dispatcher& dispatcher, transport::dns::Resolver& resolver)
      : dispatcher_(dispatcher), resolver_(resolver) {}
  void Lookup(const std::string& host, transport::IpLookupStrategy strategy,
              Callback done) override;

 private:
  struct Job;
  void Next(std::shared_ptr<Job> job);
  static void Finish(Job& job);

  Dispatcher& dispatcher_;
  transport::dns::Resolver& resolver_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::daemon
