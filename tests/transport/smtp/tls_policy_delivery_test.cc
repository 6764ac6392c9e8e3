// DeliveryAttempt with the TLS policy evaluator (DANE / MTA-STS, docs/TLS-POLICY.md) against
// scripted loopback peers: blocked hosts, the policy's error class, the pool key, relay routes.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <memory>

#include "common/clock.h"
#include "common/libevent_dispatcher.h"
#include "tests/transport/smtp/scripted_server.h"
#include "tests/transport/smtp/smtp_test_util.h"
#include "tests/transport/smtp/test_cert.h"
#include "transport/dns/fake_resolver.h"
#include "transport/smtp/smtp_deliverer.h"
#include "transport/smtp/tls_client.h"
#include "transport/tlspolicy/host_tls_evaluator.h"

namespace outpost::transport::smtp {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

// Serves one fixed policy body for every domain, posted like the real fetcher.
class FixedFetcher final : public tlspolicy::PolicyFetcher {
 public:
  explicit FixedFetcher(Dispatcher& d) : dispatcher_(d) {}
  void Fetch(std::string_view, Millis, Callback done) override {
    tlspolicy::MtaStsFetchResult r;
    r.body = body;
    dispatcher_.Post([r, done = std::move(done)] { done(r); });
  }
  std::string body;

 private:
  Dispatcher& dispatcher_;
};

class TlsPolicyDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeSelfSignedCert("localhost");
    server_ctx_ = MakeServerContext(cert_);
    std::string ca = WriteTempFile("tls-policy-ca.pem", cert_.cert_pem);
    tls_ = std::move(TlsClientContext::Create({ca}).value());
    std::remove(ca.c_str());
    SmtpDelivererOptions options;
    options.pool.idle_timeout = milliseconds(2000);
    options.tls_policy = &evaluator_;
    deliverer_ = std::make_unique<SmtpDeliverer>(loop_, *tls_, clock_, options);
    dns::DnsResult txt;
    txt.outcome = dns::DnsOutcome::kAnswer;
    txt.txt = {"v=STSv1; id=1;"};
    resolver_.Set("_mta-sts.sts.test", dns::DnsType::kTxt, txt);
    resolver_.SetOutcome("_mta-sts.plain.test", dns::DnsType::kTxt, dns::DnsOutcome::kNxDomain);
    policy_.tls.starttls = TlsMode::kRequire;  // so only the policy tag tells sessions apart
  }
  void TearDown() override {
    deliverer_.reset();
    SSL_CTX_free(server_ctx_);
  }

  DeliveryRequest To(std::string domain, std::string rcpt) {
    DeliveryRequest r = MxRequest(&policy_, {rcpt});
    std::get<MxRoute>(r.route).domain = std::move(domain);
    return r;
  }
  DeliveryResult Deliver(DeliveryRequest request, std::vector<TargetHost> hosts) {
    return DeliverAndWait(loop_, *deliverer_, std::move(request), std::move(hosts));
  }
  Script TlsScript() {
    return Concat({Greet({"PIPELINING", "STARTTLS"}),
                   {Expect("STARTTLS"), Send("220 2.0.0 go ahead\r\n"), StartTls()},
                   {Expect("EHLO"), Send("250-test.peer\r\n250 PIPELINING\r\n")},
                   AcceptMessage(1), On("RSET", "250 ok\r\n"), AcceptMessage(1)});
  }

  LibeventDispatcher loop_;
  FakeClock clock_;
  TestPolicy policy_;
  dns::FakeResolver resolver_{loop_};
  FixedFetcher fetcher_{loop_};
  tlspolicy::MtaStsPolicyCache cache_{clock_, nullptr};
  tlspolicy::MtaStsPolicySource source_{loop_, resolver_, fetcher_, cache_};
  tlspolicy::TlsRptCollector rpt_;
  tlspolicy::HostTlsEvaluator evaluator_{loop_, resolver_, &source_, &rpt_};
  TestCert cert_;
  SSL_CTX* server_ctx_ = nullptr;
  std::unique_ptr<TlsClientContext> tls_;
  std::unique_ptr<SmtpDeliverer> deliverer_;
};

TEST_F(TlsPolicyDeliveryTest, MxOutsideEnforcePolicyIsSkippedWithMtaSts) {
  fetcher_.body = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 600\n";
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  auto result = Deliver(To("sts.test", "bob@sts.test"), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kMtaSts);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "4.7.5");
  EXPECT_EQ(peer.connections(), 0);
  ASSERT_EQ(rpt_.ForDomain("sts.test").size(), 1u);
  EXPECT_EQ(rpt_.ForDomain("sts.test").begin()->second.failed_sessions, 1u);
}

TEST_F(TlsPolicyDeliveryTest, UnverifiedCertificateUnderEnforceIsAnMtaStsError) {
  fetcher_.body = "version: STSv1\nmode: enforce\nmx: localhost\nmax_age: 600\n";
  TestCert other = MakeSelfSignedCert("localhost");  // not the trusted one
  SSL_CTX* other_ctx = MakeServerContext(other);
  ScriptedServer peer(loop_, {TlsScript()}, other_ctx);
  auto result = Deliver(To("sts.test", "bob@sts.test"), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kMtaSts);
  EXPECT_EQ(peer.connections(), 1);
  SSL_CTX_free(other_ctx);
}

TEST_F(TlsPolicyDeliveryTest, SessionWithoutPolicyIsNotReusedForAnEnforcedDelivery) {
  fetcher_.body = "version: STSv1\nmode: enforce\nmx: localhost\nmax_age: 600\n";
  ScriptedServer peer(loop_, {TlsScript(), TlsScript()}, server_ctx_);
  auto plain = Deliver(To("plain.test", "bob@plain.test"), {Host("localhost", peer.port())});
  EXPECT_EQ(plain.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(deliverer_->pool().IdleCountForTest(), 1u);
  auto enforced = Deliver(To("sts.test", "bob@sts.test"), {Host("localhost", peer.port())});
  EXPECT_EQ(enforced.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 2);  // a new, policy-checked session
  auto again = Deliver(To("sts.test", "carol@sts.test"), {Host("localhost", peer.port())});
  EXPECT_EQ(again.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 2);  // same requirement: the pooled session is reused
  const auto& sts = rpt_.ForDomain("sts.test");
  ASSERT_EQ(sts.size(), 1u);
  EXPECT_EQ(sts.begin()->first.type, tlspolicy::TlsRptPolicyType::kSts);
  EXPECT_EQ(sts.begin()->second.successful_sessions, 2u);
}

TEST_F(TlsPolicyDeliveryTest, TlsReportsAreDeliveredWithoutPolicy) {
  fetcher_.body = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 600\n";
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  DeliveryRequest report = To("sts.test", "tlsrpt@sts.test");
  report.message.tls_report = true;  // RFC 8460 §5.3.1
  auto result = Deliver(std::move(report), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_TRUE(rpt_.Domains().empty());  // and not counted
}

TEST_F(TlsPolicyDeliveryTest, RequireOnARelayRouteIsAConfigError) {
  policy_.tls.strategy_name = "strict";
  policy_.tls.dane = TlsMode::kRequire;
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  RelayRoute route;
  route.address = "127.0.0.1";
  route.port = peer.port();
  auto result = Deliver(RelayRequest(&policy_, route, {"bob@example.net"}),
                        {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConfig);
  EXPECT_NE(result.outcomes[0].reply.text.find("tlsStrategies.strict.dane"), std::string::npos)
      << result.outcomes[0].reply.text;
  EXPECT_EQ(peer.connections(), 0);
}

}  // namespace
}  // namespace outpost::transport::smtp
