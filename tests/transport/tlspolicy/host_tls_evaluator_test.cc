// HostTlsEvaluator: DANE first, MTA-STS only where DANE says nothing, TLS-RPT counting.
#include "transport/tlspolicy/host_tls_evaluator.h"

#include <gtest/gtest.h>

#include "common/fake_dispatcher.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::transport::tlspolicy {
namespace {

constexpr char kEnforce[] = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n";
constexpr char kTesting[] = "version: STSv1\nmode: testing\nmx: other.sts.test\nmax_age: 60\n";

class BodyFetcher final : public PolicyFetcher {
 public:
  explicit BodyFetcher(Dispatcher& d) : dispatcher_(d) {}
  void Fetch(std::string_view, Millis, Callback done) override {
    ++fetches;
    MtaStsFetchResult r;
    r.body = body;
    dispatcher_.Post([r, done = std::move(done)] { done(r); });
  }
  std::string body = kEnforce;
  int fetches = 0;

 private:
  Dispatcher& dispatcher_;
};

class EvaluatorTest : public ::testing::Test {
 protected:
  EvaluatorTest() {
    dns::DnsResult txt;
    txt.outcome = dns::DnsOutcome::kAnswer;
    txt.txt = {"v=STSv1; id=1;"};
    resolver_.Set("_mta-sts.sts.test", dns::DnsType::kTxt, txt);
  }

  HostTlsEvaluation Evaluate(std::string domain, std::string host, bool secure,
                             TlsPolicy policy = {}) {
    TargetHost h;
    h.name = std::move(host);
    h.addresses = {"192.0.2.1"};
    h.dnssec_secure = secure;
    std::optional<HostTlsEvaluation> got;
    evaluator_.Evaluate(domain, h, policy, [&](HostTlsEvaluation e) { got = std::move(e); });
    EXPECT_FALSE(got.has_value());  // never inline
    dispatcher_.RunPending();
    EXPECT_TRUE(got.has_value());
    return got.value_or(HostTlsEvaluation{});
  }

  void SetTlsa(std::string_view name, bool authenticated) {
    dns::DnsResult r;
    r.outcome = dns::DnsOutcome::kAnswer;
    r.authenticated = authenticated;
    r.tlsa = {dns::TlsaRecord{3, 1, 1, std::string(32, '\x11')}};
    resolver_.Set(name, dns::DnsType::kTlsa, r);
  }

  FakeClock clock_;
  FakeDispatcher dispatcher_{clock_};
  dns::FakeResolver resolver_{dispatcher_};
  BodyFetcher fetcher_{dispatcher_};
  MtaStsPolicyCache cache_{clock_, nullptr};
  MtaStsPolicySource source_{dispatcher_, resolver_, fetcher_, cache_};
  TlsRptCollector rpt_;
  HostTlsEvaluator evaluator_{dispatcher_, resolver_, &source_, &rpt_};
};

TEST_F(EvaluatorTest, SecureTlsaAuthenticatesAndMtaStsIsNotConsulted) {
  SetTlsa("_25._tcp.mx.sts.test", true);
  HostTlsEvaluation e = Evaluate("sts.test", "mx.sts.test", true);
  EXPECT_EQ(e.dane.verdict, DaneVerdict::kAuthenticate);
  EXPECT_EQ(e.requirement.authentication, HostTlsRequirement::Authentication::kDane);
  EXPECT_TRUE(e.requirement.tls_required);
  EXPECT_EQ(e.rpt_policy.type, TlsRptPolicyType::kTlsa);
  EXPECT_EQ(fetcher_.fetches, 0);  // DANE wins (RFC 8461 §2)
  EXPECT_EQ(RequirementTag(e.requirement).substr(0, 2), "TD");
}

TEST_F(EvaluatorTest, InsecureHostFallsThroughToMtaStsEnforce) {
  SetTlsa("_25._tcp.mx.sts.test", true);  // ignored: the MX plan was not secure
  HostTlsEvaluation e = Evaluate("sts.test", "mx.sts.test", false);
  EXPECT_EQ(e.dane.verdict, DaneVerdict::kNoDane);
  EXPECT_EQ(e.sts_decision.verdict, MtaStsHostDecision::Verdict::kEnforce);
  EXPECT_EQ(e.requirement.authentication, HostTlsRequirement::Authentication::kWebPki);
  EXPECT_EQ(e.rpt_policy.type, TlsRptPolicyType::kSts);
  EXPECT_EQ(RequirementTag(e.requirement), "TW");
  EXPECT_EQ(fetcher_.fetches, 1);
}

TEST_F(EvaluatorTest, EnforcePolicyWithMxOutsideItDefers) {
  HostTlsEvaluation e = Evaluate("sts.test", "mx2.sts.test", false);
  EXPECT_EQ(e.requirement.action, HostTlsRequirement::Action::kDefer);
  EXPECT_EQ(e.requirement.error, ErrorClass::kMtaSts);
}

TEST_F(EvaluatorTest, FailedTlsaLookupDefersWithDane) {
  resolver_.SetOutcome("_25._tcp.mx.sts.test", dns::DnsType::kTlsa, dns::DnsOutcome::kTempFail);
  HostTlsEvaluation e = Evaluate("sts.test", "mx.sts.test", true);
  EXPECT_EQ(e.requirement.action, HostTlsRequirement::Action::kDefer);
  EXPECT_EQ(e.requirement.error, ErrorClass::kDane);
  EXPECT_EQ(TlsRptResultForBlockedHost(e.dane, e.sts_decision), TlsRptResultType::kDnssecInvalid);
}

TEST_F(EvaluatorTest, DisabledPoliciesLookNothingUp) {
  TlsPolicy off;
  off.dane = TlsMode::kDisable;
  off.mta_sts = TlsMode::kDisable;
  HostTlsEvaluation e = Evaluate("sts.test", "mx.sts.test", true, off);
  EXPECT_EQ(e.requirement.action, HostTlsRequirement::Action::kProceed);
  EXPECT_FALSE(e.requirement.tls_required);
  EXPECT_EQ(RequirementTag(e.requirement), "");
  EXPECT_TRUE(resolver_.queries().empty());
}

TEST_F(EvaluatorTest, TestingModeCountsAnMxOutsideThePolicyAsAFailure) {
  fetcher_.body = kTesting;
  HostTlsEvaluation e = Evaluate("sts.test", "mx.sts.test", false);
  EXPECT_EQ(e.requirement.action, HostTlsRequirement::Action::kProceed);
  EXPECT_FALSE(e.requirement.tls_required);
  evaluator_.RecordSessionReady(e, "mx.sts.test", "192.0.2.1");
  const auto& stats = rpt_.ForDomain("sts.test");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats.begin()->first.type, TlsRptPolicyType::kSts);
  EXPECT_EQ(stats.begin()->second.successful_sessions, 0u);
  EXPECT_EQ(stats.begin()->second.failed_sessions, 1u);
  ASSERT_EQ(stats.begin()->second.failures.size(), 1u);
  EXPECT_EQ(stats.begin()->second.failures.begin()->first.result_type,
            TlsRptResultType::kValidationFailure);
}

TEST_F(EvaluatorTest, DestroyedEvaluatorNeverCallsBack) {
  TargetHost h;
  h.name = "mx.sts.test";
  bool called = false;
  {
    HostTlsEvaluator gone(dispatcher_, resolver_, &source_, &rpt_);
    gone.Evaluate("sts.test", h, TlsPolicy{}, [&](HostTlsEvaluation) { called = true; });
  }
  dispatcher_.RunPending();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
