// The delivery engine against a real QueueStore, a FakeClock and hand-written agents.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include "scheduler/ingest_planner.h"
#include "scheduler_test_env.h"

namespace outpost::scheduler::testing {
namespace {

using queue::RecipientState;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class SchedulerTest : public SchedulerEnv {
 protected:
  int64_t MonoMs() {
    return std::chrono::duration_cast<Millis>(clock.MonotonicNow().time_since_epoch()).count();
  }
  // Moves time forward timer by timer, letting every write land before the next one fires.
  void RunFor(Millis total) {
    const int64_t target = MonoMs() + total.count();
    for (;;) {
      const int64_t next = dispatcher.NextTimerDeadlineMsForTest();
      const int64_t now = MonoMs();
      if (next < 0 || next > target) {
        AdvanceAndSettle(Millis(target - now));
        return;
      }
      AdvanceAndSettle(Millis(std::max<int64_t>(next - now, 0)));
    }
  }
  static RecipientState State(const proto::RecipientRecord& r) {
    return *queue::RecipientStateFromProto(r.state());
  }
  // Requests for message `id` only (DSNs are delivered by the same agents).
  static size_t CallsFor(const FakeAgent& agent, uint64_t id) {
    size_t n = 0;
    for (const auto& c : agent.calls) n += c.request.message.id == id;
    return n;
  }
};

// ---- delivery, grouping, logging --------------------------------------------------------------

TEST_F(SchedulerTest, GroupsDueRecipientsPerDomainAndRecordsDelivery) {
  Start();
  const uint64_t id = Submit(Message({"a@one.test", "b@one.test", "c@two.test"}));
  ASSERT_EQ(mx.calls.size(), 2u);
  const auto& first = mx.calls[0].request;
  ASSERT_TRUE(std::holds_alternative<transport::MxRoute>(first.route));
  EXPECT_EQ(std::get<transport::MxRoute>(first.route).domain, "one.test");
  EXPECT_EQ(first.recipients.size(), 2u);
  EXPECT_EQ(first.message.id, id);
  ASSERT_TRUE(first.message.body);
  EXPECT_NE(first.message.body->find("Subject: hello"), std::string::npos);
  EXPECT_EQ(mx.calls[1].request.recipients.size(), 1u);

  mx.CompleteAll(Delivered());
  Settle();
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(State(Rcpt(id, i)), RecipientState::kDelivered);
  EXPECT_EQ(logs.Count(LogLevel::kInfo, "status=sent"), 3u);
  const auto lines = logs.Lines("rcpt=a@one.test");
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("id=" + storage::FormatMessageId(id)), std::string::npos);
  EXPECT_NE(lines.back().find("route=mx"), std::string::npos);
  EXPECT_NE(lines.back().find("host=mx.peer.test"), std::string::npos);
  const auto m = scheduler->metrics();
  EXPECT_EQ(m.deliveries.at({"sent", "mx"}), 3u);
  EXPECT_EQ(m.attempts, 2u);
  EXPECT_EQ(m.in_flight_by_queue.at("remote"), 0u);
}

// ---- retry timing and counting ------------------------------------------------------------------

TEST_F(SchedulerTest, RetryNumAndLastErrorProgressWithRetryIntervals) {
  Start();
  const int64_t t0 = clock.NowUnixMs();
  const uint64_t id = Submit(Message({"a@slow.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  EXPECT_EQ(Rcpt(id).retry_num(), 0u);
  mx.Complete(0, AllSame(mx.calls[0].request, Temp(ErrorClass::kDns, 0, "SERVFAIL")));
  Settle();
  auto r = Rcpt(id);
  EXPECT_EQ(State(r), RecipientState::kDeferred);
  EXPECT_EQ(r.retry_num(), 1u);
  EXPECT_EQ(r.last_error(), "dns");
  EXPECT_EQ(r.next_attempt_unix_ms(), t0 + 120000);  // retry[0] = 2m, jitter factor 1.0

  RunFor(seconds(119));
  EXPECT_EQ(mx.calls.size(), 1u) << "attempted before its due time";
  RunFor(seconds(1));
  ASSERT_EQ(mx.calls.size(), 2u);
  mx.Complete(1, AllSame(mx.calls[1].request, Temp(ErrorClass::kConnection)));
  Settle();
  r = Rcpt(id);
  EXPECT_EQ(r.retry_num(), 2u);
  EXPECT_EQ(r.last_error(), "connection");
  EXPECT_EQ(r.next_attempt_unix_ms(), clock.NowUnixMs() + 300000);  // retry[1] = 5m
  EXPECT_EQ(r.attempts_size(), 2);
}

TEST_F(SchedulerTest, RetryJitterIsWithinTenPercent) {
  Start();
  jitter_value = 0;  // the lowest factor, 0.9
  const uint64_t a = Submit(Message({"a@slow.test"}));
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  EXPECT_EQ(Rcpt(a).next_attempt_unix_ms() - clock.NowUnixMs(), 108000);
  jitter_value = 20000;  // the highest, 1.1
  const uint64_t b = Submit(Message({"b@slow2.test"}));
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  EXPECT_EQ(Rcpt(b).next_attempt_unix_ms() - clock.NowUnixMs(), 132000);
}

// The seed's failover: `retry_num > 1` -> 'fallback' picks the fallback on the third attempt.
TEST_F(SchedulerTest, SeedFailoverThirdAttemptUsesFallbackRelay) {
  Start(R"({
    "server": {"hostname": "mta.outpost.test"},
    "routes": [{"@type": "Relay", "name": "primary", "address": "127.0.0.1", "port": 2525},
               {"@type": "Relay", "name": "fallback", "address": "127.0.0.2", "port": 2526}],
    "strategy": {"route": {"match": [{"if": "retry_num > 1", "then": "'fallback'"}],
                           "else": "'primary'"}}
  })");
  relay.script = [](const DeliveryRequest& r) {
    return AllSame(r, Temp(ErrorClass::kConnection));
  };
  const uint64_t id = Submit(Message({"a@dest.test"}));
  RunFor(minutes(8));  // attempts at 0, +2m, +7m
  ASSERT_EQ(relay.calls.size(), 3u);
  EXPECT_EQ(relay.calls[0].request.route_name, "primary");
  EXPECT_EQ(relay.calls[1].request.route_name, "primary");
  EXPECT_EQ(relay.calls[2].request.route_name, "fallback");
  EXPECT_EQ(std::get<transport::RelayRoute>(relay.calls[2].request.route).address, "127.0.0.2");
  EXPECT_EQ(Rcpt(id).retry_num(), 3u);
  EXPECT_EQ(Rcpt(id).last_route(), "fallback");
}

TEST_F(SchedulerTest, TlsLadderSwitchesStrategyAfterTlsError) {
  Start();
  Submit(Message({"a@tls.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  transport::HostContext host{"mx.tls.test", "127.0.0.3", ""};
  transport::TlsPolicy tls;
  std::string error;
  ASSERT_TRUE(mx.calls[0].request.policy->TlsFor(host, &tls, &error)) << error;
  EXPECT_EQ(tls.strategy_name, "default");
  EXPECT_FALSE(tls.allow_invalid_certs);
  transport::ConnectionPolicy conn;
  ASSERT_TRUE(mx.calls[0].request.policy->ConnectionFor(host, &conn, &error)) << error;
  EXPECT_EQ(conn.ehlo_hostname, "mta.outpost.test");  // falls back to server.hostname

  mx.Complete(0, AllSame(mx.calls[0].request, Temp(ErrorClass::kTls, 0, "handshake")));
  Settle();
  RunFor(minutes(2));
  ASSERT_EQ(mx.calls.size(), 2u);
  ASSERT_TRUE(mx.calls[1].request.policy->TlsFor(host, &tls, &error)) << error;
  EXPECT_EQ(tls.strategy_name, "invalid-tls");
  EXPECT_TRUE(tls.allow_invalid_certs);
}

// ---- expiry and DSNs ----------------------------------------------------------------------------

constexpr const char* kShortTtl = R"({
  "server": {"hostname": "mta.outpost.test"},
  "schedules": [{"name": "remote", "queueId": "remote", "retry": ["2m"], "notify": ["5m"],
                 "expiry": {"@type": "Ttl", "expire": "10m"}}]
})";

TEST_F(SchedulerTest, ExpiryByTtlFailsWithLastErrorAndSendsFailureDsn) {
  Start(kShortTtl);
  mx.script = [](const DeliveryRequest& r) {
    return AllSame(r, Temp(ErrorClass::kConnection, 421, "busy"));
  };
  const uint64_t id = Submit(Message({"a@dead.test"}));
  RunFor(minutes(11));
  // Attempts at 0, 2, 4, 6, 8; at 10 the TTL wins over the attempt. The one at 8 is made
  // without a transaction: the destination is marked down from 6 until 10 (30 s, doubling
  // per failed probe), as the transport's own down-host memory would have answered it.
  EXPECT_EQ(CallsFor(mx, id), 4u);
  const auto r = Rcpt(id);
  EXPECT_EQ(State(r), RecipientState::kFailed);
  EXPECT_EQ(r.last_error(), "connection");
  EXPECT_EQ(r.retry_num(), 5u);

  const auto dsns = Dsns();
  ASSERT_EQ(dsns.size(), 2u);  // the delay notice at 5m, the failure at 10m
  const auto& failure = dsns[1];
  EXPECT_EQ(failure.message.return_path(), "");
  EXPECT_EQ(failure.message.source(), proto::SOURCE_DSN);
  ASSERT_EQ(failure.recipients.size(), 1u);
  EXPECT_EQ(failure.recipients[0].address(), "sender@origin.test");
  EXPECT_EQ(failure.recipients[0].virtual_queue(), "dsn");  // the schedule sends DSNs there
  const auto parsed = ParseDsnOf(failure);
  ASSERT_EQ(parsed.recipients.size(), 1u);
  EXPECT_EQ(parsed.recipients[0].action, dsn::DsnAction::kFailed);
  EXPECT_EQ(parsed.recipients[0].final_recipient.address, "a@dead.test");
  EXPECT_EQ(parsed.recipients[0].status, "5.4.7");
  ASSERT_TRUE(parsed.reporting_mta);
  EXPECT_EQ(parsed.reporting_mta->value, "mta.outpost.test");
}

TEST_F(SchedulerTest, DelayDsnAtNotifyOffsetThenNextNotice) {
  Start(kShortTtl);
  mx.script = [](const DeliveryRequest& r) { return AllSame(r, Temp(ErrorClass::kConnection)); };
  const uint64_t id = Submit(Message({"a@slow.test", "b@slow.test"}));
  RunFor(minutes(5) + seconds(1));
  const auto dsns = Dsns();
  ASSERT_EQ(dsns.size(), 1u) << "one report per message per event";
  const auto parsed = ParseDsnOf(dsns[0]);
  ASSERT_EQ(parsed.recipients.size(), 2u);
  EXPECT_EQ(parsed.recipients[0].action, dsn::DsnAction::kDelayed);
  EXPECT_TRUE(parsed.recipients[0].will_retry_until_unix_ms.has_value());
  EXPECT_EQ(dsns[0].recipients[0].address(), "sender@origin.test");
  const auto r = Rcpt(id);
  EXPECT_EQ(r.notify_num(), 1u);
  EXPECT_EQ(r.next_notify_unix_ms(), 0);  // the list had one notice
  EXPECT_EQ(State(r), RecipientState::kDeferred);
  EXPECT_EQ(r.retry_num(), 3u);  // the notice itself is not an attempt
}

TEST_F(SchedulerTest, ExpiryByAttemptsFailsAfterMaxAttempts) {
  Start(R"({"schedules": [{"name": "remote", "queueId": "remote", "retry": ["1m"], "notify": [],
                           "expiry": {"@type": "Attempts", "maxAttempts": 3}}]})");
  mx.script = [](const DeliveryRequest& r) { return AllSame(r, Temp(ErrorClass::kDns, 0)); };
  const uint64_t id = Submit(Message({"a@gone.test"}));
  RunFor(minutes(10));
  EXPECT_EQ(CallsFor(mx, id), 3u);
  EXPECT_EQ(State(Rcpt(id)), RecipientState::kFailed);
  EXPECT_EQ(Rcpt(id).last_error(), "dns");
  ASSERT_EQ(Dsns().size(), 1u);
  EXPECT_EQ(ParseDsnOf(Dsns()[0]).recipients[0].action, dsn::DsnAction::kFailed);
}

TEST_F(SchedulerTest, NoDsnForNullSender) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}, ""));
  mx.CompleteAll(Perm());
  Settle();
  EXPECT_EQ(State(Rcpt(id)), RecipientState::kFailed);
  EXPECT_TRUE(Dsns().empty());
  EXPECT_EQ(logs.Count(LogLevel::kInfo, "status=failed"), 1u);
}

