#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/fake_dispatcher.h"

namespace outpost {
namespace {

TEST(FakeClock, AdvanceMovesBothClocks) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowUnixMs(), 1000);
  auto m0 = clock.MonotonicNow();
  clock.Advance(Millis(250));
  EXPECT_EQ(clock.NowUnixMs(), 1250);
  EXPECT_EQ(clock.MonotonicNow() - m0, Millis(250));
}

TEST(FakeClock, WallClockStepLeavesMonotonicAlone) {
  FakeClock clock(1000);
  auto m0 = clock.MonotonicNow();
  clock.StepWallClock(Millis(-500));
  EXPECT_EQ(clock.NowUnixMs(), 500);
  EXPECT_EQ(clock.MonotonicNow(), m0);
}

TEST(FakeDispatcher, PostedWorkRunsInOrderOnlyWhenPumped) {
  FakeClock clock;
  FakeDispatcher d(clock);
  std::vector<int> seen;
  d.Post([&] { seen.push_back(1); });
  d.Post([&] {
    seen.push_back(2);
    d.Post([&] { seen.push_back(3); });
  });
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(d.RunPending(), 3u);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

TEST(FakeDispatcher, TimersFireInDeadlineOrderAtTheirDeadline) {
  FakeClock clock(0);
  FakeDispatcher d(clock);
  std::vector<std::pair<int, int64_t>> fired;
  auto t1 = d.CreateTimer([&] { fired.push_back({1, clock.NowUnixMs()}); });
  auto t2 = d.CreateTimer([&] { fired.push_back({2, clock.NowUnixMs()}); });
  t1->Enable(Millis(300));
  t2->Enable(Millis(100));
  EXPECT_TRUE(t1->Enabled());
  d.Advance(Millis(99));
  EXPECT_TRUE(fired.empty());
  d.Advance(Millis(1000));
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], (std::pair<int, int64_t>{2, 100}));
  EXPECT_EQ(fired[1], (std::pair<int, int64_t>{1, 300}));
  EXPECT_EQ(clock.NowUnixMs(), 1099);
  EXPECT_FALSE(t1->Enabled());
}

TEST(FakeDispatcher, ReEnableReplacesDeadlineAndDisableCancels) {
  FakeClock clock(0);
  FakeDispatcher d(clock);
  int count = 0;
  auto t = d.CreateTimer([&] { ++count; });
  t->Enable(Millis(100));
  t->Enable(Millis(500));
  d.Advance(Millis(200));
  EXPECT_EQ(count, 0);
  t->Disable();
  d.Advance(Millis(1000));
  EXPECT_EQ(count, 0);
}

TEST(FakeDispatcher, TimerCanRearmAndDestroyItselfSafely) {
  FakeClock clock(0);
  FakeDispatcher d(clock);
  int count = 0;
  std::unique_ptr<Timer> t;
  t = d.CreateTimer([&] {
    if (++count < 3) {
      t->Enable(Millis(10));
    } else {
      d.DeferredDelete(std::move(t));
    }
  });
  t->Enable(Millis(10));
  d.Advance(Millis(100));
  EXPECT_EQ(count, 3);
  EXPECT_EQ(t, nullptr);
}

TEST(FakeDispatcher, DestroyedTimerNeverFires) {
  FakeClock clock(0);
  FakeDispatcher d(clock);
  int count = 0;
  auto t = d.CreateTimer([&] { ++count; });
  t->Enable(Millis(10));
  t.reset();
  d.Advance(Millis(100));
  EXPECT_EQ(count, 0);
  EXPECT_EQ(d.ArmedTimerCountForTest(), 0u);
}

TEST(FakeDispatcher, RunUntilWaitsForPostsFromOtherThreads) {
  FakeClock clock;
  FakeDispatcher d(clock);
  bool done = false;
  std::thread worker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    d.Post([&] { done = true; });
  });
  EXPECT_TRUE(d.RunUntil([&] { return done; }));
  worker.join();
}

}  // namespace
}  // namespace outpost
