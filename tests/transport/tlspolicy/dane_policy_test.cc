// RFC 7672's rule tables: which TLSA records are usable, and what a TLSA answer means.
#include "transport/tlspolicy/dane_policy.h"

#include <gtest/gtest.h>

#include "common/fake_dispatcher.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::transport::tlspolicy {
namespace {

using dns::DnsOutcome;
using dns::DnsResult;

TlsaRecord Rec(uint8_t usage, uint8_t selector, uint8_t mtype, size_t len) {
  return TlsaRecord{usage, selector, mtype, std::string(len, '\x5a')};
}

struct UsabilityCase {
  TlsaRecord record;
  TlsaUsability expected;
};

TEST(TlsaUsabilityTable, EveryUsageSelectorAndMatchingType) {
  const UsabilityCase cases[] = {
      {Rec(3, 1, 1, 32), TlsaUsability::kUsable},
      {Rec(3, 0, 1, 32), TlsaUsability::kUsable},
      {Rec(3, 1, 2, 64), TlsaUsability::kUsable},
      {Rec(3, 1, 0, 91), TlsaUsability::kUsable},
      {Rec(2, 0, 1, 32), TlsaUsability::kUsable},
      {Rec(2, 1, 2, 64), TlsaUsability::kUsable},
      {Rec(2, 0, 0, 400), TlsaUsability::kUsable},
      {Rec(0, 0, 1, 32), TlsaUsability::kPkixUsage},
      {Rec(1, 1, 1, 32), TlsaUsability::kPkixUsage},
      {Rec(4, 1, 1, 32), TlsaUsability::kUnknownUsage},
      {Rec(255, 1, 1, 32), TlsaUsability::kUnknownUsage},
      {Rec(3, 2, 1, 32), TlsaUsability::kUnknownSelector},
      {Rec(3, 1, 3, 32), TlsaUsability::kUnknownMatching},
      {Rec(3, 1, 255, 32), TlsaUsability::kUnknownMatching},
      {Rec(3, 1, 1, 31), TlsaUsability::kBadDataLength},
      {Rec(3, 1, 1, 64), TlsaUsability::kBadDataLength},
      {Rec(3, 1, 2, 32), TlsaUsability::kBadDataLength},
      {Rec(3, 1, 0, 0), TlsaUsability::kBadDataLength},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyTlsa(c.record), c.expected)
        << TlsaToString(c.record).substr(0, 8) << " -> " << TlsaUsabilityName(c.expected);
  }
}

TEST(TlsaUsabilityTable, UsableSubsetKeepsOrder) {
  auto usable = UsableTlsaRecords({Rec(1, 1, 1, 32), Rec(3, 1, 1, 32), Rec(2, 0, 2, 64)});
  ASSERT_EQ(usable.size(), 2u);
  EXPECT_EQ(usable[0].usage, 3);
  EXPECT_EQ(usable[1].usage, 2);
}

TEST(TlsaText, PresentationFormAndQueryName) {
  EXPECT_EQ(TlsaToString(TlsaRecord{3, 1, 1, std::string("\x01\xab", 2)}), "3 1 1 01ab");
  EXPECT_EQ(TlsaQueryName("MX.Dane.Test.", 25), "_25._tcp.mx.dane.test");
  EXPECT_EQ(TlsaQueryName("mx.dane.test", 2525), "_2525._tcp.mx.dane.test");
}

DnsResult Answer(std::vector<TlsaRecord> records, bool ad) {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.authenticated = ad;
  r.tlsa = std::move(records);
  return r;
}

DnsResult Outcome(DnsOutcome outcome, bool ad, std::string detail = "") {
  DnsResult r;
  r.outcome = outcome;
  r.authenticated = ad;
  r.detail = std::move(detail);
  return r;
}

struct DecisionCase {
  const char* name;
  TlsMode mode;
  bool mx_secure;
  DnsResult tlsa;
  DaneVerdict expected;
};

