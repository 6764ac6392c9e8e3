#pragma once
// transport::HostPolicySource over the router: the connection and TLS strategy expressions
// evaluated for one transaction's envelope (its first recipient) and the host the transport
// is at, mapped to transport policies. Also maps router routes to transport routes.
#include <memory>
#include <string>
#include <variant>

#include "router/router.h"
#include "scheduler/envelope_fields.h"
#include "transport/api/delivery.h"

namespace outpost::scheduler {

// One per transaction; owned by the scheduler, outlives the delivery. Holds its own copy of
// the router pointer, so a SIGHUP reload does not change an attempt in flight.
// Called on the loop thread only (the transport's contract).
class RouterHostPolicy final : public transport::HostPolicySource {
 public:
  // `fallback_hostname` is used for EHLO when neither the strategy nor server.hostname
  // names one.
  RouterHostPolicy(std::shared_ptr<const router::Router> router, EnvelopeFields envelope,
                   std::string fallback_hostname);

  bool ConnectionFor(const transport::HostContext& host, transport::ConnectionPolicy* out,
                     std::string* error) override;
  bool TlsFor(const transport::HostContext& host, transport::TlsPolicy* out,
              std::string* error) override;

 private:
  router::Envelope EnvelopeAt(const transport::HostContext& host);

  std::shared_ptr<const router::Router> router_;
  EnvelopeFields envelope_;
  std::string fallback_hostname_;
  uint64_t source_ip_turn_ = 0;  // round-robin over a strategy's source IPs
};

// The transport's view of `route` for a transaction to `rcpt_domain` (Mx routes). Relay
// secrets were resolved by the config loader (through its SecretResolver).
std::variant<transport::LocalRoute, transport::MxRoute, transport::RelayRoute> ToTransportRoute(
    const router::Route& route, std::string_view rcpt_domain);

transport::ConnectionPolicy ToConnectionPolicy(const router::ConnectionStrategy& s,
                                               const router::SourceIp* source,
                                               std::string_view server_hostname);
transport::TlsPolicy ToTlsPolicy(const router::TlsStrategy& s);

}  // namespace outpost::scheduler
