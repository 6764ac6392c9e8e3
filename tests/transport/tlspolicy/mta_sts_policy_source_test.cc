// MtaStsPolicySource: TXT id -> cache -> fetch -> parse -> cache, with the RFC 8461 fallbacks.
#include "transport/tlspolicy/mta_sts_policy_source.h"

#include <gtest/gtest.h>

#include <deque>

#include "common/fake_dispatcher.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::transport::tlspolicy {
namespace {

using std::chrono::hours;

constexpr char kPolicyA[] = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n";
constexpr char kPolicyB[] = "version: STSv1\nmode: testing\nmx: *.sts.test\nmax_age: 3600\n";

// Answers fetches from a script, posted like the real one; counts fetches.
class ScriptedFetcher final : public PolicyFetcher {
 public:
  explicit ScriptedFetcher(Dispatcher& d) : dispatcher_(d) {}
  void Fetch(std::string_view domain, Millis, Callback done) override {
    fetched.emplace_back(domain);
    MtaStsFetchResult r = next;
    dispatcher_.Post([r, done = std::move(done)] { done(r); });
  }
  static MtaStsFetchResult Body(std::string body) {
    MtaStsFetchResult r;
    r.body = std::move(body);
    return r;
  }
  static MtaStsFetchResult Failure(MtaStsFetchFailure f) {
    MtaStsFetchResult r;
    r.failure = f;
    r.status = Status::Unavailable("scripted failure");
    return r;
  }
  MtaStsFetchResult next = Body(kPolicyA);
  std::vector<std::string> fetched;

 private:
  Dispatcher& dispatcher_;
};

class PolicySourceTest : public ::testing::Test {
 protected:
  void SetTxt(std::vector<std::string> records) {
    dns::DnsResult r;
    r.outcome = dns::DnsOutcome::kAnswer;
    r.txt = std::move(records);
    resolver_.Set("_mta-sts.sts.test", dns::DnsType::kTxt, r);
  }

  MtaStsLookup Get(TlsMode mode = TlsMode::kOptional) {
    std::optional<MtaStsLookup> got;
    source_.Get("STS.test", mode, Millis(1000), [&](MtaStsLookup l) { got = std::move(l); });
    EXPECT_FALSE(got.has_value());
    dispatcher_.RunPending();
    EXPECT_TRUE(got.has_value());
    return got.value_or(MtaStsLookup{});
  }

