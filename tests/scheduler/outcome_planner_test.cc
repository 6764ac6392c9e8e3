#include "scheduler/outcome_planner.h"

#include <gtest/gtest.h>

namespace outpost::scheduler {
namespace {

using queue::RecipientState;
using std::chrono::minutes;

class OutcomePlannerTest : public ::testing::Test {
 protected:
  OutcomePlannerTest() {
    schedule.name = "remote";
    schedule.queue_id = "remote";
    schedule.retry = {minutes(2), minutes(5)};
    schedule.notify = {minutes(30), minutes(90)};
    message.set_id(7);
    message.set_return_path("sender@origin.test");
    message.set_received_unix_ms(0);
    rcpt.set_idx(0);
    rcpt.set_address("rcpt@dest.test");
    rcpt.set_state(proto::STATE_SCHEDULED);
    rcpt.set_expiry_unix_ms(10 * 3600000);
    rcpt.set_next_notify_unix_ms(30 * 60000);
    ctx.schedule = &schedule;
    ctx.random = &random;
    ctx.now_unix_ms = 1000;
  }
  transport::RecipientOutcome Outcome(transport::OutcomeKind k,
                                      transport::ErrorClass e = transport::ErrorClass::kNone) {
    transport::RecipientOutcome o;
    o.kind = k;
    o.error = e;
    o.reply = {k == transport::OutcomeKind::kPermFail ? 550 : 451, "", "x"};
    o.host = "mx.dest.test";
    return o;
  }

