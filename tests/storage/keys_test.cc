#include "storage/keys.h"

#include <gtest/gtest.h>

namespace outpost::storage {
namespace {

TEST(Keys, MessageIdsSortNumerically) {
  EXPECT_LT(MessageKey(0x00ff), MessageKey(0x0100));
  EXPECT_LT(MessageKey(1), MessageKey(uint64_t{1} << 56));
  EXPECT_EQ(ParseMessageKey(MessageKey(0x1234567890abcdefULL)), 0x1234567890abcdefULL);
  EXPECT_FALSE(ParseMessageKey("short"));
}

TEST(Keys, DueKeysOrderByQueueThenLaneThenTimeThenRecipient) {
  RecipientKey a{7, 1}, b{7, 2};
  constexpr DueLane kF = DueLane::kFirst, kR = DueLane::kRetry;
  EXPECT_LT(DueKey("remote", kF, 1000, b), DueKey("remote", kF, 1001, a));
  EXPECT_LT(DueKey("remote", kF, 1000, a), DueKey("remote", kF, 1000, b));
  // "local" < "local2": the 0x00 separator keeps one queue's keys (both lanes) together.
  EXPECT_LT(DueKey("local", kR, 99999999, a), DueKey("local2", kF, 0, a));
  EXPECT_LT(DueKey("remote", kF, 5000, a), DueUpperBound("remote", kF, 5000));
  EXPECT_GE(DueKey("remote", kF, 5001, a), DueUpperBound("remote", kF, 5000));
  // A lane is a range of its own: every first attempt sorts before every retry, and each
  // lane's range lies inside the queue's.
  EXPECT_LT(DueKey("remote", kF, 99999999, b), DueKey("remote", kR, 0, a));
  EXPECT_LE(DueLanePrefixEnd("remote", kF), DueKey("remote", kR, 0, a));
  EXPECT_LT(DueKey("remote", kR, 99999999, b), DueLanePrefixEnd("remote", kR));
  EXPECT_LE(DueLanePrefixEnd("remote", kR), DuePrefixEnd("remote"));
  EXPECT_GE(DueLanePrefix("remote", kF), DuePrefix("remote"));
  for (DueLane lane : kDueLanes) {
    auto e = ParseDueKey(DueKey("dsn", lane, 42, b));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->queue, "dsn");
    EXPECT_EQ(e->lane, lane);
    EXPECT_EQ(e->due_unix_ms, 42);
    EXPECT_EQ(e->rcpt, b);
  }
  EXPECT_FALSE(ParseDueKey("no-separator"));
  // An unknown lane byte is not a due key.
  std::string bad = DueKey("dsn", kR, 42, b);
  bad[4] = '\x07';
  EXPECT_FALSE(ParseDueKey(bad));
}

TEST(Keys, TheLaneFollowsTheAttemptsMade) {
  EXPECT_EQ(DueLaneFor(0), DueLane::kFirst);
  EXPECT_EQ(DueLaneFor(1), DueLane::kRetry);
  EXPECT_EQ(DueLaneFor(40), DueLane::kRetry);
}

TEST(Keys, NegativeTimesClampToZero) {
  EXPECT_EQ(DueKey("q", DueLane::kFirst, -5, {1, 0}), DueKey("q", DueLane::kFirst, 0, {1, 0}));
}

TEST(Keys, TimeIndexRoundTrip) {
  auto e = ParseTimeIndexKey(TimeIndexKey(123456, {9, 3}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->unix_ms, 123456);
  EXPECT_EQ(e->rcpt, (RecipientKey{9, 3}));
}

TEST(Keys, CountersAreLittleEndianInt64) {
  EXPECT_EQ(DecodeCounter(EncodeCounter(-3)), -3);
  EXPECT_EQ(DecodeCounter(EncodeCounter(int64_t{1} << 40)), int64_t{1} << 40);
  EXPECT_FALSE(DecodeCounter("abc"));
}

TEST(Keys, MessageIdHexRoundTrip) {
  EXPECT_EQ(FormatMessageId(0x00000190c0ffee01ULL), "00000190c0ffee01");
  EXPECT_EQ(ParseMessageId("00000190C0FFEE01"), 0x00000190c0ffee01ULL);
  EXPECT_FALSE(ParseMessageId("xyz"));
  EXPECT_FALSE(ParseMessageId("00000190c0ffee0g"));
}

}  // namespace
}  // namespace outpost::storage
