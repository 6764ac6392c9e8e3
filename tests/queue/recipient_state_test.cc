#include "queue/recipient_state.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "outpost_queue.pb.h"

namespace outpost::queue {
namespace {

using S = RecipientState;

// The full table, written out independently of the implementation.
TEST(RecipientState, TransitionTableIsExactlyTheDesignedOne) {
  const std::set<std::pair<S, S>> legal = {
      {S::kScheduled, S::kScheduled}, {S::kScheduled, S::kDeferred}, {S::kScheduled, S::kDelivered},
      {S::kScheduled, S::kFailed},    {S::kScheduled, S::kHeld},     {S::kScheduled, S::kCancelled},
      {S::kDeferred, S::kScheduled},  {S::kDeferred, S::kDeferred},  {S::kDeferred, S::kDelivered},
      {S::kDeferred, S::kFailed},     {S::kDeferred, S::kHeld},      {S::kDeferred, S::kCancelled},
      {S::kHeld, S::kScheduled},      {S::kHeld, S::kDeferred},      {S::kHeld, S::kCancelled},
      {S::kFailed, S::kScheduled},
  };
  for (S from : kAllRecipientStates) {
    for (S to : kAllRecipientStates) {
      EXPECT_EQ(IsLegalTransition(from, to), legal.count({from, to}) == 1)
          << RecipientStateName(from) << " -> " << RecipientStateName(to);
    }
  }
}

TEST(RecipientState, TerminalStatesGoNowhere) {
  for (S to : kAllRecipientStates) {
    EXPECT_FALSE(IsLegalTransition(S::kDelivered, to));
    EXPECT_FALSE(IsLegalTransition(S::kCancelled, to));
  }
}

TEST(RecipientState, NamesRoundTripAndMatchTheProto) {
  for (S s : kAllRecipientStates) {
    EXPECT_EQ(ParseRecipientState(RecipientStateName(s)), s);
    EXPECT_EQ(
        proto::RecipientState_Name(static_cast<proto::RecipientState>(s)), "STATE_" + [&] {
          std::string n(RecipientStateName(s));
          for (char& c : n) c = static_cast<char>(toupper(c));
          return n;
        }());
  }
  EXPECT_FALSE(ParseRecipientState("bogus"));
  EXPECT_FALSE(RecipientStateFromProto(0));
  EXPECT_FALSE(RecipientStateFromProto(7));
}

TEST(RecipientState, Groups) {
  EXPECT_TRUE(IsPending(S::kScheduled));
  EXPECT_TRUE(IsPending(S::kDeferred));
  EXPECT_FALSE(IsPending(S::kHeld));
  EXPECT_TRUE(IsActive(S::kHeld));
  EXPECT_FALSE(IsActive(S::kFailed));
  EXPECT_TRUE(NeedsBody(S::kFailed));
  EXPECT_FALSE(NeedsBody(S::kDelivered));
  EXPECT_FALSE(NeedsBody(S::kCancelled));
}

}  // namespace
}  // namespace outpost::queue
