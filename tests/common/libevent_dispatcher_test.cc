#include "common/libevent_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace outpost {
namespace {

TEST(LibeventDispatcher, TimerFiresAndExitStopsLoop) {
  LibeventDispatcher d;
  int fired = 0;
  auto t = d.CreateTimer([&] {
    ++fired;
    d.Exit();
  });
  t->Enable(Millis(5));
  d.Run();
  EXPECT_EQ(fired, 1);
}

TEST(LibeventDispatcher, PostsFromManyThreadsAllRunOnLoopThread) {
  LibeventDispatcher d;
  constexpr int kThreads = 4, kPerThread = 500;
  std::atomic<int> ran{0};
  bool all_on_loop = true;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kPerThread; ++j) {
        d.Post([&] {
          all_on_loop = all_on_loop && d.IsLoopThread();
          if (++ran == kThreads * kPerThread) d.Exit();
        });
      }
    });
  }
  d.Run();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ran.load(), kThreads * kPerThread);
  EXPECT_TRUE(all_on_loop);
}

TEST(LibeventDispatcher, DisabledTimerDoesNotFire) {
  LibeventDispatcher d;
  int fired = 0;
  auto t = d.CreateTimer([&] { ++fired; });
  t->Enable(Millis(1));
  EXPECT_TRUE(t->Enabled());
  t->Disable();
  auto stop = d.CreateTimer([&] { d.Exit(); });
  stop->Enable(Millis(20));
  d.Run();
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace outpost
