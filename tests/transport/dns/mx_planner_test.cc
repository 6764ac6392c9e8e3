#include "transport/dns/mx_planner.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace outpost::transport::dns {
namespace {

DnsResult MxAnswer(std::vector<MxRecord> records) {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.ttl_seconds = 300;
  r.mx = std::move(records);
  return r;
}

DnsResult Outcome(DnsOutcome o, std::string detail = "") {
  DnsResult r;
  r.outcome = o;
  r.detail = std::move(detail);
  return r;
}

DnsResult Addresses(std::vector<std::string> a) {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.addresses = std::move(a);
  return r;
}

std::vector<std::string> Names(const MxCandidates& c) {
  std::vector<std::string> out;
  for (const auto& h : c.hosts) out.push_back(h.name);
  return out;
}

MxCandidates Select(const DnsResult& answer, const MxPlanOptions& options = {}, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  return SelectMxHosts("Example.ORG", answer, options, rng);
}

TEST(SelectMxHosts, SortsByPreference) {
  auto c = Select(MxAnswer({{30, "c.example"}, {10, "a.example"}, {20, "b.example"}}));
  ASSERT_FALSE(c.failure);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"a.example", "b.example", "c.example"}));
  EXPECT_FALSE(c.implicit_mx);
}

TEST(SelectMxHosts, ShufflesEqualPreferencesWithTheInjectedRng) {
  const DnsResult answer =
      MxAnswer({{10, "a1"}, {10, "a2"}, {10, "a3"}, {10, "a4"}, {5, "first"}, {20, "last"}});
  std::set<std::vector<std::string>> orders;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto names = Names(Select(answer, {}, seed));
    ASSERT_EQ(names.size(), 5u);  // maxMxHosts 5
    EXPECT_EQ(names.front(), "first");
    std::set<std::string> middle(names.begin() + 1, names.end());
    EXPECT_EQ(middle, (std::set<std::string>{"a1", "a2", "a3", "a4"}));
    orders.insert(names);
  }
  EXPECT_GT(orders.size(), 1u) << "equal preferences are never shuffled";
  // The same seed gives the same order: the shuffle is reproducible in tests.
  EXPECT_EQ(Names(Select(answer, {}, 7)), Names(Select(answer, {}, 7)));
}

TEST(SelectMxHosts, TruncatesToMaxMxHosts) {
  MxPlanOptions o;
  o.max_mx_hosts = 2;
  auto c = Select(MxAnswer({{1, "a"}, {2, "b"}, {3, "c"}}), o);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"a", "b"}));
}

TEST(SelectMxHosts, SelfByNameDropsItsPreferenceAndWorse) {
  MxPlanOptions o;
  o.self.names = {"MX.Outpost.example."};
  auto c = Select(
      MxAnswer({{10, "primary"}, {20, "mx.outpost.example"}, {20, "peer"}, {30, "backup"}}), o);
  ASSERT_FALSE(c.failure);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"primary"}));
}

TEST(SelectMxHosts, SelfAsBestMxFailsWith546) {
  MxPlanOptions o;
  o.self.names = {"mx.outpost.example"};
  auto c = Select(MxAnswer({{10, "mx.outpost.example"}, {20, "backup"}}), o);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->kind, OutcomeKind::kPermFail);
  EXPECT_EQ(c.failure->reply.enhanced, "5.4.6");
}

struct MxFailureCase {
  const char* scenario;
  DnsResult answer;
  OutcomeKind kind;
  int code;
  const char* enhanced;
};

class MxFailureTable : public ::testing::TestWithParam<MxFailureCase> {};

TEST_P(MxFailureTable, Classifies) {
  const auto& c = GetParam();
  auto r = Select(c.answer);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->kind, c.kind);
  EXPECT_EQ(r.failure->error, ErrorClass::kDns);
  EXPECT_EQ(r.failure->reply.code, c.code);
  EXPECT_EQ(r.failure->reply.enhanced, c.enhanced);
  EXPECT_TRUE(r.hosts.empty());
}

INSTANTIATE_TEST_SUITE_P(
    SelectMxHosts, MxFailureTable,
    ::testing::Values(MxFailureCase{"NullMxIsPermanent5110", MxAnswer({{0, ""}}),
                                    OutcomeKind::kPermFail, 556, "5.1.10"},
                      MxFailureCase{"NxDomainIsPermanent512", Outcome(DnsOutcome::kNxDomain),
                                    OutcomeKind::kPermFail, 550, "5.1.2"},
                      MxFailureCase{"ServFailIsTemporaryDns",
                                    Outcome(DnsOutcome::kTempFail, "SERVFAIL"),
                                    OutcomeKind::kTempFail, 451, "4.4.3"},
                      MxFailureCase{"TimeoutIsTemporaryDns",
                                    Outcome(DnsOutcome::kTempFail, "timeout"),
                                    OutcomeKind::kTempFail, 451, "4.4.3"}),
    [](const auto& info) { return std::string(info.param.scenario); });