TEST_F(SchedulerTest, PermanentFailureBouncesToReturnPath) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test", "b@x.test"}));
  mx.Complete(0, DeliveryResult{{Perm(), Delivered()}, {}, false});
  Settle();
  EXPECT_EQ(State(Rcpt(id, 0)), RecipientState::kFailed);
  EXPECT_EQ(State(Rcpt(id, 1)), RecipientState::kDelivered);
  const auto dsns = Dsns();
  ASSERT_EQ(dsns.size(), 1u);
  const auto parsed = ParseDsnOf(dsns[0]);
  ASSERT_EQ(parsed.recipients.size(), 1u);
  EXPECT_EQ(parsed.recipients[0].final_recipient.address, "a@x.test");
  EXPECT_EQ(parsed.recipients[0].status, "5.1.1");
  EXPECT_EQ(logs.Count(LogLevel::kInfo, "status=bounced"), 1u);
}

TEST_F(SchedulerTest, SuccessDsnOnlyForNotifySuccessAtTheLastDsnHop) {
  Start();
  const uint64_t passed = Submit(Message({"a@x.test"}, "s@origin.test", queue::kNotifySuccess));
  mx.CompleteAll(Delivered(false, /*dsn_passed_on=*/true));
  Settle();
  EXPECT_EQ(State(Rcpt(passed)), RecipientState::kDelivered);
  EXPECT_TRUE(Dsns().empty());
  Submit(Message({"b@y.test"}, "s@origin.test", queue::kNotifySuccess));
  mx.CompleteAll(Delivered(/*final_delivery=*/true));
  Settle();
  ASSERT_EQ(Dsns().size(), 1u);
  EXPECT_EQ(ParseDsnOf(Dsns()[0]).recipients[0].action, dsn::DsnAction::kDelivered);
  Submit(Message({"c@z.test"}));  // NOTIFY unspecified: no success report
  mx.CompleteAll(Delivered(true));
  Settle();
  EXPECT_EQ(Dsns().size(), 1u);
}

