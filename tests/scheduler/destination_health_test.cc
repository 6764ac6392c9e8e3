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

const std::string kDest = "dest:relay:r";

TEST(DestinationHealth, PeriodDoublesPerFailedProbeUpToMaxAndASuccessClearsIt) {
  DestinationHealth h({std::chrono::seconds(30), std::chrono::seconds(100)});
  EXPECT_EQ(h.DownAt(kDest, 0), nullptr);
  EXPECT_FALSE(h.StartProbe(kDest, 0)) << "never down: no probe";
  h.Record(kDest, kRefused, 1000, 990, false);
  ASSERT_NE(h.DownAt(kDest, 1000), nullptr);
  EXPECT_EQ(h.DownAt(kDest, 1000)->until_unix_ms, 31000);
  EXPECT_EQ(h.DownAt(kDest, 1000)->error, ErrorClass::kConnection);
  EXPECT_FALSE(h.StartProbe(kDest, 30999));
  EXPECT_EQ(h.DownCount(30999), 1u);
  EXPECT_EQ(h.DownCount(31000), 0u);
  EXPECT_EQ(h.DownAt(kDest, 31000), nullptr);  // the period has ended: the next one probes
  EXPECT_EQ(h.DownAt("dest:mx:other.test", 1000), nullptr);
  EXPECT_FALSE(h.StartProbe("dest:mx:other.test", 31000));
  // A transaction that started before the mark and ends inside the period changes nothing.
  h.Record(kDest, kRefused, 20000, 500, false);
  EXPECT_EQ(h.DownAt(kDest, 20000)->until_unix_ms, 31000);
  ASSERT_TRUE(h.StartProbe(kDest, 31000));
  h.Record(kDest, kRefused, 31000, 31000, true);  // failed probe: 60 s
  EXPECT_EQ(h.DownAt(kDest, 31000)->until_unix_ms, 91000);
  ASSERT_TRUE(h.StartProbe(kDest, 91000));
  h.Record(kDest, kRefused, 91000, 91000, true);  // 120 s, capped at 100 s
  EXPECT_EQ(h.DownAt(kDest, 91000)->until_unix_ms, 191000);
  ASSERT_TRUE(h.StartProbe(kDest, 191000));
  h.Record(kDest, Result({{OutcomeKind::kDelivered, ErrorClass::kNone}}), 191000, 191000, true);
  EXPECT_EQ(h.DownAt(kDest, 191000), nullptr);
  EXPECT_FALSE(h.StartProbe(kDest, 191000)) << "up again: no probe";
  EXPECT_EQ(h.size_for_test(), 0u);
  h.Record("", kRefused, 0, 0, false);  // no destination key (Local): never tracked
  EXPECT_EQ(h.size_for_test(), 0u);
}

// One probe at a time: while it is out (a connect that hangs until its timeout) the
// destination stays down, with a provisional period renewed as it runs out, so the backlog is
// deferred in bulk instead of becoming more probes or waiting leased in memory.
TEST(DestinationHealth, OneProbeAtATimeAndTheDestinationStaysDownWhileItIsOut) {
  DestinationHealth h({std::chrono::seconds(30), std::chrono::seconds(600)});
  h.Record(kDest, kRefused, 0, 0, false);
  ASSERT_TRUE(h.StartProbe(kDest, 30000));
  EXPECT_FALSE(h.StartProbe(kDest, 30001)) << "a probe is already out";
  ASSERT_NE(h.DownAt(kDest, 30001), nullptr);
  EXPECT_EQ(h.DownAt(kDest, 30001)->until_unix_ms, 60000);
  EXPECT_TRUE(h.DownAt(kDest, 30001)->probing);
  // Still out after the provisional period: renewed, still no second probe.
  ASSERT_NE(h.DownAt(kDest, 70000), nullptr);
  EXPECT_EQ(h.DownAt(kDest, 70000)->until_unix_ms, 100000);
  EXPECT_FALSE(h.StartProbe(kDest, 100000));
  // A transaction that started before the mark fails while the probe is out: ignored.
  h.Record(kDest, kRefused, 80000, 0, false);
  EXPECT_TRUE(h.DownAt(kDest, 80000)->probing);
  // The probe times out: doubled from its end.
  h.Record(kDest, kRefused, 330000, 30000, true);
  ASSERT_NE(h.DownAt(kDest, 330000), nullptr);
  EXPECT_FALSE(h.DownAt(kDest, 330000)->probing);
  EXPECT_EQ(h.DownAt(kDest, 330000)->until_unix_ms, 390000);
}

// Failures are judged by when their transaction started: connections already under way when
// the destination was marked (5-minute connect timeouts against a 30 s period) end after the
// period but are the same outage, not failed probes.
TEST(DestinationHealth, AFailureThatStartedBeforeTheMarkNeverExtendsThePeriod) {
  DestinationHealth h({std::chrono::seconds(30), std::chrono::seconds(600)});
  h.Record(kDest, kRefused, 10000, 0, false);  // marked at 10 s, until 40 s
  h.Record(kDest, kRefused, 300000, 5000, false);  // started at 5 s, timed out at 300 s
  EXPECT_EQ(h.DownAt(kDest, 300000), nullptr);
  EXPECT_TRUE(h.StartProbe(kDest, 300000)) << "the period was neither extended nor doubled";
  h.Record(kDest, kRefused, 300001, 300000, true);
  EXPECT_EQ(h.DownAt(kDest, 300001)->period, std::chrono::seconds(60));
}

}  // namespace
}  // namespace outpost::scheduler
