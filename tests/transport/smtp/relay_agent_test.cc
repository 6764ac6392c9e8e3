// SmtpRelayAgent: relay address resolution (IP literal, name via HostAddressLookup) and the
// DeliveryAgent contract.
#include <gtest/gtest.h>

#include <map>

#include "common/clock.h"
#include "tests/transport/smtp/scripted_server.h"
#include "tests/transport/smtp/smtp_test_util.h"
#include "transport/smtp/smtp_relay_agent.h"

namespace outpost::transport::smtp {
namespace {

using namespace testing;  // NOLINT

// Maps names to addresses; answers are posted, as a real resolver's would be.
class MapLookup : public HostAddressLookup {
 public:
  explicit MapLookup(Dispatcher& d) : d_(d) {}
  void Lookup(const std::string& host, IpLookupStrategy, Callback done) override {
    asked.push_back(host);
    auto it = names.find(host);
    d_.Post([done, found = it != names.end(),
             addrs = it != names.end() ? it->second : std::vector<std::string>{}] {
      if (!found) return done(Status::NotFound("NXDOMAIN"));
      done(addrs);
    });
  }
  std::map<std::string, std::vector<std::string>> names{{"localhost", {"127.0.0.1"}}};
  std::vector<std::string> asked;

 private:
  Dispatcher& d_;
};

class RelayAgentTest : public ::testing::Test {
 protected:
  DeliveryResult Run(DeliveryRequest req) {
    bool done = false;
    DeliveryResult out;
    agent_.Deliver(std::move(req), [&](DeliveryResult r) {
      out = std::move(r);
      done = true;
      loop_.Exit();
    });
    EXPECT_FALSE(done);  // never inside Deliver()
    RunLoop(loop_, done);
    EXPECT_TRUE(done);
    return out;
  }
  LibeventDispatcher loop_;
  FakeClock clock_;
  TestPolicy policy_;
  std::unique_ptr<TlsClientContext> tls_ = std::move(TlsClientContext::Create({}).value());
  SmtpDeliverer deliverer_{loop_, *tls_, clock_, SmtpDelivererOptions{}};
  MapLookup lookup_{loop_};
  SmtpRelayAgent agent_{deliverer_, lookup_};
};

TEST_F(RelayAgentTest, ResolvesHostNameThroughLookup) {
  ScriptedServer peer(loop_, {Concat({Greet({"PIPELINING"}), AcceptMessage(1)})});
  RelayRoute route;
  route.address = "localhost";
  route.port = peer.port();
  auto result = Run(RelayRequest(&policy_, route, {"bob@example.net"}));
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.outcomes[0].host, "localhost");
  EXPECT_EQ(result.outcomes[0].ip, "127.0.0.1");
  EXPECT_EQ(lookup_.asked, (std::vector<std::string>{"localhost"}));
}

TEST_F(RelayAgentTest, IpLiteralNeedsNoLookup) {
  ScriptedServer peer(loop_, {Concat({Greet({}), AcceptMessage(1)})});
  RelayRoute route;
  route.address = "127.0.0.1";
  route.port = peer.port();
  auto result = Run(RelayRequest(&policy_, route, {"bob@example.net"}));
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_TRUE(lookup_.asked.empty());
}

TEST_F(RelayAgentTest, UnresolvableRelayIsTemporaryDnsFailure) {
  RelayRoute route;
  route.address = "nowhere.invalid";
  auto result = Run(RelayRequest(&policy_, route, {"a@example.net", "b@example.net"}));
  ASSERT_EQ(result.outcomes.size(), 2u);
  for (const auto& o : result.outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kTempFail);
    EXPECT_EQ(o.error, ErrorClass::kDns);
  }
}

TEST_F(RelayAgentTest, NonRelayRouteIsConfigFailure) {
  DeliveryRequest req = MxRequest(&policy_, {"a@example.net"});
  req.route = LocalRoute{};
  auto result = Run(req);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConfig);
}

TEST_F(RelayAgentTest, ConcurrencyLimitQueuesInsteadOfFailing) {
  // Two deliveries, concurrency 1: the second waits for the first and then reuses its
  // connection from the pool.
  ScriptedServer peer(loop_, {Concat({Greet({"PIPELINING"}), AcceptMessage(1),
                                      On("RSET", "250 ok\r\n"), AcceptMessage(1)})});
  RelayRoute route;
  route.address = "127.0.0.1";
  route.port = peer.port();
  route.concurrency = 1;
  int finished = 0;
  std::vector<DeliveryResult> results;
  for (int i = 0; i < 2; ++i) {
    agent_.Deliver(RelayRequest(&policy_, route, {NumberedAddress(i)}), [&](DeliveryResult r) {
      results.push_back(std::move(r));
      if (++finished == 2) loop_.Exit();
    });
  }
  bool all = false;
  auto check = loop_.CreateTimer([] {});
  RunLoop(loop_, all, std::chrono::seconds(20));
  ASSERT_EQ(finished, 2);
  for (const auto& r : results) EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
}

}  // namespace
}  // namespace outpost::transport::smtp