  FakeClock clock_;
  FakeDispatcher dispatcher_{clock_};
  dns::FakeResolver resolver_{dispatcher_};
  ScriptedFetcher fetcher_{dispatcher_};
  MtaStsPolicyCache cache_{clock_, nullptr, hours(24)};
  MtaStsPolicySource source_{dispatcher_, resolver_, fetcher_, cache_};
};

TEST_F(PolicySourceTest, FirstLookupFetchesAndCaches) {
  SetTxt({"v=STSv1; id=one;"});
  MtaStsLookup l = Get();
  ASSERT_TRUE(l.policy.has_value()) << l.detail;
  EXPECT_EQ(l.policy->mode, MtaStsMode::kEnforce);
  EXPECT_EQ(l.id, "one");
  EXPECT_FALSE(l.from_cache);
  EXPECT_FALSE(l.failure.has_value());
  EXPECT_EQ(fetcher_.fetched, std::vector<std::string>{"sts.test"});
  ASSERT_TRUE(cache_.Get("sts.test").has_value());
}

TEST_F(PolicySourceTest, SameIdUsesTheCacheChangedIdRefetches) {
  SetTxt({"v=STSv1; id=one;"});
  Get();
  MtaStsLookup cached = Get();
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(fetcher_.fetched.size(), 1u);
  SetTxt({"v=STSv1; id=two;"});
  fetcher_.next = ScriptedFetcher::Body(kPolicyB);
  MtaStsLookup fresh = Get();
  EXPECT_EQ(fetcher_.fetched.size(), 2u);
  ASSERT_TRUE(fresh.policy.has_value());
  EXPECT_EQ(fresh.policy->mode, MtaStsMode::kTesting);
  EXPECT_EQ(cache_.Get("sts.test")->id, "two");
}

TEST_F(PolicySourceTest, NoTxtAndNothingCachedMeansNoPolicyWithoutAFetch) {
  resolver_.SetOutcome("_mta-sts.sts.test", dns::DnsType::kTxt, dns::DnsOutcome::kNxDomain);
  MtaStsLookup l = Get();
  EXPECT_FALSE(l.policy.has_value());
  EXPECT_FALSE(l.failure.has_value());
  EXPECT_TRUE(fetcher_.fetched.empty());
}

TEST_F(PolicySourceTest, CachedPolicySurvivesTxtRemovalAndDnsFailure) {
  SetTxt({"v=STSv1; id=one;"});
  Get();
  resolver_.SetOutcome("_mta-sts.sts.test", dns::DnsType::kTxt, dns::DnsOutcome::kNxDomain);
  MtaStsLookup removed = Get();
  ASSERT_TRUE(removed.policy.has_value());
  EXPECT_TRUE(removed.from_cache);
  resolver_.SetOutcome("_mta-sts.sts.test", dns::DnsType::kTxt, dns::DnsOutcome::kTempFail);
  MtaStsLookup failed = Get();
  ASSERT_TRUE(failed.policy.has_value());
  EXPECT_EQ(fetcher_.fetched.size(), 1u);
  clock_.Advance(hours(25));  // max_age 86400 s: expired now
  EXPECT_FALSE(Get().policy.has_value());
}

TEST_F(PolicySourceTest, FetchFailuresFallBackToTheCacheAndAreReported) {
  SetTxt({"v=STSv1; id=one;"});
  Get();
  SetTxt({"v=STSv1; id=two;"});
  fetcher_.next = ScriptedFetcher::Failure(MtaStsFetchFailure::kWebPkiInvalid);
  MtaStsLookup webpki = Get();
  ASSERT_TRUE(webpki.policy.has_value());
  EXPECT_TRUE(webpki.from_cache);
  EXPECT_EQ(webpki.id, "one");
  EXPECT_EQ(webpki.failure, TlsRptResultType::kStsWebpkiInvalid);

  fetcher_.next = ScriptedFetcher::Failure(MtaStsFetchFailure::kFetchError);
  EXPECT_EQ(Get().failure, TlsRptResultType::kStsPolicyFetchError);

  fetcher_.next = ScriptedFetcher::Body("<html>oops</html>");
  MtaStsLookup invalid = Get();
  EXPECT_EQ(invalid.failure, TlsRptResultType::kStsPolicyInvalid);
  ASSERT_TRUE(invalid.policy.has_value());
  EXPECT_EQ(invalid.policy->mode, MtaStsMode::kEnforce);
}

TEST_F(PolicySourceTest, FetchFailureWithoutCacheMeansNoPolicy) {
  SetTxt({"v=STSv1; id=one;"});
  fetcher_.next = ScriptedFetcher::Failure(MtaStsFetchFailure::kFetchError);
  MtaStsLookup l = Get();
  EXPECT_FALSE(l.policy.has_value());
  EXPECT_EQ(l.failure, TlsRptResultType::kStsPolicyFetchError);
}

TEST_F(PolicySourceTest, StaleEntryIsRefreshedDaily) {
  SetTxt({"v=STSv1; id=one;"});
  Get();
  clock_.Advance(hours(23));
  Get();
  EXPECT_EQ(fetcher_.fetched.size(), 1u);
  clock_.Advance(hours(1));
  Get();
  EXPECT_EQ(fetcher_.fetched.size(), 2u);
}

TEST_F(PolicySourceTest, DisabledLooksNothingUp) {
  MtaStsLookup l = Get(TlsMode::kDisable);
  EXPECT_FALSE(l.policy.has_value());
  EXPECT_TRUE(resolver_.queries().empty());
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