TEST(DecideDane, Rfc7672Table) {
  const TlsaRecord good = Rec(3, 1, 1, 32);
  const TlsaRecord pkix = Rec(1, 1, 1, 32);
  const DecisionCase cases[] = {
      {"usable secure -> authenticate", TlsMode::kOptional, true, Answer({good}, true),
       DaneVerdict::kAuthenticate},
      {"usable secure, require", TlsMode::kRequire, true, Answer({good}, true),
       DaneVerdict::kAuthenticate},
      {"only unusable -> TLS only", TlsMode::kOptional, true, Answer({pkix}, true),
       DaneVerdict::kTlsOnly},
      {"only unusable, require -> fail", TlsMode::kRequire, true, Answer({pkix}, true),
       DaneVerdict::kFail},
      {"secure NODATA -> no DANE", TlsMode::kOptional, true, Outcome(DnsOutcome::kNoData, true),
       DaneVerdict::kNoDane},
      {"secure NXDOMAIN -> no DANE", TlsMode::kOptional, true, Outcome(DnsOutcome::kNxDomain, true),
       DaneVerdict::kNoDane},
      {"secure NXDOMAIN, require -> fail", TlsMode::kRequire, true,
       Outcome(DnsOutcome::kNxDomain, true), DaneVerdict::kFail},
      {"SERVFAIL (bogus) -> defer", TlsMode::kOptional, true,
       Outcome(DnsOutcome::kTempFail, false, "SERVFAIL"), DaneVerdict::kDefer},
      {"timeout -> defer even under require", TlsMode::kRequire, true,
       Outcome(DnsOutcome::kTempFail, false, "timeout"), DaneVerdict::kDefer},
      {"insecure answer -> ignored", TlsMode::kOptional, true, Answer({good}, false),
       DaneVerdict::kNoDane},
      {"insecure answer, require -> fail", TlsMode::kRequire, true, Answer({good}, false),
       DaneVerdict::kFail},
      {"insecure MX -> no DANE", TlsMode::kOptional, false, Answer({good}, true),
       DaneVerdict::kNoDane},
      {"insecure MX, require -> fail", TlsMode::kRequire, false, Answer({good}, true),
       DaneVerdict::kFail},
      {"disabled -> no DANE", TlsMode::kDisable, true, Outcome(DnsOutcome::kTempFail, false),
       DaneVerdict::kNoDane},
  };
  for (const auto& c : cases) {
    DaneDecision d = DecideDane(c.mode, "mx.dane.test", c.mx_secure, c.tlsa);
    EXPECT_EQ(d.verdict, c.expected)
        << c.name << ": got " << DaneVerdictName(d.verdict) << " (" << d.reason << ")";
  }
}

TEST(DecideDane, AuthenticateCarriesUsableRecordsAndTheBaseDomain) {
  DaneDecision d = DecideDane(TlsMode::kOptional, "MX.Dane.Test.", true,
                              Answer({Rec(0, 0, 1, 32), Rec(3, 1, 1, 32)}, true));
  ASSERT_EQ(d.verdict, DaneVerdict::kAuthenticate);
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].usage, 3);
  EXPECT_EQ(d.reference_names, std::vector<std::string>{"mx.dane.test"});
  EXPECT_TRUE(d.tls_required());
  EXPECT_FALSE(d.blocks_host());
}

TEST(DecideDane, DeferKeepsTheResolverDetail) {
  DaneDecision d = DecideDane(TlsMode::kOptional, "mx.bogus.test", true,
                              Outcome(DnsOutcome::kTempFail, false, "SERVFAIL"));
  EXPECT_TRUE(d.blocks_host());
  EXPECT_NE(d.reason.find("SERVFAIL"), std::string::npos);
}

class DaneLookupTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeDispatcher dispatcher_{clock_};
  dns::FakeResolver resolver_{dispatcher_};
  DaneLookup lookup_{dispatcher_, resolver_};
};

TEST_F(DaneLookupTest, AsksForTheTlsaOfTheMxAndPort) {
  resolver_.Set("_25._tcp.mx.dane.test", dns::DnsType::kTlsa, Answer({Rec(3, 1, 1, 32)}, true));
  std::optional<DaneDecision> got;
  lookup_.Lookup("mx.dane.test", 25, true, TlsMode::kOptional,
                 [&](DaneDecision d) { got = std::move(d); });
  EXPECT_FALSE(got.has_value());  // never from inside Lookup()
  dispatcher_.RunPending();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->verdict, DaneVerdict::kAuthenticate);
  EXPECT_EQ(resolver_.queries(), std::vector<std::string>{"_25._tcp.mx.dane.test/TLSA"});
}

TEST_F(DaneLookupTest, NoQueryWhenTheMxIsInsecure) {
  std::optional<DaneDecision> got;
  lookup_.Lookup("mx.insecure.test", 25, false, TlsMode::kOptional,
                 [&](DaneDecision d) { got = std::move(d); });
  EXPECT_FALSE(got.has_value());
  dispatcher_.RunPending();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->verdict, DaneVerdict::kNoDane);
  EXPECT_TRUE(resolver_.queries().empty());
}

TEST_F(DaneLookupTest, UnansweredLookupDefers) {
  std::optional<DaneDecision> got;
  lookup_.Lookup("mx.bogus.test", 25, true, TlsMode::kOptional,
                 [&](DaneDecision d) { got = std::move(d); });
  dispatcher_.RunPending();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->verdict, DaneVerdict::kDefer);
}

TEST(DaneLookupLifetime, DestroyedLookupNeverCallsBack) {
  FakeClock clock;
  FakeDispatcher dispatcher(clock);
  dns::FakeResolver resolver(dispatcher);
  bool called = false;
  {
    DaneLookup lookup(dispatcher, resolver);
    lookup.Lookup("mx.dane.test", 25, true, TlsMode::kOptional,
                  [&](DaneDecision) { called = true; });
    lookup.Lookup("mx.dane.test", 25, false, TlsMode::kOptional,
                  [&](DaneDecision) { called = true; });
  }
  dispatcher.RunPending();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