TEST(SelectMxHosts, NullMxInAMixedSetIsIgnored) {
  auto c = Select(MxAnswer({{0, ""}, {10, "real.example"}}));
  ASSERT_FALSE(c.failure);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"real.example"}));
}

TEST(SelectMxHosts, NoDataMeansImplicitMxOnTheDomain) {
  auto c = Select(Outcome(DnsOutcome::kNoData));
  ASSERT_FALSE(c.failure);
  EXPECT_TRUE(c.implicit_mx);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"example.org"}));
}

TEST(AddressTypesFor, FollowsStrategy) {
  using V = std::vector<DnsType>;
  EXPECT_EQ(AddressTypesFor(IpLookupStrategy::kV4ThenV6), (V{DnsType::kA, DnsType::kAaaa}));
  EXPECT_EQ(AddressTypesFor(IpLookupStrategy::kV6ThenV4), (V{DnsType::kAaaa, DnsType::kA}));
  EXPECT_EQ(AddressTypesFor(IpLookupStrategy::kV4Only), (V{DnsType::kA}));
  EXPECT_EQ(AddressTypesFor(IpLookupStrategy::kV6Only), (V{DnsType::kAaaa}));
}

MxCandidates Candidates(std::vector<MxCandidate> hosts, bool implicit = false) {
  MxCandidates c;
  c.hosts = std::move(hosts);
  c.implicit_mx = implicit;
  return c;
}

struct StrategyCase {
  const char* scenario;
  IpLookupStrategy strategy;
  uint32_t max_multihomed;
  std::vector<std::string> expected;
};

class StrategyTable : public ::testing::TestWithParam<StrategyCase> {};