// ---- concurrency -----------------------------------------------------------------------------------

TEST_F(SchedulerTest, ThreadsPerNodeCapsTransactionsInFlight) {
  Start(R"({"virtualQueues": [{"name": "remote", "threadsPerNode": 2}]})");
  for (int i = 0; i < 5; ++i) Submit(Message({"u@d" + std::to_string(i) + ".test"}));
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(scheduler->metrics().in_flight_by_queue.at("remote"), 2u);
  mx.Complete(0, AllSame(mx.calls[0].request, Delivered()));
  Settle();
  EXPECT_EQ(mx.calls.size(), 3u);
  EXPECT_EQ(mx.open(), 2u);
  mx.CompleteAll(Delivered());
  Settle();
  mx.CompleteAll(Delivered());
  Settle();
  EXPECT_EQ(mx.calls.size(), 5u);
}

TEST_F(SchedulerTest, PerDestinationLimitDoesNotStarveOthersNorCountAttempts) {
  Start(R"({"queue": {"mxConcurrency": 1}})");
  const uint64_t s1 = Submit(Message({"a@slow.test"}));
  const uint64_t s2 = Submit(Message({"b@slow.test"}));
  const uint64_t s3 = Submit(Message({"c@slow.test"}));
  Submit(Message({"d@fast.test"}));
  ASSERT_EQ(mx.calls.size(), 2u);  // one per destination
  EXPECT_EQ(std::get<transport::MxRoute>(mx.calls[1].request.route).domain, "fast.test");
  EXPECT_EQ(scheduler->parked_recipients(), 2u);
  RunFor(minutes(30));
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(Rcpt(s2).retry_num(), 0u);
  EXPECT_EQ(Rcpt(s2).attempts_size(), 0);
  mx.Complete(0, AllSame(mx.calls[0].request, Delivered()));
  Settle();
  ASSERT_EQ(mx.calls.size(), 3u);
  EXPECT_EQ(mx.calls[2].request.message.id, s2);
  mx.CompleteAll(Delivered());
  Settle();
  ASSERT_EQ(mx.calls.size(), 4u);
  EXPECT_EQ(mx.calls[3].request.message.id, s3);
  mx.CompleteAll(Delivered());
  Settle();
  EXPECT_EQ(State(Rcpt(s1)), RecipientState::kDelivered);
  EXPECT_EQ(State(Rcpt(s3)), RecipientState::kDelivered);
  EXPECT_EQ(Rcpt(s3).retry_num(), 1u);  // exactly its one real attempt
}

