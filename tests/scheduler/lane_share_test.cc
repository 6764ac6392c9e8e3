// LaneShare: start-time fair queueing of the due loop's time between lanes.
#include "scheduler/lane_share.h"

#include <gtest/gtest.h>

namespace outpost::scheduler {
namespace {

using std::chrono::microseconds;
using Flow = LaneShare::Flow;
using Lane = storage::DueLane;

const MonotonicTime kT0{std::chrono::hours(1)};
const Flow kFirst{"remote", Lane::kFirst};
const Flow kRetry{"remote", Lane::kRetry};

LaneShare::Options Weights(uint32_t first, uint32_t retry) {
  LaneShare::Options o;
  o.first_weight = first;
  o.retry_weight = retry;
  o.per_recipient = std::chrono::nanoseconds(0);
  return o;
}

// Serves whichever lane Pick() chooses, each batch costing `cost` of that lane, and returns
// the loop time each lane got.
std::pair<int64_t, int64_t> Serve(LaneShare& s, int batches, microseconds first_cost,
                                microseconds retry_cost) {
  int64_t first = 0, retry = 0;
  for (int i = 0; i < batches; ++i) {
    const std::vector<Flow> ready{kFirst, kRetry};
    const Flow& f = ready[s.Pick(ready)];
    const microseconds cost = f.lane == Lane::kFirst ? first_cost : retry_cost;
    (f.lane == Lane::kFirst ? first : retry) += cost.count();
    s.Charge(f, cost, 1, kT0);
  }
  return {first, retry};
}

TEST(LaneShare, BusyLanesShareLoopTimeByWeightWhateverTheirBatchesCost) {
  LaneShare s(Weights(4, 1));
  // A retry batch costs 50x a first-attempt batch: time, not batches, is shared.
  auto [first, retry] = Serve(s, 2000, microseconds(200), microseconds(10000));
  const double share = static_cast<double>(first) / static_cast<double>(first + retry);
  EXPECT_NEAR(share, 0.8, 0.03);
}

TEST(LaneShare, EqualWeightsAlternateEqualBatches) {
  LaneShare s(Weights(1, 1));
  auto [first, retry] = Serve(s, 100, microseconds(10), microseconds(10));
  EXPECT_EQ(first, retry);
}

TEST(LaneShare, AnIdleLaneGetsNoCreditForTheTimeItDidNotUse) {
  LaneShare s(Weights(1, 1));
  // Retries alone for a long time (new mail had nothing due).
  for (int i = 0; i < 1000; ++i) s.Charge(kRetry, microseconds(1000), 1, kT0);
  // New mail arrives: it is served first, but then the lanes alternate; it cannot monopolise
  // the loop for the second the retries used alone.
  const std::vector<Flow> ready{kFirst, kRetry};
  EXPECT_EQ(s.Pick(ready), 0u);
  s.Charge(kFirst, microseconds(1000), 1, kT0);
  EXPECT_EQ(s.Pick(ready), 1u);
  s.Charge(kRetry, microseconds(1000), 1, kT0);
  EXPECT_EQ(s.Pick(ready), 0u);
}

TEST(LaneShare, QueuesAreFlowsOfTheirOwn) {
  LaneShare s(Weights(1, 1));
  const Flow dsn{"dsn", Lane::kFirst};
  s.Charge(kFirst, microseconds(500), 1, kT0);
  const std::vector<Flow> ready{kFirst, dsn};
  EXPECT_EQ(s.Pick(ready), 1u);
}

TEST(LaneShare, ANominalPerRecipientCostChargesWorkOnACoarseClock) {
  LaneShare::Options o = Weights(1, 1);
  o.per_recipient = std::chrono::nanoseconds(1000);
  LaneShare s(o);
  // Zero measured time (a fake or coarse clock): 100 recipients weigh 100x one.
  s.Charge(kRetry, microseconds(0), 100, kT0);
  const std::vector<Flow> ready{kFirst, kRetry};
  for (int i = 0; i < 99; ++i) {
    ASSERT_EQ(s.Pick(ready), 0u) << i;
    s.Charge(kFirst, microseconds(0), 1, kT0);
  }
}

TEST(LaneShare, WorkDoneLaterOnAFlowsBehalfCountsAgainstItsShare) {
  LaneShare s(Weights(1, 1));
  const std::vector<Flow> ready{kFirst, kRetry};
  s.Charge(kRetry, microseconds(10), 1, kT0);
  s.Charge(kFirst, microseconds(10), 1, kT0);
  // The retry batch's outcome is logged when its write completes: 50 us more.
  s.ChargeAfter(kRetry, microseconds(50), kT0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(s.Pick(ready), 0u) << i;
    s.Charge(kFirst, microseconds(10), 1, kT0);
  }
  EXPECT_EQ(s.Pick(ready), 1u);
}

TEST(LaneShare, WhileFirstAttemptsFlowRetriesGetTheirShareOfWallTimeNotMore) {
  LaneShare::Options o = Weights(4, 1);  // window 100 ms: retries may use 20 ms of it
  LaneShare s(o);
  MonotonicTime t = kT0;
  // No new mail: retries run back to back.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s.RetriesMayRun(t));
    s.Charge(kRetry, std::chrono::milliseconds(10), 100, t);
    t += std::chrono::milliseconds(10);
  }
  // A first attempt is served: from now on retries get 20 ms per 100 ms window.
  s.Charge(kFirst, microseconds(100), 1, t);
  int64_t retry_ms = 0;
  const MonotonicTime end = t + std::chrono::seconds(1);
  while (t < end) {
    if (s.RetriesMayRun(t)) {
      s.Charge(kRetry, std::chrono::milliseconds(5), 100, t);
      retry_ms += 5;
      t += std::chrono::milliseconds(5);
    } else {
      EXPECT_GT(s.RetriesResumeAt(t), t);
      s.Charge(kFirst, microseconds(100), 1, t);  // new mail keeps coming
      t += std::chrono::milliseconds(1);
    }
  }
  EXPECT_GE(retry_ms, 150);  // never starved: about a fifth of the second
  EXPECT_LE(retry_ms, 300);
  // New mail stops: after the grace period retries run freely again.
  t += o.active_grace;
  EXPECT_TRUE(s.RetriesMayRun(t));
  EXPECT_EQ(s.RetriesResumeAt(t), t);
}

}  // namespace
}  // namespace outpost::scheduler
