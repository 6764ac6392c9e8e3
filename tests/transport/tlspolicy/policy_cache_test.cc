// The MTA-STS policy cache: expiry by max_age, refresh rules, and write-through persistence.
#include "transport/tlspolicy/policy_cache.h"

#include <gtest/gtest.h>

#include <map>

namespace outpost::transport::tlspolicy {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// A hand-written store that keeps serialized records, as a key-value store would.
class MemoryStore final : public PolicyCacheStore {
 public:
  Status Save(const CachedMtaStsPolicy& entry) override {
    if (fail_writes) return Status::IoError("disk gone");
    rows[entry.domain] = SerializeCachedMtaStsPolicy(entry);
    return Status::Ok();
  }
  Status Erase(std::string_view domain) override {
    rows.erase(std::string(domain));
    return Status::Ok();
  }
  StatusOr<std::vector<CachedMtaStsPolicy>> LoadAll() override {
    std::vector<CachedMtaStsPolicy> out;
    for (const auto& [domain, bytes] : rows) {
      auto e = ParseCachedMtaStsPolicy(bytes);
      if (e.ok()) out.push_back(std::move(*e));
    }
    return out;
  }
  std::map<std::string, std::string> rows;
  bool fail_writes = false;
};

MtaStsPolicy Enforce(seconds max_age) {
  return MtaStsPolicy{MtaStsMode::kEnforce, {"mx.sts.test"}, max_age};
}

TEST(CachedPolicySerialization, RoundTripsAndRejectsGarbage) {
  CachedMtaStsPolicy e{"sts.test", "20240101T000000", Enforce(seconds(86400)), 1000, 86401000};
  std::string bytes = SerializeCachedMtaStsPolicy(e);
  auto back = ParseCachedMtaStsPolicy(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
  for (std::string bad : {std::string(""), std::string("outpost-mta-sts-cache 2\n"),
                          bytes.substr(0, 40), std::string("outpost-mta-sts-cache 1\n")}) {
    EXPECT_TRUE(ParseCachedMtaStsPolicy(bad).status().Is(Status::Code::kCorruption)) << bad;
  }
  std::string bad_time = bytes;
  bad_time.replace(bad_time.find("fetched: 1000"), 13, "fetched: 1x00");
  EXPECT_FALSE(ParseCachedMtaStsPolicy(bad_time).ok());
}

TEST(PolicyCache, ExpiresAfterMaxAge) {
  FakeClock clock;
  MtaStsPolicyCache cache(clock, nullptr);
  ASSERT_TRUE(cache.Put("STS.test.", "id1", Enforce(seconds(3600))).ok());
  ASSERT_TRUE(cache.Get("sts.test").has_value());
  clock.Advance(seconds(3599));
  EXPECT_TRUE(cache.Get("sts.test").has_value());
  clock.Advance(seconds(1));
  EXPECT_FALSE(cache.Get("sts.test").has_value());
}

TEST(PolicyCache, NeedsFetchRules) {
  FakeClock clock;
  MtaStsPolicyCache cache(clock, nullptr, hours(24));
  EXPECT_TRUE(cache.NeedsFetch("sts.test", std::string("id1")));  // nothing cached
  EXPECT_TRUE(cache.NeedsFetch("sts.test", std::nullopt));
  ASSERT_TRUE(cache.Put("sts.test", "id1", Enforce(seconds(7 * 86400))).ok());
  EXPECT_FALSE(cache.NeedsFetch("sts.test", std::string("id1")));
  EXPECT_TRUE(cache.NeedsFetch("sts.test", std::string("id2")));  // id changed
  // TXT lookup failed: keep applying the cached policy, no refetch forced.
  EXPECT_FALSE(cache.NeedsFetch("sts.test", std::nullopt));
  clock.Advance(hours(24));
  EXPECT_TRUE(cache.NeedsFetch("sts.test", std::string("id1")));  // daily refresh
  EXPECT_EQ(cache.DueForRefresh(), std::vector<std::string>{"sts.test"});
  EXPECT_FALSE(cache.NeedsFetch("sts.test", std::nullopt));
}

TEST(PolicyCache, WritesThroughAndReloadsUnexpiredEntries) {
  FakeClock clock;
  MemoryStore store;
  {
    MtaStsPolicyCache cache(clock, &store);
    ASSERT_TRUE(cache.Put("sts.test", "id1", Enforce(seconds(86400))).ok());
    ASSERT_TRUE(cache.Put("short.test", "id9", Enforce(seconds(60))).ok());
  }
  EXPECT_EQ(store.rows.size(), 2u);
  clock.Advance(seconds(120));
  MtaStsPolicyCache reloaded(clock, &store);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.size(), 1u);
  auto e = reloaded.Get("sts.test");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, "id1");
  EXPECT_EQ(e->policy, Enforce(seconds(86400)));
  ASSERT_TRUE(reloaded.Erase("sts.test").ok());
  EXPECT_EQ(store.rows.count("sts.test"), 0u);
}

TEST(PolicyCache, StoreFailureIsReportedButThePolicyStillApplies) {
  FakeClock clock;
  MemoryStore store;
  store.fail_writes = true;
  MtaStsPolicyCache cache(clock, &store);
  EXPECT_TRUE(cache.Put("sts.test", "id1", Enforce(seconds(60))).Is(Status::Code::kIoError));
  EXPECT_TRUE(cache.Get("sts.test").has_value());
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