  router::Schedule schedule;
  proto::MessageRecord message;
  proto::RecipientRecord rcpt;
  RandomSource random = []() -> uint64_t { return 10000; };
  PlanContext ctx;
  AttemptMeta meta{"mx", 1000, 20};
};

TEST_F(OutcomePlannerTest, TemporaryFailureCountsAndWaitsRetryOfN) {
  auto p = PlanAttemptOutcome(message, rcpt,
                              Outcome(transport::OutcomeKind::kTempFail,
                                      transport::ErrorClass::kTls),
                              meta, ctx);
  EXPECT_EQ(p.change.new_state, RecipientState::kDeferred);
  EXPECT_EQ(p.change.retry_increment, 1u);
  EXPECT_EQ(*p.change.next_attempt_unix_ms, 1000 + 120000);
  ASSERT_TRUE(p.change.attempt);
  EXPECT_EQ(p.change.attempt->error_class, "tls");
  EXPECT_EQ(p.log_status, LogStatus::kDeferred);
  EXPECT_FALSE(p.dsn_event);

  rcpt.set_retry_num(5);  // sixth failure: the last interval repeats
  p = PlanAttemptOutcome(message, rcpt, Outcome(transport::OutcomeKind::kTempFail), meta, ctx);
  EXPECT_EQ(*p.change.next_attempt_unix_ms, 1000 + 300000);
}

TEST_F(OutcomePlannerTest, MaxAttemptsReachedFailsWithLastError) {
  rcpt.set_expiry_unix_ms(0);
  rcpt.set_max_attempts(3);
  rcpt.set_retry_num(2);
  auto p = PlanAttemptOutcome(message, rcpt,
                              Outcome(transport::OutcomeKind::kTempFail,
                                      transport::ErrorClass::kConnection),
                              meta, ctx);
  EXPECT_EQ(p.change.new_state, RecipientState::kFailed);
  EXPECT_EQ(p.change.attempt->error_class, "connection");
  ASSERT_TRUE(p.dsn_event);
  EXPECT_EQ(*p.dsn_event, dsn::DsnEvent::kFailure);
  EXPECT_EQ(p.log_status, LogStatus::kBounced);
}

TEST_F(OutcomePlannerTest, ConfigFailureConsumesNeitherRetryNorExpiry) {
  auto p = PlanAttemptOutcome(message, rcpt,
                              Outcome(transport::OutcomeKind::kTempFail,
                                      transport::ErrorClass::kConfig),
                              meta, ctx);
  EXPECT_EQ(p.change.retry_increment, 0u);
  EXPECT_EQ(*p.change.next_attempt_unix_ms, 1000 + 300000);
  EXPECT_EQ(*p.change.expiry_unix_ms, 10 * 3600000 + 300000);
  EXPECT_EQ(p.change.attempt->error_class, "config");
}

TEST_F(OutcomePlannerTest, DelayNoticeRidesWithATemporaryFailureWhenDue) {
  ctx.now_unix_ms = 31 * 60000;
  auto p = PlanAttemptOutcome(message, rcpt, Outcome(transport::OutcomeKind::kTempFail), meta, ctx);
  ASSERT_TRUE(p.dsn_event);
  EXPECT_EQ(*p.dsn_event, dsn::DsnEvent::kDelay);
  EXPECT_EQ(p.report.action, dsn::DsnAction::kDelayed);
  EXPECT_EQ(*p.change.next_notify_unix_ms, 90 * 60000);
  EXPECT_EQ(p.change.notify_increment, 1u);
  EXPECT_EQ(*p.report.will_retry_until_unix_ms, 10 * 3600000);
}

TEST_F(OutcomePlannerTest, NoDsnForNullSender) {
  message.set_return_path("");
  auto p = PlanAttemptOutcome(message, rcpt, Outcome(transport::OutcomeKind::kPermFail), meta, ctx);
  EXPECT_EQ(p.change.new_state, RecipientState::kFailed);
  EXPECT_FALSE(p.dsn_event);
  EXPECT_EQ(p.log_status, LogStatus::kFailed);
}

TEST_F(OutcomePlannerTest, SuccessDsnOnlyWhenAskedAndWeAreTheLastDsnHop) {
  auto ok = Outcome(transport::OutcomeKind::kDelivered);
  EXPECT_FALSE(PlanAttemptOutcome(message, rcpt, ok, meta, ctx).dsn_event);  // not asked
  rcpt.set_notify_flags(queue::kNotifySuccess);
  ok.dsn_passed_on = true;
  EXPECT_FALSE(PlanAttemptOutcome(message, rcpt, ok, meta, ctx).dsn_event);  // next hop reports
  ok.dsn_passed_on = false;
  auto relayed = PlanAttemptOutcome(message, rcpt, ok, meta, ctx);
  ASSERT_TRUE(relayed.dsn_event);
  EXPECT_EQ(relayed.report.action, dsn::DsnAction::kRelayed);
  ok.final_delivery = true;
  ok.dsn_passed_on = true;
  auto delivered = PlanAttemptOutcome(message, rcpt, ok, meta, ctx);
  ASSERT_TRUE(delivered.dsn_event);
  EXPECT_EQ(delivered.report.action, dsn::DsnAction::kDelivered);
  EXPECT_EQ(delivered.change.dsn_sent_flags, queue::kDsnSentSuccess);
}

TEST_F(OutcomePlannerTest, NotifyNeverSuppressesFailureReport) {
  rcpt.set_notify_flags(queue::kNotifyNever);
  auto p = PlanAttemptOutcome(message, rcpt, Outcome(transport::OutcomeKind::kPermFail), meta, ctx);
  EXPECT_FALSE(p.dsn_event);
}

TEST_F(OutcomePlannerTest, ExpiryKeepsLastErrorAndSaysExpired) {
  rcpt.set_last_error("dns");
  rcpt.set_retry_num(4);
  ctx.now_unix_ms = 10 * 3600000;
  ASSERT_TRUE(IsExpired(rcpt, ctx.now_unix_ms));
  auto p = PlanExpiry(message, rcpt, ctx);
  EXPECT_EQ(p.change.new_state, RecipientState::kFailed);
  EXPECT_FALSE(p.change.attempt);  // no attempt made: last_error stays 'dns'
  EXPECT_EQ(p.report.status, "5.4.7");
  EXPECT_NE(p.report.reply_text.find("dns"), std::string::npos);
}

}  // namespace
}  // namespace outpost::scheduler