// A transaction that reached no host marks its destination down: recipients bound there are
// deferred without a transaction (a counted attempt, DESIGN.md §5, kept out of the history)
// and re-timed to the end of the down period; other destinations are unaffected; the first
// transaction after the period is the probe, and a success marks the destination up again.
TEST_F(SchedulerTest, DownDestinationDefersInBulkUntilItsPeriodEnds) {
  SchedulerOptions options;
  options.destination_down.initial = minutes(10);  // longer than retry[0] = 2m
  Start(kBaseConfig, options);
  const uint64_t first = Submit(Message({"a@dead.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  EXPECT_FALSE(mx.calls[0].request.probe);
  mx.Complete(0, AllSame(mx.calls[0].request, Temp(ErrorClass::kConnection, 0, "refused")));
  Settle();
  const int64_t down_until = clock.NowUnixMs() + 600000;
  EXPECT_EQ(Rcpt(first).retry_num(), 1u);

  const uint64_t second = Submit(Message({"b@dead.test", "c@dead.test", "d@alive.test"}));
  ASSERT_EQ(mx.calls.size(), 2u) << "only the live destination gets a transaction";
  EXPECT_EQ(std::get<transport::MxRoute>(mx.calls[1].request.route).domain, "alive.test");
  for (uint32_t i = 0; i < 2; ++i) {
    const auto r = Rcpt(second, i);
    EXPECT_EQ(State(r), RecipientState::kDeferred);
    EXPECT_EQ(r.retry_num(), 1u);
    EXPECT_EQ(r.last_error(), "connection");
    EXPECT_NE(r.last_reply().text().find("marked down"), std::string::npos);
    EXPECT_EQ(r.attempts_size(), 0) << "the history keeps real attempts only";
    EXPECT_GE(r.next_attempt_unix_ms(), down_until);
    EXPECT_LE(r.next_attempt_unix_ms(), down_until + 600000);  // spread over one more period
  }
  EXPECT_EQ(scheduler->metrics().deferred_destination_down, 2u);

  // The first recipient's own retry (2m) comes inside the period: deferred again, no call.
  RunFor(minutes(3));
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(Rcpt(first).retry_num(), 2u);
  EXPECT_GE(Rcpt(first).next_attempt_unix_ms(), down_until);

  // After the period ONE probe goes out, past the transport's own down-host memory; while it
  // is out the other due recipients are deferred in bulk again (no second probe, nothing
  // leased in memory). It succeeds: the rest go out at their next due time, as no probes.
  EXPECT_FALSE(mx.calls[1].request.probe) << "alive.test was never down";
  RunFor(minutes(8));
  ASSERT_EQ(mx.calls.size(), 3u) << "exactly one probe";
  EXPECT_TRUE(mx.calls[2].request.probe);
  EXPECT_EQ(scheduler->parked_recipients(), 0u);
  EXPECT_EQ(scheduler->metrics().deferred_destination_down, 5u);  // 2 + a's retry + b, c
  mx.CompleteAll(Delivered());
  Settle();
  RunFor(minutes(21));  // the provisional period (10 min) plus its spread
  ASSERT_EQ(mx.calls.size(), 4u);
  EXPECT_FALSE(mx.calls[3].request.probe);
  mx.CompleteAll(Delivered());
  Settle();
  EXPECT_EQ(State(Rcpt(first)), RecipientState::kDelivered);
  EXPECT_EQ(State(Rcpt(second, 0)), RecipientState::kDelivered);
  EXPECT_EQ(State(Rcpt(second, 1)), RecipientState::kDelivered);
  EXPECT_EQ(Rcpt(second, 0).attempts_size(), 1);
}

// ---- lanes: first attempts and retries share the loop -------------------------------------------

// Every message to its own domain and a queue with room for all: neither a destination limit
// nor the queue's slots decide the order, only the due loop does.
constexpr char kWideQueueConfig[] = R"({
  "server": {"hostname": "mta.outpost.test"},
  "virtualQueues": [{"name": "remote", "threadsPerNode": 1000}],
  "strategy": {"route": {"else": "'mx'"}}
})";

class LaneFairnessTest : public SchedulerTest {
 protected:
  static SchedulerOptions SmallBatches() {
    SchedulerOptions o;
    o.scan_batch = 8;  // many batches per wake-up, so their order shows
    return o;
  }
  // `n` messages of `rcpts` recipients (domain w<i>.test each) get one failed attempt: they
  // wait in the retry lane, due 2 minutes later (retry[0], jitter factor 1). Then the scheduler
  // stops, so that the next one finds the wave and whatever is queued meanwhile due at once.
  void MakeRetryWave(int n, int rcpts) {
    Start(kWideQueueConfig, SmallBatches());
    mx.script = [](const DeliveryRequest& r) {
      return AllSame(r, Temp(ErrorClass::kUnexpectedReply));
    };
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> to;
      for (int k = 0; k < rcpts; ++k) to.push_back("u" + std::to_string(k) + "@w" + std::to_string(i) + ".test");
      const uint64_t id = Submit(Message(to));
      EXPECT_EQ(Rcpt(id).retry_num(), 1u);
    }
    mx.script = nullptr;
    mx.calls.clear();
    scheduler.reset();
  }
  // New mail (retry_num 0) for n<i>.test, due at `due`, written straight to the store.
  void QueueNewMail(int n, int64_t due) {
    for (int i = 0; i < n; ++i) {
      queue::NewMessage m = Message({"a@n" + std::to_string(i) + ".test"});
      m.received_unix_ms = clock.NowUnixMs();
      PlanNewMessage(*router, &m, clock.NowUnixMs(), minutes(5));
      for (auto& r : m.recipients) r.next_attempt_unix_ms = due;
      std::optional<StatusOr<uint64_t>> id;
      store->Enqueue(std::move(m), [&](StatusOr<uint64_t> r) { id.emplace(std::move(r)); });
      dispatcher.RunUntil([&] { return id.has_value(); });
      ASSERT_TRUE(id && id->ok());
    }
  }
  // The order of transactions: 'w' for a retry of the wave, 'n' for new mail.
  std::string Order() const {
    std::string out;
    for (const auto& c : mx.calls) {
      const std::string& a = c.request.recipients.at(0).address;
      out.push_back(a[a.find('@') + 1]);
    }
    return out;
  }
};

