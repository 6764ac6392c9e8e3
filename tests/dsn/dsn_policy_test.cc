#include "queue/dsn/dsn_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace outpost::dsn {
namespace {

NotifyFlags Notify(std::string_view spec) {
  NotifyFlags n;
  n.never = spec.find("NEVER") != std::string_view::npos;
  n.success = spec.find("SUCCESS") != std::string_view::npos;
  n.failure = spec.find("FAILURE") != std::string_view::npos;
  n.delay = spec.find("DELAY") != std::string_view::npos;
  return n;
}

struct NotifyCase {
  std::string name;
  std::string notify;  // "" = NOTIFY not given
  std::string return_path;
  DsnEvent event;
  SuccessPath path;
  std::optional<DsnAction> expected;
};

class NotifyRules : public testing::TestWithParam<NotifyCase> {};

TEST_P(NotifyRules, DueActionMatchesRfc3461) {
  const NotifyCase& c = GetParam();
  EXPECT_EQ(DueDsnAction(Notify(c.notify), c.event, c.return_path, c.path), c.expected);
  // A DSN-capable hop reports success itself: requested by the sender, yet none from us.
  if (c.path != SuccessPath::kPassedOnToDsnHop) {
    EXPECT_EQ(DsnRequested(Notify(c.notify), c.event, c.return_path), c.expected.has_value());
  }
}

constexpr auto kF = DsnEvent::kFailure;
constexpr auto kD = DsnEvent::kDelay;
constexpr auto kS = DsnEvent::kSuccess;
constexpr auto kFinal = SuccessPath::kFinalDelivery;
constexpr auto kNoDsnHop = SuccessPath::kRelayedWithoutDsn;
constexpr auto kDsnHop = SuccessPath::kPassedOnToDsnHop;
const std::string kRp = "sender@example.org";

INSTANTIATE_TEST_SUITE_P(
    Table, NotifyRules,
    testing::Values(
        NotifyCase{"UnspecifiedFailureYes", "", kRp, kF, kFinal, DsnAction::kFailed},
        NotifyCase{"UnspecifiedDelayYes", "", kRp, kD, kFinal, DsnAction::kDelayed},
        NotifyCase{"UnspecifiedSuccessNo", "", kRp, kS, kFinal, std::nullopt},
        NotifyCase{"NeverFailureNo", "NEVER", kRp, kF, kFinal, std::nullopt},
        NotifyCase{"NeverDelayNo", "NEVER", kRp, kD, kFinal, std::nullopt},
        NotifyCase{"NeverSuccessNo", "NEVER", kRp, kS, kFinal, std::nullopt},
        NotifyCase{"FailureOnlyFailureYes", "FAILURE", kRp, kF, kFinal, DsnAction::kFailed},
        NotifyCase{"FailureOnlyDelayNo", "FAILURE", kRp, kD, kFinal, std::nullopt},
        NotifyCase{"DelayOnlyDelayYes", "DELAY", kRp, kD, kFinal, DsnAction::kDelayed},
        NotifyCase{"DelayOnlyFailureNo", "DELAY", kRp, kF, kFinal, std::nullopt},
        NotifyCase{"SuccessLocalDelivered", "SUCCESS", kRp, kS, kFinal, DsnAction::kDelivered},
        NotifyCase{"SuccessHopWithoutDsnRelayed", "SUCCESS", kRp, kS, kNoDsnHop,
                   DsnAction::kRelayed},
        NotifyCase{"SuccessDsnHopReportsItself", "SUCCESS", kRp, kS, kDsnHop, std::nullopt},
        NotifyCase{"SuccessOnlyFailureNo", "SUCCESS", kRp, kF, kFinal, std::nullopt},
        NotifyCase{"AllFlagsDelayYes", "SUCCESS,FAILURE,DELAY", kRp, kD, kFinal,
                   DsnAction::kDelayed},
        NotifyCase{"NullSenderFailureNo", "", "", kF, kFinal, std::nullopt},
        NotifyCase{"NullSenderDelayNo", "DELAY", "", kD, kFinal, std::nullopt},
        NotifyCase{"NullSenderSuccessNo", "SUCCESS", "", kS, kFinal, std::nullopt}),
    [](const auto& info) { return info.param.name; });

TEST(SuccessPath, DsnHopSuccessIsRequestedButNotOurs) {
  EXPECT_TRUE(DsnRequested(Notify("SUCCESS"), kS, kRp));
  EXPECT_EQ(DueDsnAction(Notify("SUCCESS"), kS, kRp, kDsnHop), std::nullopt);
}

TEST(SuccessPath, FinalDeliveryWinsOverDsnFlag) {
  EXPECT_EQ(SuccessPathOf(true, true), SuccessPath::kFinalDelivery);
  EXPECT_EQ(SuccessPathOf(false, true), SuccessPath::kFinalDelivery);
  EXPECT_EQ(SuccessPathOf(true, false), SuccessPath::kPassedOnToDsnHop);
  EXPECT_EQ(SuccessPathOf(false, false), SuccessPath::kRelayedWithoutDsn);
}

RecipientReport Report(std::string addr, DsnAction action) {
  RecipientReport r;
  r.final_recipient = std::move(addr);
  r.action = action;
  return r;
}

TEST(GroupByEvent, OneReportPerEventInRecipientOrder) {
  std::vector<DsnGroup> groups =
      GroupByEvent({Report("a@x", DsnAction::kDelivered), Report("b@x", DsnAction::kFailed),
                    Report("c@x", DsnAction::kRelayed), Report("d@x", DsnAction::kFailed)});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].event, DsnEvent::kFailure);
  ASSERT_EQ(groups[0].recipients.size(), 2u);
  EXPECT_EQ(groups[0].recipients[0].final_recipient, "b@x");
  EXPECT_EQ(groups[0].recipients[1].final_recipient, "d@x");
  EXPECT_EQ(groups[1].event, DsnEvent::kSuccess);
  ASSERT_EQ(groups[1].recipients.size(), 2u);
  EXPECT_EQ(groups[1].recipients[0].final_recipient, "a@x");
  EXPECT_EQ(groups[1].recipients[1].final_recipient, "c@x");
}

TEST(GroupByEvent, NothingInNothingOut) { EXPECT_TRUE(GroupByEvent({}).empty()); }

TEST(DsnAction, NamesRoundTrip) {
  for (DsnAction a : {DsnAction::kFailed, DsnAction::kDelayed, DsnAction::kDelivered,
                      DsnAction::kRelayed, DsnAction::kExpanded}) {
    EXPECT_EQ(ParseDsnAction(DsnActionName(a)), a);
  }
  EXPECT_EQ(ParseDsnAction("FAILED"), DsnAction::kFailed);
  EXPECT_EQ(ParseDsnAction("bounced"), std::nullopt);
  EXPECT_EQ(EventOfAction(DsnAction::kExpanded), DsnEvent::kSuccess);
}

}  // namespace
}  // namespace outpost::dsn
