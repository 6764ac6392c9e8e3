#pragma once

// transport::DeliveryAgent for Relay routes (SMTP or LMTP smart hosts): resolves the relay's
// address (an IP literal is used as is; a name goes through HostAddressLookup) and hands the
// single-host plan to SmtpDeliverer.

#include "transport/api/delivery.h"
#include "transport/smtp/host_address_lookup.h"
#include "transport/smtp/smtp_deliverer.h"

namespace outpost::transport::smtp {

class SmtpRelayAgent final : public DeliveryAgent {
 public:
  // Both outlive the agent.
  SmtpRelayAgent(SmtpDeliverer& deliverer, HostAddressLookup& lookup)
      : deliverer_(deliverer), lookup_(lookup) {}

  // request.route must hold a RelayRoute (anything else: temporary `config` failure).
  void Deliver(DeliveryRequest request, DoneCallback done) override;

 private:
  SmtpDeliverer& deliverer_;
  HostAddressLookup& lookup_;
};

// A result where every recipient has the same temporary failure (DNS, config), for agents.
DeliveryResult TempFailAll(const DeliveryRequest& request, ErrorClass error, SmtpReply reply,
                           const std::string& host);

}  // namespace outpost::transport::smtp