// The retry wave is due earlier than the new mail (as when a down destination's backlog comes
// due): in one time-ordered index all 40 wave messages went first. With lanes the new mail
// goes out after at most one batch of retries.
TEST_F(LaneFairnessTest, ARetryWaveDueEarlierDoesNotStarveNewMail) {
  MakeRetryWave(40, 10);
  RunFor(minutes(3));  // nothing runs: the scheduler is stopped
  QueueNewMail(10, clock.NowUnixMs());
  Start(kWideQueueConfig, SmallBatches());
  const std::string order = Order();
  ASSERT_EQ(order.size(), 50u) << order;
  const size_t last_new = order.rfind('n');
  EXPECT_LE(std::count(order.begin(), order.begin() + last_new, 'w'), 1) << order;
  // Both lanes were served in full, and the retries kept their recipients together.
  for (const auto& c : mx.calls) {
    if (c.request.recipients[0].address.find("@w") != std::string::npos) {
      EXPECT_EQ(c.request.recipients.size(), 10u);
    }
  }
}

// New mail due earlier than the retries (a steady flood): a time-ordered index, or a strict
// priority for first attempts, would send all 200 new messages first. The retry lane gets its
// share (a tenth, by the default weights) while new mail keeps coming.
TEST_F(LaneFairnessTest, AFloodOfNewMailDoesNotStarveRetries) {
  MakeRetryWave(10, 10);
  const int64_t flood_due = clock.NowUnixMs() + 60000;  // before the wave (2 min)
  RunFor(minutes(3));
  QueueNewMail(200, flood_due);
  Start(kWideQueueConfig, SmallBatches());
  const std::string order = Order();
  ASSERT_EQ(order.size(), 210u) << order;
  const size_t first_retry = order.find('w');
  EXPECT_LT(first_retry, 50u) << order;
  // Retries kept going out while new mail was still waiting (a retry message of 10
  // recipients costs as much as 90 new ones of 1, so about one per 90).
  EXPECT_GE(std::count(order.begin(), order.begin() + order.rfind('n'), 'w'), 2) << order;
  // ... but new mail still got the larger share: 11 batches of 8 per retry message.
  EXPECT_GE(first_retry, 8u) << order;
}

