#pragma once

// Shared test scaffolding: a loop runner with a watchdog, a configurable HostPolicySource, and
// request/script builders.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "tests/transport/smtp/scripted_server.h"
#include "transport/api/delivery.h"
#include "transport/smtp/smtp_deliverer.h"

namespace outpost::transport::smtp::testing {

// Runs the loop until `done` is set by a callback (which calls Exit) or `limit` passes.
void RunLoop(LibeventDispatcher& loop, const bool& done,
             std::chrono::milliseconds limit = std::chrono::seconds(30));

// Runs one SmtpDeliverer::Deliver() to completion on `loop` (bounded by the watchdog).
DeliveryResult DeliverAndWait(LibeventDispatcher& loop, SmtpDeliverer& deliverer,
                              DeliveryRequest request, std::vector<TargetHost> hosts);

class TestPolicy : public HostPolicySource {
 public:
  ConnectionPolicy connection;
  TlsPolicy tls;
  std::string fail_with;  // non-empty: every lookup fails with this error
  TestPolicy();
  bool ConnectionFor(const HostContext& host, ConnectionPolicy* out, std::string* error) override;
  bool TlsFor(const HostContext& host, TlsPolicy* out, std::string* error) override;
  std::vector<HostContext> asked;
};

DeliveryRequest MxRequest(TestPolicy* policy, std::vector<std::string> rcpts,
                          std::string body = "Subject: hi\r\n\r\nhello\r\n.dot line\r\n");
DeliveryRequest RelayRequest(TestPolicy* policy, RelayRoute route, std::vector<std::string> rcpts,
                             std::string body = "Subject: hi\r\n\r\nhello\r\n");
TargetHost Host(const std::string& name, uint16_t port, std::string ip = "127.0.0.1");

// "220" greeting then EHLO answered with `caps` (e.g. {"PIPELINING", "SIZE 100"}).
std::vector<Step> Greet(std::vector<std::string> caps, const std::string& verb = "EHLO");
// MAIL, n RCPTs, DATA, body, final 250 — all accepted.
std::vector<Step> AcceptMessage(int rcpts);

// "r<i>@example.net" (built without `"literal" + std::string`, which trips GCC 12's
// -Wrestrict false positive at -O3).
std::string NumberedAddress(int i);

// A TCP port on 127.0.0.1 with nothing listening on it.
uint16_t ClosedPort();

}  // namespace outpost::transport::smtp::testing