// Answers come in AddressTypesFor() order; the planner keeps that order.
TEST_P(StrategyTable, OrdersAndCapsAddresses) {
  const auto& c = GetParam();
  const std::map<DnsType, DnsResult> by_type = {
      {DnsType::kA, Addresses({"192.0.2.1", "192.0.2.2"})},
      {DnsType::kAaaa, Addresses({"2001:db8::1", "2001:db8::2"})}};
  HostAddressAnswers answers;
  for (DnsType t : AddressTypesFor(c.strategy)) answers.push_back(by_type.at(t));
  MxPlanOptions o;
  o.ip_lookup = c.strategy;
  o.max_multihomed = c.max_multihomed;
  auto plan = AssignAddresses(Candidates({{"mx.example", 10}}), {answers}, o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_EQ(plan.hosts[0].name, "mx.example");
  EXPECT_EQ(plan.hosts[0].port, 25);
  EXPECT_EQ(plan.hosts[0].addresses, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    AssignAddresses, StrategyTable,
    ::testing::Values(
        StrategyCase{
            "V4ThenV6", IpLookupStrategy::kV4ThenV6, 3, {"192.0.2.1", "192.0.2.2", "2001:db8::1"}},
        StrategyCase{"V6ThenV4",
                     IpLookupStrategy::kV6ThenV4,
                     3,
                     {"2001:db8::1", "2001:db8::2", "192.0.2.1"}},
        StrategyCase{"V4Only", IpLookupStrategy::kV4Only, 5, {"192.0.2.1", "192.0.2.2"}},
        StrategyCase{"V6Only", IpLookupStrategy::kV6Only, 5, {"2001:db8::1", "2001:db8::2"}},
        StrategyCase{"MaxMultihomedCaps", IpLookupStrategy::kV4ThenV6, 1, {"192.0.2.1"}}),
    [](const auto& info) { return std::string(info.param.scenario); });

TEST(AssignAddresses, HostWithoutAddressIsSkippedWithItsError) {
  MxPlanOptions o;
  o.port = 2525;
  auto plan =
      AssignAddresses(Candidates({{"dead.example", 10}, {"live.example", 20}}),
                      {{Outcome(DnsOutcome::kTempFail, "SERVFAIL"), Outcome(DnsOutcome::kNoData)},
                       {Addresses({"127.0.0.1"}), Outcome(DnsOutcome::kNoData)}},
                      o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_EQ(plan.hosts[0].name, "live.example");
  EXPECT_EQ(plan.hosts[0].addresses, std::vector<std::string>{"127.0.0.1"});  // loopback ok
  EXPECT_EQ(plan.hosts[0].port, 2525);
  ASSERT_EQ(plan.skipped.size(), 1u);
  EXPECT_EQ(plan.skipped[0].host, "dead.example");
  EXPECT_EQ(plan.skipped[0].error, ErrorClass::kDns);
  EXPECT_NE(plan.skipped[0].reply.text.find("SERVFAIL"), std::string::npos);
}

TEST(AssignAddresses, NoUsableHostIsTemporaryDns) {
  auto plan =
      AssignAddresses(Candidates({{"a.example", 10}, {"b.example", 20}}),
                      {{Outcome(DnsOutcome::kNxDomain), Outcome(DnsOutcome::kNxDomain)},
                       {Outcome(DnsOutcome::kTempFail, "timeout"), Outcome(DnsOutcome::kNoData)}},
                      MxPlanOptions{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->kind, OutcomeKind::kTempFail);
  EXPECT_EQ(plan.failure->error, ErrorClass::kDns);
  EXPECT_EQ(plan.skipped.size(), 2u);
}

TEST(AssignAddresses, ImplicitMxWithoutAddressesIsPermanent) {
  auto plan = AssignAddresses(Candidates({{"example.org", 0}}, /*implicit=*/true),
                              {{Outcome(DnsOutcome::kNoData), Outcome(DnsOutcome::kNoData)}},
                              MxPlanOptions{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->kind, OutcomeKind::kPermFail);
  EXPECT_EQ(plan.failure->reply.enhanced, "5.1.2");
}

TEST(AssignAddresses, ImplicitMxWithTemporaryAddressFailureIsTemporary) {
  auto plan =
      AssignAddresses(Candidates({{"example.org", 0}}, true),
                      {{Outcome(DnsOutcome::kNoData), Outcome(DnsOutcome::kTempFail, "SERVFAIL")}},
                      MxPlanOptions{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->kind, OutcomeKind::kTempFail);
}

TEST(AssignAddresses, SelfByListenerAddressDropsItsPreferenceAndWorse) {
  MxPlanOptions o;
  o.self.endpoints = {{"0:0:0:0:0:0:0:1", 25}};
  auto plan = AssignAddresses(Candidates({{"good", 10}, {"me", 20}, {"peer", 20}, {"worse", 30}}),
                              {{Addresses({"192.0.2.1"})},
                               {Addresses({"::1"})},
                               {Addresses({"192.0.2.2"})},
                               {Addresses({"192.0.2.3"})}},
                              o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_EQ(plan.hosts[0].name, "good");
}

TEST(AssignAddresses, SelfListenerOnAnotherPortIsNotSelf) {
  MxPlanOptions o;
  o.port = 2526;
  o.self.endpoints = {{"127.0.0.1", 2525}};
  auto plan = AssignAddresses(Candidates({{"peer", 10}}), {{Addresses({"127.0.0.1"})}}, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.hosts.size(), 1u);
}

TEST(AssignAddresses, OnlySelfLeftFailsWith546) {
  MxPlanOptions o;
  o.self.endpoints = {{"127.0.0.1", 0}};
  auto plan = AssignAddresses(Candidates({{"me", 10}, {"backup", 20}}),
                              {{Addresses({"127.0.0.1"})}, {Addresses({"192.0.2.9"})}}, o);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->kind, OutcomeKind::kPermFail);
  EXPECT_EQ(plan.failure->reply.enhanced, "5.4.6");
}

TEST(AssignAddresses, PassesStageOneFailureThrough) {
  std::mt19937_64 rng(1);
  auto candidates = SelectMxHosts("nomail.example", MxAnswer({{0, ""}}), {}, rng);
  auto plan = AssignAddresses(candidates, {}, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->reply.enhanced, "5.1.10");
}

}  // namespace
}  // namespace outpost::transport::dns

namespace outpost::transport::dns {
namespace {

// DANE may only apply to a host whose MX answer and address answers were all authenticated
// (RFC 7672 §2.2): the plan carries that per host.
TEST(AssignAddresses, DnssecSecureNeedsTheMxAndEveryUsedAddressAnswerAuthenticated) {
  DnsResult mx = MxAnswer({{10, "a.example"}, {20, "b.example"}});
  mx.authenticated = true;
  DnsResult a_secure = Addresses({"192.0.2.1"});
  a_secure.authenticated = true;
  DnsResult b_insecure = Addresses({"192.0.2.2"});
  DnsResult no_aaaa = Outcome(DnsOutcome::kNoData);  // gave no address: does not count
  MxPlanOptions o;
  auto candidates = Select(mx, o);
  ASSERT_TRUE(candidates.authenticated);
  auto plan = AssignAddresses(candidates, {{a_secure, no_aaaa}, {b_insecure, no_aaaa}}, o);
  ASSERT_EQ(plan.hosts.size(), 2u);
  EXPECT_TRUE(plan.hosts[0].dnssec_secure);
  EXPECT_FALSE(plan.hosts[1].dnssec_secure);

  mx.authenticated = false;
  auto insecure = AssignAddresses(Select(mx, o), {{a_secure, no_aaaa}, {a_secure, no_aaaa}}, o);
  ASSERT_EQ(insecure.hosts.size(), 2u);
  EXPECT_FALSE(insecure.hosts[0].dnssec_secure);
  EXPECT_FALSE(insecure.hosts[1].dnssec_secure);
}

}  // namespace
}  // namespace outpost::transport::dns
