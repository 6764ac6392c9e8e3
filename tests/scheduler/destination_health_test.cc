#include "scheduler/destination_health.h"

#include <gtest/gtest.h>

namespace outpost::scheduler {
namespace {

using transport::DeliveryResult;
using transport::ErrorClass;
using transport::OutcomeKind;

DeliveryResult Result(std::vector<std::pair<OutcomeKind, ErrorClass>> outcomes) {
  DeliveryResult r;
  for (auto [kind, error] : outcomes) {
    transport::RecipientOutcome o;
    o.kind = kind;
    o.error = error;
    o.reply = {451, "4.4.1", "connection refused"};
    r.outcomes.push_back(o);
  }
  return r;
}

const DeliveryResult kRefused = Result({{OutcomeKind::kTempFail, ErrorClass::kConnection},
                                        {OutcomeKind::kTempFail, ErrorClass::kConnection}});

TEST(DestinationHealth, WhatCountsAsUnreachable) {
  EXPECT_TRUE(DestinationHealth::Unreachable(kRefused));
  EXPECT_TRUE(DestinationHealth::Unreachable(Result({{OutcomeKind::kTempFail, ErrorClass::kDns}})));
  EXPECT_FALSE(DestinationHealth::Unreachable(Result({})));  // agent broke its contract
  // A reply, a TLS failure or one delivered recipient means some host was reached.
  EXPECT_FALSE(DestinationHealth::Unreachable(
      Result({{OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply}})));
  EXPECT_FALSE(DestinationHealth::Unreachable(Result({{OutcomeKind::kTempFail, ErrorClass::kTls}})));
  EXPECT_FALSE(DestinationHealth::Unreachable(
      Result({{OutcomeKind::kTempFail, ErrorClass::kConnection},
              {OutcomeKind::kDelivered, ErrorClass::kNone}})));
  EXPECT_FALSE(DestinationHealth::Unreachable(
      Result({{OutcomeKind::kPermFail, ErrorClass::kConnection}})));
}

TEST(DestinationHealth, PeriodDoublesPerFailedProbeUpToMaxAndASuccessClearsIt) {
  DestinationHealth h({std::chrono::seconds(30), std::chrono::seconds(100)});
  EXPECT_EQ(h.DownAt("dest:relay:r", 0), nullptr);
  h.Record("dest:relay:r", kRefused, 1000);
  ASSERT_NE(h.DownAt("dest:relay:r", 1000), nullptr);
  EXPECT_EQ(h.DownAt("dest:relay:r", 1000)->until_unix_ms, 31000);
  EXPECT_EQ(h.DownAt("dest:relay:r", 1000)->error, ErrorClass::kConnection);
  EXPECT_FALSE(h.ProbeDue("dest:relay:r", 30999));
  EXPECT_EQ(h.DownAt("dest:relay:r", 31000), nullptr);  // the period has ended: probe
  EXPECT_TRUE(h.ProbeDue("dest:relay:r", 31000));
  EXPECT_EQ(h.DownCount(30999), 1u);
  EXPECT_EQ(h.DownCount(31000), 0u);
  EXPECT_FALSE(h.ProbeDue("dest:mx:other.test", 31000));
  EXPECT_EQ(h.DownAt("dest:mx:other.test", 1000), nullptr);
  // A transaction that started before the mark and ends inside the period changes nothing.
  h.Record("dest:relay:r", kRefused, 20000);
  EXPECT_EQ(h.DownAt("dest:relay:r", 20000)->until_unix_ms, 31000);
  h.Record("dest:relay:r", kRefused, 31000);  // failed probe: 60 s
  EXPECT_EQ(h.DownAt("dest:relay:r", 31000)->until_unix_ms, 91000);
  h.Record("dest:relay:r", kRefused, 91000);  // 120 s, capped at 100 s
  EXPECT_EQ(h.DownAt("dest:relay:r", 91000)->until_unix_ms, 191000);
  h.Record("dest:relay:r", Result({{OutcomeKind::kDelivered, ErrorClass::kNone}}), 191000);
  EXPECT_EQ(h.DownAt("dest:relay:r", 191000), nullptr);
  EXPECT_FALSE(h.ProbeDue("dest:relay:r", 191000)) << "up again: no longer probing";
  EXPECT_EQ(h.size_for_test(), 0u);
  h.Record("", kRefused, 0);  // no destination key (Local): never tracked
  EXPECT_EQ(h.size_for_test(), 0u);
}

}  // namespace
}  // namespace outpost::scheduler
