#include "transport/dns/dns_cache.h"

#include <gtest/gtest.h>

namespace outpost::transport::dns {
namespace {

DnsResult Answer(uint32_t ttl, std::string address = "192.0.2.1") {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.ttl_seconds = ttl;
  r.addresses = {std::move(address)};
  return r;
}

TEST(DnsCache, ServesUntilTtlExpiresWithRemainingTtl) {
  FakeClock clock;
  DnsCache cache(clock, 100, std::chrono::hours(1));
  cache.Put("Host.Example.", DnsType::kA, Answer(60));
  clock.Advance(std::chrono::seconds(20));
  auto hit = cache.Get("host.example", DnsType::kA);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->addresses, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(hit->ttl_seconds, 40u);
  EXPECT_FALSE(cache.Get("host.example", DnsType::kAaaa).has_value());
  clock.Advance(std::chrono::seconds(40));
  EXPECT_FALSE(cache.Get("host.example", DnsType::kA).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, NeverCachesTemporaryFailuresOrZeroTtl) {
  FakeClock clock;
  DnsCache cache(clock, 100, std::chrono::hours(1));
  DnsResult servfail = DnsResult::TempFail("SERVFAIL");
  servfail.ttl_seconds = 300;
  cache.Put("a.example", DnsType::kMx, servfail);
  cache.Put("b.example", DnsType::kMx, Answer(0));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, CachesNegativeAnswers) {
  FakeClock clock;
  DnsCache cache(clock, 100, std::chrono::hours(1));
  DnsResult nx;
  nx.outcome = DnsOutcome::kNxDomain;
  nx.ttl_seconds = 30;
  cache.Put("gone.example", DnsType::kMx, nx);
  auto hit = cache.Get("gone.example", DnsType::kMx);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->outcome, DnsOutcome::kNxDomain);
}

TEST(DnsCache, TtlIsCappedAtMaxTtl) {
  FakeClock clock;
  DnsCache cache(clock, 100, std::chrono::seconds(10));
  cache.Put("a.example", DnsType::kA, Answer(86400));
  clock.Advance(std::chrono::seconds(11));
  EXPECT_FALSE(cache.Get("a.example", DnsType::kA).has_value());
}

TEST(DnsCache, FullCacheEvictsTheEntryClosestToExpiry) {
  FakeClock clock;
  DnsCache cache(clock, 2, std::chrono::hours(1));
  cache.Put("short.example", DnsType::kA, Answer(10));
  cache.Put("long.example", DnsType::kA, Answer(1000));
  cache.Put("new.example", DnsType::kA, Answer(500));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Get("short.example", DnsType::kA).has_value());
  EXPECT_TRUE(cache.Get("long.example", DnsType::kA).has_value());
  EXPECT_TRUE(cache.Get("new.example", DnsType::kA).has_value());
}

}  // namespace
}  // namespace outpost::transport::dns
