#include "transport/smtp/smtp_relay_agent.h"

#include <memory>

#include "common/logging.h"
#include "transport/smtp/tls_client.h"

namespace outpost::transport::smtp {

DeliveryResult TempFailAll(const DeliveryRequest& request, ErrorClass error, SmtpReply reply,
                           const std::string& host) {
  DeliveryResult result;
  for (size_t i = 0; i < request.recipients.size(); ++i) {
    RecipientOutcome o;
    o.kind = OutcomeKind::kTempFail;
    o.error = error;
    o.reply = reply;
    o.host = host;
    result.outcomes.push_back(std::move(o));
  }
  result.hosts_tried.push_back(HostAttempt{host, "", error, reply, 0});
  return result;
}

void SmtpRelayAgent::Deliver(DeliveryRequest request, DoneCallback done) {
  const auto* relay = std::get_if<RelayRoute>(&request.route);
  if (relay == nullptr) {
    deliverer_.Deliver(std::move(request), {}, std::move(done));  // reports the config error
    return;
  }
  TargetHost host{relay->address, {}, relay->port};
  if (IsIpLiteral(relay->address)) {
    host.addresses.push_back(relay->address);
    deliverer_.Deliver(std::move(request), {std::move(host)}, std::move(done));
    return;
  }
  auto shared = std::make_shared<DeliveryRequest>(std::move(request));
  lookup_.Lookup(
      host.name, IpLookupStrategy::kV4ThenV6,
      [this, shared, host, done](StatusOr<std::vector<std::string>> addrs) mutable {
        if (!addrs.ok() || addrs->empty()) {
          std::string why = addrs.ok() ? "no address for relay host" : addrs.status().message();
          OUTPOST_LOG_WARN("smtp.relay_lookup_failed", {"route", shared->route_name},
                           {"host", host.name}, {"error", why});
          done(TempFailAll(*shared, ErrorClass::kDns,
                           SmtpReply{451, "4.4.3", "cannot resolve " + host.name + ": " + why},
                           host.name));
          return;
        }
        host.addresses = std::move(*addrs);
        deliverer_.Deliver(std::move(*shared), {std::move(host)}, std::move(done));
      });
}

}  // namespace outpost::transport::smtp