// A retry wave (here: 30 messages for a destination still down, due at once) leases no more
// while 8 of its outcome writes are in flight, so the wave cannot queue hundreds of writes in
// front of new mail's synced writes; the completions wake the loop and the wave goes on.
// (The check is made before each due-index batch: a batch already leased is decided whole,
// so with batches of 4 recipients at most 8 + 3 writes are in flight.)
TEST_F(SchedulerTest, RetryWaveKeepsAtMostEightOutcomeWritesInFlight) {
  SchedulerOptions options;
  options.destination_down.initial = minutes(10);
  options.scan_batch = 4;
  Start(kBaseConfig, options);
  const uint64_t first = Submit(Message({"a@dead.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  mx.Complete(0, AllSame(mx.calls[0].request, Temp(ErrorClass::kConnection, 0, "refused")));
  Settle();
  std::vector<uint64_t> wave;
  for (int i = 0; i < 30; ++i) wave.push_back(Submit(Message({"r" + std::to_string(i) + "@dead.test"})));
  ASSERT_EQ(mx.calls.size(), 1u) << "deferred in bulk while the destination is down";
  for (uint64_t id : wave) ASSERT_EQ(Rcpt(id).retry_num(), 1u);  // now in the retry lane

  // Hold the store's writer: no outcome write completes, so what the scheduler issues piles up.
  store->store().PauseWriterForTest(true);
  dispatcher.Advance(minutes(25));  // past the down period and its spread: the wave is due
  EXPECT_GE(scheduler->pending_writes(), 1u);
  EXPECT_GE(scheduler->pending_writes(), 8u);
  EXPECT_LE(scheduler->pending_writes(), 11u) << "a retry wave queued more writes than its cap";
  store->store().PauseWriterForTest(false);
  Settle();
  RunFor(minutes(1));  // the loop picks the rest up as the writes complete
  EXPECT_EQ(scheduler->pending_writes(), 0u);
  size_t deferred_again = 0;
  for (uint64_t id : wave) deferred_again += Rcpt(id).retry_num() >= 2 ? 1 : 0;
  deferred_again += Rcpt(first).retry_num() >= 3 ? 1 : 0;
  // Everything but the one probe (still out at the fake agent) was deferred again.
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_TRUE(mx.calls[1].request.probe);
  EXPECT_EQ(deferred_again, 30u);
}

// One deferral decision draws one jitter for all its recipients: a message's recipients keep one
// due time, so its retry is leased, loaded and written once, not once per recipient.
TEST_F(SchedulerTest, RecipientsDeferredTogetherShareOneRetryTime) {
  SchedulerOptions options;
  options.random = [draw = uint64_t{0}]() mutable { return draw += 777; };  // differs per call
  Start(kBaseConfig, options);
  const uint64_t id = Submit(Message({"a@dead.test", "b@dead.test", "c@dead.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  mx.CompleteAll(Temp(ErrorClass::kConnection, 0, "refused"));
  Settle();
  const int64_t due = Rcpt(id, 0).next_attempt_unix_ms();
  EXPECT_EQ(Rcpt(id, 1).next_attempt_unix_ms(), due);
  EXPECT_EQ(Rcpt(id, 2).next_attempt_unix_ms(), due);

  // The destination is now down: a second message is deferred in bulk, also at one time.
  const uint64_t second = Submit(Message({"d@dead.test", "e@dead.test", "f@dead.test"}));
  EXPECT_EQ(mx.calls.size(), 1u);
  const int64_t down_due = Rcpt(second, 0).next_attempt_unix_ms();
  EXPECT_GT(down_due, due);
  EXPECT_EQ(Rcpt(second, 1).next_attempt_unix_ms(), down_due);
  EXPECT_EQ(Rcpt(second, 2).next_attempt_unix_ms(), down_due);
}

// A counted deferral that makes the route fail over is not held back to the end of the down
// period: the next attempt goes to the fallback at the recipient's own retry time.
TEST_F(SchedulerTest, DownDestinationDoesNotDelayRetryNumFailover) {
  SchedulerOptions options;
  options.destination_down.initial = hours(1);
  Start(R"({
    "server": {"hostname": "mta.outpost.test"},
    "routes": [{"@type": "Relay", "name": "primary", "address": "127.0.0.1", "port": 2525},
               {"@type": "Relay", "name": "fallback", "address": "127.0.0.2", "port": 2526}],
    "strategy": {"route": {"match": [{"if": "retry_num > 1", "then": "'fallback'"}],
                           "else": "'primary'"}}
  })", options);
  relay.script = [](const DeliveryRequest& r) {
    return r.route_name == "primary" ? AllSame(r, Temp(ErrorClass::kConnection))
                                     : AllSame(r, Delivered());
  };
  const uint64_t other = Submit(Message({"b@dest.test"}));  // marks 'primary' down for 1 h
  const uint64_t id = Submit(Message({"a@dest.test"}));     // deferred at once (retry_num 1)
  EXPECT_EQ(relay.calls.size(), 1u);
  EXPECT_EQ(Rcpt(id).retry_num(), 1u);
  EXPECT_GE(Rcpt(id).next_attempt_unix_ms(), clock.NowUnixMs() + 3600000)
      << "retry_num 2 still routes to primary: re-timed to the end of the down period";
  EXPECT_EQ(Rcpt(other).retry_num(), 1u);
  RunFor(minutes(3));  // other's retry (2m): deferred again, now retry_num 2 -> fallback next
  EXPECT_EQ(Rcpt(other).retry_num(), 2u);
  EXPECT_LE(Rcpt(other).next_attempt_unix_ms(), clock.NowUnixMs() + 300000);
  RunFor(minutes(6));
  ASSERT_EQ(relay.calls.size(), 2u);
  EXPECT_EQ(relay.calls[1].request.route_name, "fallback");
  EXPECT_EQ(State(Rcpt(other)), RecipientState::kDelivered);
}

TEST_F(SchedulerTest, RelayConcurrencyIsPerRoute) {
  Start(R"({"routes": [{"@type": "Relay", "name": "hub", "address": "127.0.0.1", "concurrency": 2}],
            "strategy": {"route": {"else": "'hub'"}}})");
  for (int i = 0; i < 4; ++i) Submit(Message({"u@d" + std::to_string(i) + ".test"}));
  EXPECT_EQ(relay.calls.size(), 2u);
  EXPECT_EQ(std::get<transport::RelayRoute>(relay.calls[0].request.route).concurrency, 2u);
}

TEST_F(SchedulerTest, NeverHandsOutALeaseTwice) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  RunFor(hours(2));  // timers fire, queues are scanned; the attempt is still in flight
  Submit(Message({"b@y.test"}));
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_TRUE(store->IsLeased({id, 0}));
  mx.CompleteAll(Delivered());
  Settle();
  EXPECT_FALSE(store->IsLeased({id, 0}));
  EXPECT_EQ(store->lease_count(), 0u);
}

// ---- operator actions ---------------------------------------------------------------------------

TEST_F(SchedulerTest, HoldInFlightTakesEffectWhenAttemptEndsThenRelease) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  queue::Selection sel;
  sel.ids = {id};
  auto held = Op([&](Scheduler::OpDone d) { scheduler->Hold(sel, false, d); });
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->in_flight, 1u);
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  EXPECT_EQ(State(Rcpt(id)), RecipientState::kHeld);
  RunFor(hours(1));
  EXPECT_EQ(mx.calls.size(), 1u) << "a held recipient was picked";
  auto released = Op([&](Scheduler::OpDone d) { scheduler->Release(sel, d); });
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->changed, 1u);
  RunFor(minutes(1));
  EXPECT_EQ(mx.calls.size(), 2u);
}

