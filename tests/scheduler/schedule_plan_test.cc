#include "scheduler/schedule_plan.h"

#include <gtest/gtest.h>

namespace outpost::scheduler {
namespace {

using std::chrono::minutes;

router::Schedule Remote() {
  router::Schedule s;
  s.name = "remote";
  s.queue_id = "remote";
  s.retry = {minutes(2), minutes(5), minutes(10)};
  s.notify = {minutes(60), minutes(180)};
  s.ttl = minutes(600);
  return s;
}

RandomSource Fixed(uint64_t v) {
  return [v]() { return v; };
}

TEST(RetryDelay, NthFailureUsesEntryNMinusOneAndLastRepeats) {
  const auto s = Remote();
  const auto one = Fixed(10000);  // factor 1.0
  EXPECT_EQ(RetryDelay(s, 1, one), minutes(2));
  EXPECT_EQ(RetryDelay(s, 2, one), minutes(5));
  EXPECT_EQ(RetryDelay(s, 3, one), minutes(10));
  EXPECT_EQ(RetryDelay(s, 4, one), minutes(10));
  EXPECT_EQ(RetryDelay(s, 100, one), minutes(10));
  EXPECT_EQ(RetryDelay(s, 0, one), minutes(2));
}

TEST(RetryDelay, JitterStaysWithinTenPercent) {
  const auto s = Remote();
  EXPECT_EQ(RetryDelay(s, 1, Fixed(0)), Millis(108000));      // -10%
  EXPECT_EQ(RetryDelay(s, 1, Fixed(20000)), Millis(132000));  // +10%
  RandomSource random = SeededRandom(42);
  bool below = false, above = false;
  for (int i = 0; i < 2000; ++i) {
    const Millis d = RetryDelay(s, 2, random);
    ASSERT_GE(d, Millis(270000));
    ASSERT_LE(d, Millis(330000));
    below |= d < minutes(5);
    above |= d > minutes(5);
  }
  EXPECT_TRUE(below && above) << "jitter never spread both ways";
}

TEST(PlanFromSchedule, TtlAndNoticesCountFromBase) {
  const auto p = PlanFromSchedule(Remote(), 1000, 5000);
  EXPECT_EQ(p.virtual_queue, "remote");
  EXPECT_EQ(p.schedule, "remote");
  EXPECT_EQ(p.next_attempt_unix_ms, 5000);
  EXPECT_EQ(p.next_notify_unix_ms, 1000 + 3600000);
  EXPECT_EQ(p.expiry_unix_ms, 1000 + 36000000);
  EXPECT_EQ(p.max_attempts, 0u);
}

TEST(PlanFromSchedule, AttemptsExpiryAndNoNotices) {
  auto s = Remote();
  s.expiry = router::Schedule::ExpiryKind::kAttempts;
  s.max_attempts = 3;
  s.notify.clear();
  const auto p = PlanFromSchedule(s, 1000, 1000);
  EXPECT_EQ(p.expiry_unix_ms, 0);
  EXPECT_EQ(p.max_attempts, 3u);
  EXPECT_EQ(p.next_notify_unix_ms, 0);
}

TEST(NextNotify, OffsetsFromArrivalAndExhaustion) {
  const auto s = Remote();
  auto step = NextNotify(s, 0, 0, 3600000);
  EXPECT_EQ(step.next_notify_unix_ms, 180 * 60000);
  EXPECT_EQ(step.increment, 1u);
  step = NextNotify(s, 0, 1, 180 * 60000);
  EXPECT_EQ(step.next_notify_unix_ms, 0);
}

TEST(NextNotify, MissedNoticesAreSkippedNotBurst) {
  const auto s = Remote();
  // Woken long after both offsets (daemon was down): no further notice, index advances.
  auto step = NextNotify(s, 0, 0, 500 * 60000);
  EXPECT_EQ(step.next_notify_unix_ms, 0);
}

}  // namespace
}  // namespace outpost::scheduler
