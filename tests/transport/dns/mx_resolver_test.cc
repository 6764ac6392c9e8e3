#include "transport/dns/mx_resolver.h"

#include <gtest/gtest.h>

#include <optional>

#include "common/fake_dispatcher.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::transport::dns {
namespace {

class MxResolverTest : public ::testing::Test {
 protected:
  std::optional<MxPlan> Run(std::string_view domain, MxPlanOptions options = {}) {
    std::optional<MxPlan> out;
    planner_.Plan(domain, std::move(options), [&out](MxPlan p) { out = std::move(p); });
    EXPECT_FALSE(out.has_value()) << "done ran inside Plan()";
    dispatcher_.RunPending();
    return out;
  }

  FakeClock clock_;
  FakeDispatcher dispatcher_{clock_};
  FakeResolver dns_{dispatcher_};
  MxResolver planner_{dns_, 42};
};

TEST_F(MxResolverTest, ResolvesEveryMxHostAndOrdersThePlan) {
  dns_.SetMx("example.org", {{20, "mx2.example.org"}, {10, "mx1.example.org"}});
  dns_.SetAddresses("mx1.example.org", DnsType::kA, {"127.0.0.11"});
  dns_.SetOutcome("mx1.example.org", DnsType::kAaaa, DnsOutcome::kNoData);
  dns_.SetAddresses("mx2.example.org", DnsType::kA, {"127.0.0.12"});
  dns_.SetAddresses("mx2.example.org", DnsType::kAaaa, {"::1"});
  auto plan = Run("Example.org");
  ASSERT_TRUE(plan.has_value());
  ASSERT_TRUE(plan->ok()) << plan->failure->reply.text;
  ASSERT_EQ(plan->hosts.size(), 2u);
  EXPECT_EQ(plan->hosts[0].name, "mx1.example.org");
  EXPECT_EQ(plan->hosts[0].addresses, std::vector<std::string>{"127.0.0.11"});
  EXPECT_EQ(plan->hosts[1].addresses, (std::vector<std::string>{"127.0.0.12", "::1"}));
  EXPECT_EQ(planner_.InFlightForTest(), 0u);
  EXPECT_EQ(dns_.queries().front(), "example.org/MX");
  EXPECT_EQ(dns_.queries().size(), 5u);
}

TEST_F(MxResolverTest, V4OnlyAsksOnlyForA) {
  dns_.SetMx("example.org", {{10, "mx.example.org"}});
  dns_.SetAddresses("mx.example.org", DnsType::kA, {"127.0.0.2"});
  MxPlanOptions o;
  o.ip_lookup = IpLookupStrategy::kV4Only;
  auto plan = Run("example.org", o);
  ASSERT_TRUE(plan && plan->ok());
  EXPECT_EQ(dns_.queries(), (std::vector<std::string>{"example.org/MX", "mx.example.org/A"}));
}

TEST_F(MxResolverTest, NoMxFallsBackToTheDomainAddress) {
  dns_.SetOutcome("example.org", DnsType::kMx, DnsOutcome::kNoData);
  dns_.SetAddresses("example.org", DnsType::kA, {"127.0.0.3"});
  dns_.SetOutcome("example.org", DnsType::kAaaa, DnsOutcome::kNoData);
  auto plan = Run("example.org");
  ASSERT_TRUE(plan && plan->ok());
  ASSERT_EQ(plan->hosts.size(), 1u);
  EXPECT_EQ(plan->hosts[0].name, "example.org");
}

TEST_F(MxResolverTest, NullMxFailsWithoutAddressLookups) {
  dns_.SetMx("nomail.example", {{0, ""}});
  auto plan = Run("nomail.example");
  ASSERT_TRUE(plan && !plan->ok());
  EXPECT_EQ(plan->failure->reply.enhanced, "5.1.10");
  EXPECT_EQ(dns_.queries().size(), 1u);
}

TEST_F(MxResolverTest, UnansweredMxIsTemporaryDns) {
  auto plan = Run("unknown.example");  // FakeResolver: no entry -> tempfail
  ASSERT_TRUE(plan && !plan->ok());
  EXPECT_EQ(plan->failure->kind, OutcomeKind::kTempFail);
  EXPECT_EQ(plan->failure->error, ErrorClass::kDns);
}

TEST_F(MxResolverTest, DestroyedPlannerNeverCallsBack) {
  dns_.SetMx("example.org", {{10, "mx.example.org"}});
  bool called = false;
  {
    MxResolver planner(dns_, 1);
    planner.Plan("example.org", {}, [&called](MxPlan) { called = true; });
  }
  dispatcher_.RunPending();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace outpost::transport::dns