TEST_F(SchedulerTest, HeldThenDeliveredStaysDelivered) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  queue::Selection sel;
  sel.ids = {id};
  ASSERT_TRUE(Op([&](Scheduler::OpDone d) { scheduler->Cancel(sel, true, d); }).ok());
  mx.CompleteAll(Delivered());
  Settle();
  EXPECT_EQ(State(Rcpt(id)), RecipientState::kDelivered);
  EXPECT_TRUE(Dsns().empty());
}

TEST_F(SchedulerTest, CancelWithBounceSendsFailureDsn) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test", "b@x.test"}));
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  queue::Selection sel;
  sel.ids = {id};
  auto r = Op([&](Scheduler::OpDone d) { scheduler->Cancel(sel, true, d); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 2u);
  EXPECT_EQ(State(Rcpt(id, 0)), RecipientState::kCancelled);
  const auto dsns = Dsns();
  ASSERT_EQ(dsns.size(), 1u);
  const auto parsed = ParseDsnOf(dsns[0]);
  EXPECT_EQ(parsed.recipients.size(), 2u);
  EXPECT_EQ(parsed.recipients[0].action, dsn::DsnAction::kFailed);
  // Without bounce: nothing more is sent.
  const uint64_t quiet = Submit(Message({"c@y.test"}));
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  sel.ids = {quiet};
  ASSERT_TRUE(Op([&](Scheduler::OpDone d) { scheduler->Cancel(sel, false, d); }).ok());
  EXPECT_EQ(State(Rcpt(quiet)), RecipientState::kCancelled);
  EXPECT_EQ(Dsns().size(), 1u);
}

TEST_F(SchedulerTest, RetryNowMakesDeferredDueAndWakesTheLoop) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  mx.CompleteAll(Temp(ErrorClass::kConnection));
  Settle();
  queue::Selection sel;
  sel.ids = {id};
  ASSERT_TRUE(Op([&](Scheduler::OpDone d) { scheduler->RetryNow(sel, d); }).ok());
  EXPECT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(mx.calls[1].request.message.id, id);
}

TEST_F(SchedulerTest, ReplayRerunsTheRouterWithTheCurrentConfig) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  mx.CompleteAll(Perm());
  Settle();
  ASSERT_EQ(State(Rcpt(id)), RecipientState::kFailed);
  scheduler->SetRouter(MakeRouter(R"({
    "virtualQueues": [{"name": "replayq", "threadsPerNode": 3}],
    "schedules": [{"name": "replayed", "queueId": "replayq", "retry": ["1m"],
                   "expiry": {"@type": "Ttl", "expire": "1h"}}],
    "strategy": {"schedule": {"match": [{"if": "source == 'dsn'", "then": "'dsn'"}],
                              "else": "'replayed'"}}
  })"));
  queue::Selection sel;
  sel.ids = {id};
  auto r = Op([&](Scheduler::OpDone d) { scheduler->Replay(sel, d); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1u);
  ASSERT_EQ(CallsFor(mx, id), 2u);
  const auto rec = Rcpt(id);
  EXPECT_EQ(rec.virtual_queue(), "replayq");
  EXPECT_EQ(rec.schedule(), "replayed");
  EXPECT_EQ(rec.retry_num(), 0u);
  EXPECT_EQ(rec.expiry_unix_ms(), clock.NowUnixMs() + 3600000);
  EXPECT_EQ(scheduler->metrics().in_flight_by_queue.at("replayq"), 1u);
}

// ---- config failures, suspend, reload -----------------------------------------------------------

TEST_F(SchedulerTest, ConfigFailureConsumesNeitherRetryNumNorExpiry) {
  Start(R"({"strategy": {"route": {"else": "rcpt_domain"}}})");  // computed: names no route
  const int64_t t0 = clock.NowUnixMs();
  const uint64_t id = Submit(Message({"a@nowhere.test"}));
  EXPECT_TRUE(mx.calls.empty());
  auto r = Rcpt(id);
  EXPECT_EQ(r.retry_num(), 0u);
  EXPECT_EQ(r.last_error(), "config");
  EXPECT_EQ(r.next_attempt_unix_ms(), t0 + 300000);
  EXPECT_EQ(r.expiry_unix_ms(), t0 + 5LL * 24 * 3600000 + 300000);
  EXPECT_GE(logs.Count(LogLevel::kError, "config_error"), 1u);
  RunFor(minutes(5));
  r = Rcpt(id);
  EXPECT_EQ(r.retry_num(), 0u);
  EXPECT_EQ(r.next_attempt_unix_ms(), t0 + 600000);
  EXPECT_EQ(scheduler->metrics().config_failures, 2u);
}

TEST_F(SchedulerTest, ScheduleConfigErrorAtIngestQueuesInRemoteWithDelay) {
  Start(R"({"strategy": {"schedule": {"else": "sender_domain"}}})");
  const int64_t t0 = clock.NowUnixMs();
  const uint64_t id = Submit(Message({"a@x.test"}));
  ASSERT_NE(id, 0u);
  const auto r = Rcpt(id);
  EXPECT_EQ(r.virtual_queue(), "remote");
  EXPECT_EQ(r.next_attempt_unix_ms(), t0 + 300000);
  EXPECT_TRUE(mx.calls.empty());
  EXPECT_GE(logs.Count(LogLevel::kError, "config_error"), 1u);
}

TEST_F(SchedulerTest, SuspendedDomainWaitsWithoutAttemptsUntilResume) {
  Start();
  scheduler->Suspend({Destination::Kind::kDomain, "Paused.test"});
  const uint64_t id = Submit(Message({"a@paused.test"}));
  Submit(Message({"b@open.test"}));
  ASSERT_EQ(mx.calls.size(), 1u);
  RunFor(hours(1));
  EXPECT_EQ(mx.calls.size(), 1u);
  EXPECT_EQ(Rcpt(id).retry_num(), 0u);
  scheduler->Resume({Destination::Kind::kDomain, "paused.test"});
  Settle();
  ASSERT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(mx.calls[1].request.message.id, id);
}

