#include "queue/message_id.h"

#include <gtest/gtest.h>

#include "storage/keys.h"

namespace outpost::queue {
namespace {

TEST(MessageId, TimeOrderedAndShownAs16Hex) {
  FakeClock clock(1767225600000);
  MessageIdGenerator gen(clock, 0);
  uint64_t a = gen.Next();
  EXPECT_EQ(MessageIdGenerator::UnixMsOf(a), 1767225600000);
  EXPECT_EQ(storage::FormatMessageId(a).size(), 16u);
  clock.Advance(Millis(1));
  EXPECT_GT(gen.Next(), a);
}

TEST(MessageId, StrictlyIncreasingWithinOneMillisecond) {
  FakeClock clock;
  MessageIdGenerator gen(clock, 0);
  uint64_t prev = gen.Next();
  for (int i = 0; i < 1000; ++i) {
    uint64_t next = gen.Next();
    EXPECT_GT(next, prev);
    prev = next;
  }
}

TEST(MessageId, ClockStepBackNeverReusesAnId) {
  FakeClock clock;
  MessageIdGenerator gen(clock, 0);
  uint64_t before = gen.Next();
  clock.StepWallClock(Millis(-3600 * 1000));
  EXPECT_GT(gen.Next(), before);
}

TEST(MessageId, SeedFromTheStoreWinsOverAnOlderClock) {
  FakeClock clock(1000);
  const uint64_t seed = (uint64_t{5000} << 16) | 7;
  MessageIdGenerator gen(clock, seed);
  EXPECT_EQ(gen.Next(), seed + 1);
}

}  // namespace
}  // namespace outpost::queue