TEST_F(SchedulerTest, SuspendedRouteWaits) {
  Start(kBaseConfig);
  scheduler->Suspend({Destination::Kind::kRoute, "mx"});
  Submit(Message({"a@x.test"}));
  EXPECT_TRUE(mx.calls.empty());
  EXPECT_EQ(scheduler->suspended().size(), 1u);
  scheduler->Resume({Destination::Kind::kRoute, "mx"});
  Settle();
  EXPECT_EQ(mx.calls.size(), 1u);
}

TEST_F(SchedulerTest, SetRouterAppliesToNewDecisionsOnly) {
  Start(R"({"routes": [{"@type": "Relay", "name": "old", "address": "127.0.0.1"}],
            "strategy": {"route": {"else": "'old'"}}})");
  Submit(Message({"a@x.test"}));
  ASSERT_EQ(relay.calls.size(), 1u);
  scheduler->SetRouter(MakeRouter(R"({
    "routes": [{"@type": "Relay", "name": "new", "address": "127.0.0.5"}],
    "tlsStrategies": [{"name": "strict", "startTls": "require"}],
    "strategy": {"route": {"else": "'new'"}, "tls": {"else": "'strict'"}}})"));
  Submit(Message({"b@y.test"}));
  ASSERT_EQ(relay.calls.size(), 2u);
  EXPECT_EQ(relay.calls[1].request.route_name, "new");
  transport::TlsPolicy tls;
  std::string error;
  // The attempt in flight keeps the config it started with.
  ASSERT_TRUE(relay.calls[0].request.policy->TlsFor({"h", "", ""}, &tls, &error));
  EXPECT_EQ(tls.strategy_name, "default");
  ASSERT_TRUE(relay.calls[1].request.policy->TlsFor({"h", "", ""}, &tls, &error));
  EXPECT_EQ(tls.strategy_name, "strict");
  EXPECT_EQ(tls.starttls, transport::TlsMode::kRequire);
}

// ---- restart and drain --------------------------------------------------------------------------

TEST_F(SchedulerTest, RestartMakesUnfinishedWorkDueAgainButNotDeliveredWork) {
  Start();
  const uint64_t done = Submit(Message({"a@x.test"}));
  const uint64_t flying = Submit(Message({"b@y.test"}));
  const uint64_t deferred = Submit(Message({"c@z.test"}));
  ASSERT_EQ(mx.calls.size(), 3u);
  mx.Complete(0, AllSame(mx.calls[0].request, Delivered()));
  mx.Complete(2, AllSame(mx.calls[2].request, Temp(ErrorClass::kConnection)));
  Settle();
  Stop();  // `flying` was in flight: its lease dies with the process
  mx.calls.clear();
  Start();
  ASSERT_EQ(mx.calls.size(), 1u);
  EXPECT_EQ(mx.calls[0].request.message.id, flying);
  RunFor(minutes(2));
  ASSERT_EQ(mx.calls.size(), 2u);
  EXPECT_EQ(mx.calls[1].request.message.id, deferred);
  EXPECT_EQ(State(Rcpt(done)), RecipientState::kDelivered);
}

TEST_F(SchedulerTest, DrainWaitsForInFlightOutcomesThenStopsPicking) {
  Start();
  const uint64_t id = Submit(Message({"a@x.test"}));
  std::optional<bool> drained;
  scheduler->Drain(seconds(30), [&](bool clean) { drained = clean; });
  Settle();
  EXPECT_FALSE(drained.has_value());
  mx.CompleteAll(Delivered());
  Settle();
  ASSERT_TRUE(drained.has_value());
  EXPECT_TRUE(*drained);
  EXPECT_EQ(State(Rcpt(id)), RecipientState::kDelivered);
  Submit(Message({"b@y.test"}));
  RunFor(minutes(5));
  EXPECT_EQ(mx.calls.size(), 1u) << "picked work after drain";
}

TEST_F(SchedulerTest, DrainGivesUpAtTheDeadline) {
  Start();
  Submit(Message({"a@x.test"}));
  std::optional<bool> drained;
  scheduler->Drain(seconds(10), [&](bool clean) { drained = clean; });
  RunFor(seconds(11));
  ASSERT_TRUE(drained.has_value());
  EXPECT_FALSE(*drained);
}

// ---- idle cost ----------------------------------------------------------------------------------

TEST_F(SchedulerTest, WaitingWorkIsNotScanned) {
  Start();
  mx.script = [](const DeliveryRequest& r) { return AllSame(r, Temp(ErrorClass::kConnection)); };
  for (int i = 0; i < 50; ++i) {
    std::vector<std::string> to;
    for (int k = 0; k < 4; ++k) {
      // Appended piecewise: GCC 12's -Wrestrict misfires on chained operator+ at -O3.
      std::string a = "u";
      a.append(std::to_string(k)).append("@d").append(std::to_string(i)).append(".test");
      to.push_back(std::move(a));
    }
    Submit(Message(std::move(to)));
  }
  ASSERT_EQ(mx.calls.size(), 50u);
  const uint64_t before = store->due_keys_visited();
  RunFor(seconds(100));  // nothing is due before +2m
  EXPECT_LE(store->due_keys_visited() - before, 10u);
  EXPECT_EQ(mx.calls.size(), 50u);
  EXPECT_EQ(dispatcher.ArmedTimerCountForTest(), 1u);  // one wake-up timer
}

}  // namespace
}  // namespace outpost::scheduler::testing
