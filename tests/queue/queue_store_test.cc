#include <gtest/gtest.h>

#include <set>

#include "storage/keys.h"
#include "tests/queue/queue_fixture.h"

namespace outpost::testing {
namespace {

using queue::RecipientState;
using S = queue::RecipientState;

class QueueStoreTest : public QueueFixture {};

TEST_F(QueueStoreTest, EnqueueStoresEnvelopeBodyAndRecipients) {
  queue::NewMessage m = SimpleMessage(3, Now());
  m.return_path = "";
  m.env_id = "env-1";
  m.ret = proto::RET_HEADERS;
  m.smtputf8 = true;
  m.eight_bit_mime = true;
  m.priority = 5;
  m.client_ip = "127.0.0.9";
  m.client_port = 40000;
  m.recipients[1].orcpt = "rfc822;orig@example.net";
  m.recipients[1].notify_flags = queue::kNotifyFailure | queue::kNotifyDelay;
  uint64_t id = Enqueue(m);
  auto got = qs_->Get(id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->message.id(), id);
  EXPECT_EQ(got->message.return_path(), "");
  EXPECT_EQ(got->message.env_id(), "env-1");
  EXPECT_EQ(got->message.ret(), proto::RET_HEADERS);
  EXPECT_TRUE(got->message.smtputf8());
  EXPECT_EQ(got->message.client_port(), 40000u);
  EXPECT_EQ(got->message.size_bytes(), m.body.size());
  ASSERT_EQ(got->message.recipients_size(), 3);
  EXPECT_EQ(got->message.recipients(2), m.recipients[2].address);
  ASSERT_EQ(got->recipients.size(), 3u);
  EXPECT_EQ(got->recipients[1].orcpt(), "rfc822;orig@example.net");
  EXPECT_EQ(got->recipients[1].notify_flags(), queue::kNotifyFailure | queue::kNotifyDelay);
  EXPECT_EQ(got->recipients[0].state(), proto::STATE_SCHEDULED);
  EXPECT_EQ(got->recipients[0].last_error(), "none");
  EXPECT_EQ(got->recipients[0].domain(), "dest0.example");
  EXPECT_EQ(*qs_->GetBody(id), m.body);
}

TEST_F(QueueStoreTest, EnqueueRefusesBadInputWithAStatus) {
  queue::NewMessage none = SimpleMessage(0, Now());
  EXPECT_EQ(TryEnqueue(none).status().code(), Status::Code::kInvalidArgument);
  queue::NewMessage nul = SimpleMessage(1, Now(), std::string("re\0mote", 7));
  EXPECT_EQ(TryEnqueue(nul).status().code(), Status::Code::kInvalidArgument);
  queue::NewMessage huge = SimpleMessage(1, Now());
  huge.recipients[0].address = std::string(5000, 'a');
  EXPECT_EQ(TryEnqueue(huge).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(QueueStoreTest, IdsAreTimeOrderedAndNeverReusedAcrossRestartsAndClockSteps) {
  uint64_t a = Enqueue(SimpleMessage(1, Now()));
  uint64_t b = Enqueue(SimpleMessage(1, Now()));
  EXPECT_GT(b, a);
  Reopen();
  clock_.StepWallClock(Millis(-24 * 3600 * 1000));  // the clock jumps a day back
  uint64_t c = Enqueue(SimpleMessage(1, Now()));
  EXPECT_GT(c, b);
}

TEST_F(QueueStoreTest, DueScanReturnsDueRecipientsEarliestFirst) {
  const int64_t t0 = Now();
  uint64_t later = Enqueue(SimpleMessage(1, t0 + 5000));
  uint64_t now = Enqueue(SimpleMessage(2, t0));
  Enqueue(SimpleMessage(1, t0, "local"));
  auto due = qs_->DueScan("remote", t0, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].rcpt, (queue::RecipientKey{now, 0}));
  EXPECT_EQ((*due)[1].rcpt, (queue::RecipientKey{now, 1}));
  EXPECT_EQ(*qs_->NextDueMs("remote"), std::optional<int64_t>(t0));
  auto all = qs_->DueScan("remote", t0 + 5000, 10);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].rcpt.msg_id, later);
  EXPECT_EQ(qs_->DueScan("remote", t0 + 5000, 2)->size(), 2u);
  EXPECT_EQ(*qs_->NextDueMs("nothing-here"), std::nullopt);
}

TEST_F(QueueStoreTest, DueKeyIsTheEarliestOfAttemptNotifyAndExpiry) {
  queue::NewMessage m = SimpleMessage(1, Now() + 60000);
  m.recipients[0].next_notify_unix_ms = Now() + 30000;
  m.recipients[0].expiry_unix_ms = Now() + 90000;
  uint64_t id = Enqueue(m);
  auto due = qs_->DueScan("remote", Now() + 30000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].due_unix_ms, Now() + 30000);
  EXPECT_EQ((*due)[0].rcpt.msg_id, id);
}

// The scheduler's cost must not grow with the queue: count the index keys visited.
TEST_F(QueueStoreTest, DueScanCostIsIndependentOfQueueSize) {
  const int64_t t0 = Now();
  for (int i = 0; i < 5; ++i) Enqueue(SimpleMessage(2, t0));  // 10 due now
  auto visits_for_scan = [&] {
    uint64_t before = qs_->due_keys_visited();
    auto due = qs_->DueScan("remote", t0, 1000);
    EXPECT_EQ(due->size(), 10u);
    return qs_->due_keys_visited() - before;
  };
  const uint64_t small = visits_for_scan();
  for (int i = 0; i < 50; ++i) Enqueue(SimpleMessage(100, t0 + 3600 * 1000));  // 5000 later
  const uint64_t large = visits_for_scan();
  EXPECT_EQ(small, 10u);
  EXPECT_EQ(large, small);
  uint64_t before = qs_->due_keys_visited();
  ASSERT_TRUE(qs_->NextDueMs("remote").ok());
  EXPECT_EQ(qs_->due_keys_visited() - before, 1u);
}

// Leased recipients keep their due keys until their attempt ends; scans must step over each
// of them once, not on every call (the scheduler leases in batches while hundreds are in
// flight).
TEST_F(QueueStoreTest, LeasedEntriesAreNotRevisited) {
  const int64_t t0 = Now();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Enqueue(SimpleMessage(2, t0)));  // 10 due now
  Enqueue(SimpleMessage(3, t0 + 3600 * 1000));                               // 3 later
  auto lease = [&](size_t limit, size_t expect_items) {
    uint64_t before = qs_->due_keys_visited();
    auto due = qs_->LeaseDue("remote", t0, limit);
    EXPECT_TRUE(due.ok());
    EXPECT_EQ(due->size(), expect_items);
    return qs_->due_keys_visited() - before;
  };
  EXPECT_EQ(lease(4, 4), 4u);
  EXPECT_EQ(lease(4, 4), 4u);  // not 8: the first four are skipped
  EXPECT_EQ(lease(10, 2), 2u);
  EXPECT_EQ(lease(10, 0), 0u);
  uint64_t before = qs_->due_keys_visited();
  EXPECT_EQ(*qs_->NextDueMs("remote"), t0 + 3600 * 1000);
  EXPECT_EQ(qs_->due_keys_visited() - before, 1u);
  before = qs_->due_keys_visited();
  EXPECT_TRUE(qs_->DueScan("remote", t0, 10)->empty());
  EXPECT_EQ(qs_->due_keys_visited() - before, 0u);

  // Attempts that end with a committed outcome delete their keys: still nothing revisited.
  ASSERT_TRUE(Apply(ids[0], Terminal(0, S::kDelivered)).ok());
  EXPECT_EQ(lease(10, 0), 0u);

  // A lease released early (its key stays) is handed out again, from where it lies.
  qs_->ReleaseLease({ids[1], 1});
  auto again = qs_->LeaseDue("remote", t0, 10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].rcpt, (queue::RecipientKey{ids[1], 1}));
  EXPECT_EQ(lease(10, 0), 0u);

  // An outcome refused (no recipient 9) releases the lease and the key stays due.
  queue::OutcomeBatch bad;
  bad.msg_id = ids[2];
  bad.changes.push_back(Terminal(0, S::kDelivered));
  bad.changes.push_back(Terminal(9, S::kDelivered));
  EXPECT_FALSE(Apply(bad).ok());
  again = qs_->LeaseDue("remote", t0, 10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].rcpt, (queue::RecipientKey{ids[2], 0}));

  // A deferral puts a new key; a new message due before the leased run is found at once.
  ASSERT_TRUE(Apply(ids[3], TempFail(1, Millis(0))).ok());
  uint64_t early = Enqueue(SimpleMessage(1, t0 - 1000));
  auto found = qs_->LeaseDue("remote", t0, 10);
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].rcpt, (queue::RecipientKey{early, 0}));
  EXPECT_EQ((*found)[1].rcpt, (queue::RecipientKey{ids[3], 1}));
  EXPECT_EQ(lease(10, 0), 0u);
  ExpectConsistent();
}

TEST_F(QueueStoreTest, LeasesAreNeverHandedOutTwice) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  auto first = qs_->LeaseDue("remote", Now(), 10);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_TRUE(qs_->LeaseDue("remote", Now(), 10)->empty());
  EXPECT_FALSE(qs_->TryLease({id, 0}));
  EXPECT_EQ(*qs_->NextDueMs("remote"), std::nullopt);
  qs_->ReleaseLease({id, 1});
  auto again = qs_->LeaseDue("remote", Now(), 10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].rcpt, (queue::RecipientKey{id, 1}));
}

TEST_F(QueueStoreTest, TemporaryFailureDefersRecordsTheAttemptAndMovesTheDueKey) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  ASSERT_EQ(qs_->LeaseDue("remote", Now(), 10)->size(), 1u);
  ASSERT_TRUE(Apply(id, TempFail(0, Millis(120000))).ok());
  EXPECT_FALSE(qs_->IsLeased({id, 0}));
  auto r = qs_->GetRecipient({id, 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state(), proto::STATE_DEFERRED);
  EXPECT_EQ(r->retry_num(), 1u);
  EXPECT_EQ(r->last_error(), "unexpected-reply");
  EXPECT_EQ(r->last_reply().code(), 451);
  EXPECT_EQ(r->last_reply().enhanced(), "4.7.1");
  EXPECT_EQ(r->last_reply().host(), "mx1.dest.example");
  EXPECT_EQ(r->last_route(), "mx");
  ASSERT_EQ(r->attempts_size(), 1);
  EXPECT_EQ(r->attempts(0).ip(), "127.0.0.2");
  EXPECT_EQ(r->attempts(0).duration_ms(), 12);
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());
  EXPECT_EQ(qs_->DueScan("remote", Now() + 120000, 10)->size(), 1u);
}

TEST_F(QueueStoreTest, AttemptHistoryKeepsTheLastTen) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  for (int i = 0; i < 13; ++i) {
    ASSERT_TRUE(Apply(id, TempFail(0, Millis(1000), 400 + i)).ok());
  }
  auto r = qs_->GetRecipient({id, 0});
  ASSERT_EQ(r->attempts_size(), 10);
  EXPECT_EQ(r->attempts(0).reply().code(), 403);
  EXPECT_EQ(r->attempts(9).reply().code(), 412);
  EXPECT_EQ(r->retry_num(), 13u);
}

TEST_F(QueueStoreTest, ConfigFailureDoesNotConsumeRetryNum) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  queue::OutcomeBatch b;
  b.msg_id = id;
  queue::RecipientChange c = TempFail(0, Millis(300000));
  c.retry_increment = 0;
  c.attempt->error_class = "config";
  b.changes.push_back(c);
  ASSERT_TRUE(Apply(b).ok());
  EXPECT_EQ(qs_->GetRecipient({id, 0})->retry_num(), 0u);
  EXPECT_EQ(qs_->GetRecipient({id, 0})->last_error(), "config");
}

TEST_F(QueueStoreTest, DeliveredIsTerminalAndTheBodyGoesWithTheLastUser) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  ASSERT_TRUE(Apply(id, Terminal(0, S::kDelivered)).ok());
  EXPECT_TRUE(qs_->GetBody(id).ok());
  ASSERT_TRUE(Apply(id, Terminal(1, S::kDelivered)).ok());
  EXPECT_EQ(qs_->GetBody(id).status().code(), Status::Code::kNotFound);
  auto m = qs_->Get(id);
  ASSERT_TRUE(m.ok());  // metadata stays for completedRetention
  EXPECT_TRUE(m->message.body_deleted());
  EXPECT_EQ(m->message.active_recipients(), 0u);
  EXPECT_TRUE(qs_->DueScan("remote", Now() + 1000000, 10)->empty());
}

TEST_F(QueueStoreTest, IllegalTransitionIsRefusedAndNothingIsWritten) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  ASSERT_TRUE(Apply(id, Terminal(0, S::kDelivered)).ok());
  // One legal change and one illegal one in the same batch: neither is applied.
  queue::OutcomeBatch bad;
  bad.msg_id = id;
  bad.changes.push_back(TempFail(1, Millis(1000)));
  bad.changes.push_back(TempFail(0, Millis(1000)));
  auto r = Apply(bad);
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("delivered -> deferred"), std::string::npos);
  EXPECT_EQ(StateOf(id, 0), S::kDelivered);
  EXPECT_EQ(StateOf(id, 1), S::kScheduled);
  EXPECT_EQ(qs_->GetRecipient({id, 1})->retry_num(), 0u);
}

TEST_F(QueueStoreTest, OutcomeOnUnknownMessageOrRecipientIsNotFound) {
  queue::OutcomeBatch b;
  b.msg_id = 12345;
  b.changes.push_back(TempFail(0, Millis(1)));
  EXPECT_EQ(Apply(b).status().code(), Status::Code::kNotFound);
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  b.msg_id = id;
  b.changes[0].idx = 7;
  EXPECT_EQ(Apply(b).status().code(), Status::Code::kNotFound);
}

TEST_F(QueueStoreTest, PermanentFailureEnqueuesTheDsnInTheSameBatch) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  queue::OutcomeBatch b;
  b.msg_id = id;
  b.changes.push_back(Terminal(0, S::kFailed));
  b.changes[0].dsn_sent_flags = queue::kDsnSentFailure;
  queue::NewMessage dsn = SimpleMessage(1, Now(), "dsn", "DSN body");
  dsn.return_path = "";
  dsn.source = proto::SOURCE_DSN;
  dsn.recipients[0].address = "sender@example.org";
  b.also_enqueue = dsn;
  auto r = Apply(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->enqueued_id.has_value());
  EXPECT_GT(*r->enqueued_id, id);
  auto d = qs_->Get(*r->enqueued_id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message.source(), proto::SOURCE_DSN);
  EXPECT_EQ(qs_->DueScan("dsn", Now(), 10)->size(), 1u);
  auto failed = qs_->GetRecipient({id, 0});
  EXPECT_EQ(failed->state(), proto::STATE_FAILED);
  EXPECT_EQ(failed->dsn_sent_flags(), queue::kDsnSentFailure);
  EXPECT_TRUE(qs_->GetBody(id).ok());  // failed recipients keep the body for replay
}

TEST_F(QueueStoreTest, BadDsnRefusesTheWholeOutcome) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  queue::OutcomeBatch b;
  b.msg_id = id;
  b.changes.push_back(Terminal(0, S::kFailed));
  b.also_enqueue = SimpleMessage(0, Now());  // no recipients: invalid
  EXPECT_FALSE(Apply(b).ok());
  EXPECT_EQ(StateOf(id, 0), S::kScheduled);
}

TEST_F(QueueStoreTest, RecoveryMakesEveryUnfinishedRecipientDueAgain) {
  uint64_t id = Enqueue(SimpleMessage(3, Now()));
  ASSERT_EQ(qs_->LeaseDue("remote", Now(), 10)->size(), 3u);
  ASSERT_TRUE(Apply(id, Terminal(0, S::kDelivered)).ok());
  Reopen();  // "crash": leases of recipients 1 and 2 are gone
  EXPECT_EQ(qs_->lease_count(), 0u);
  auto due = qs_->LeaseDue("remote", Now(), 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].rcpt.idx, 1u);
  EXPECT_EQ((*due)[1].rcpt.idx, 2u);
}

TEST_F(QueueStoreTest, ConcurrentOutcomesOnOneMessageAreSerialised) {
  uint64_t id = Enqueue(SimpleMessage(4, Now()));
  int done = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    queue::OutcomeBatch b;
    b.msg_id = id;
    b.changes.push_back(i % 2 ? Terminal(i, S::kDelivered) : TempFail(i, Millis(1000)));
    qs_->ApplyOutcome(b, [&](StatusOr<queue::OutcomeResult> r) {
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      ++done;
    });
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return done == 4; }));
  EXPECT_EQ(StateOf(id, 0), S::kDeferred);
  EXPECT_EQ(StateOf(id, 1), S::kDelivered);
  EXPECT_EQ(qs_->Get(id)->message.active_recipients(), 2u);
}

// A caller's snapshot saves the second read only while it is current: after another write of
// the message (or with one in flight) it is ignored, so that write's change is never lost.
TEST_F(QueueStoreTest, OutcomeSnapshotIsUsedOnlyWhileCurrent) {
  uint64_t id = Enqueue(SimpleMessage(3, Now()));
  auto epoch = qs_->SnapshotEpoch(id);
  ASSERT_TRUE(epoch);
  auto fresh = std::make_shared<const queue::QueuedMessage>(*qs_->Get(id));
  queue::OutcomeBatch b;
  b.msg_id = id;
  b.changes.push_back(Terminal(0, S::kDelivered));
  b.snapshot = fresh;
  b.snapshot_epoch = epoch;
  ASSERT_TRUE(Apply(b).ok());
  EXPECT_EQ(qs_->snapshots_used(), 1u);

  // The same (now stale) snapshot: recipient 0 is delivered in the store, not in it.
  queue::OutcomeBatch stale;
  stale.msg_id = id;
  stale.changes.push_back(TempFail(1, Millis(1000)));
  stale.snapshot = fresh;
  stale.snapshot_epoch = epoch;
  ASSERT_TRUE(Apply(stale).ok());
  EXPECT_EQ(qs_->snapshots_used(), 1u) << "a write was issued since: read again";
  EXPECT_EQ(StateOf(id, 0), S::kDelivered);
  EXPECT_EQ(StateOf(id, 1), S::kDeferred);
  EXPECT_EQ(qs_->Get(id)->message.active_recipients(), 2u);

  // No epoch while a write of the message is in flight.
  int done = 0;
  queue::OutcomeBatch inflight;
  inflight.msg_id = id;
  inflight.changes.push_back(Terminal(2, S::kDelivered));
  qs_->ApplyOutcome(inflight, [&](StatusOr<queue::OutcomeResult> r) {
    EXPECT_TRUE(r.ok());
    ++done;
  });
  EXPECT_FALSE(qs_->SnapshotEpoch(id));
  ASSERT_TRUE(loop_.RunUntil([&] { return done == 1; }));
  EXPECT_TRUE(qs_->SnapshotEpoch(id));
  EXPECT_EQ(qs_->Get(id)->message.active_recipients(), 1u);
}

// Snapshot validity is per message: writes of other messages leave it usable, every kind of
// write of the message itself (outcome, operator action, purge) makes it stale.
class SnapshotTest : public QueueStoreTest {
 protected:
  struct Snap {
    std::shared_ptr<const queue::QueuedMessage> message;
    std::optional<uint64_t> epoch;
  };
  Snap Take(uint64_t id) {
    Snap s;
    s.epoch = qs_->SnapshotEpoch(id);
    EXPECT_TRUE(s.epoch);
    s.message = std::make_shared<const queue::QueuedMessage>(*qs_->Get(id));
    return s;
  }
  // Applies `change` to `id` with the snapshot; true when the store used it.
  bool ApplyWith(uint64_t id, const Snap& snap, queue::RecipientChange change) {
    const uint64_t used = qs_->snapshots_used();
    queue::OutcomeBatch b;
    b.msg_id = id;
    b.changes.push_back(std::move(change));
    b.snapshot = snap.message;
    b.snapshot_epoch = snap.epoch;
    auto r = Apply(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return qs_->snapshots_used() > used;
  }
};

TEST_F(SnapshotTest, WritesOfOtherMessagesKeepItUsable) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  Snap snap = Take(id);
  uint64_t other = Enqueue(SimpleMessage(2, Now()));
  ASSERT_TRUE(Apply(other, Terminal(0, S::kDelivered)).ok());
  ASSERT_TRUE(Op([&](auto cb) { qs_->Hold(Ids({other}), false, cb); }).ok());
  EXPECT_TRUE(ApplyWith(id, snap, Terminal(0, S::kDelivered)));
  EXPECT_EQ(StateOf(id, 0), S::kDelivered);
  EXPECT_EQ(StateOf(other, 0), S::kDelivered);
  EXPECT_EQ(StateOf(other, 1), S::kHeld);
}

TEST_F(SnapshotTest, AnOperatorActionOnTheMessageMakesItStale) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  Snap snap = Take(id);
  ASSERT_TRUE(Op([&](auto cb) { qs_->Hold(Ids({id}), false, cb); }).ok());
  // Recipient 1 is held in the store, not in the snapshot: applying to the snapshot would
  // write it back as scheduled.
  EXPECT_FALSE(ApplyWith(id, snap, Terminal(0, S::kCancelled)));
  EXPECT_EQ(StateOf(id, 1), S::kHeld);
  EXPECT_EQ(qs_->Get(id)->message.active_recipients(), 1u);
}

TEST_F(SnapshotTest, APurgeOfTheMessageMakesItStale) {
  uint64_t id = Enqueue(SimpleMessage(3, Now()));
  ASSERT_TRUE(Apply(id, Terminal(0, S::kFailed)).ok());
  Snap snap = Take(id);
  clock_.Advance(Millis(10));
  auto purged = Await<StatusOr<queue::PurgeCounts>>(loop_, [&](auto cb) {
    qs_->Purge(Now(), Millis(1), Millis(1), 100, cb);
  });
  ASSERT_TRUE(purged.ok());
  ASSERT_EQ(purged->recipients_removed, 1u);
  EXPECT_FALSE(ApplyWith(id, snap, Terminal(1, S::kDelivered)));
  EXPECT_EQ(qs_->Get(id)->recipients.size(), 2u) << "the purged recipient stays purged";
  EXPECT_EQ(qs_->Get(id)->message.stored_recipients(), 2u);
}

TEST_F(SnapshotTest, ASnapshotOlderThanTheRememberedWritesIsStale) {
  snapshot_write_window_ = 2;
  Reopen();
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  Snap snap = Take(id);
  Enqueue(SimpleMessage(1, Now()));
  Enqueue(SimpleMessage(1, Now()));
  EXPECT_TRUE(ApplyWith(id, snap, Terminal(0, S::kDelivered))) << "two writes: still known";
  Snap snap2 = Take(id);
  for (int i = 0; i < 3; ++i) Enqueue(SimpleMessage(1, Now()));
  EXPECT_FALSE(ApplyWith(id, snap2, Terminal(1, S::kDelivered)))
      << "the write after the snapshot was forgotten: cannot tell";
  EXPECT_EQ(qs_->Get(id)->message.active_recipients(), 0u);
}

TEST_F(SnapshotTest, AQuarantineMakesEverySnapshotStale) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  uint64_t other = Enqueue(SimpleMessage(1, Now()));
  Snap snap = Take(id);
  storage::WriteBatch b;
  b.Put(storage::Cf::kMessages, storage::MessageKey(other), "not a proto \xff\xff");
  ASSERT_TRUE(qs_->store().CommitAndWait(std::move(b)).ok());
  EXPECT_EQ(qs_->Get(other).status().code(), Status::Code::kCorruption);
  loop_.RunUntil([&] { return qs_->pending_operations() == 0; });
  EXPECT_FALSE(ApplyWith(id, snap, Terminal(0, S::kDelivered)));
  EXPECT_EQ(StateOf(id, 0), S::kDelivered);
  qs_.reset();  // the quarantined message's counters cannot be recounted
}

TEST_F(QueueStoreTest, CorruptRecipientIsQuarantinedAndCountedWithoutACrash) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  storage::WriteBatch b;
  b.Put(storage::Cf::kRecipients, storage::RecipientKeyBytes({id, 1}), "\xff\xff garbage");
  ASSERT_TRUE(qs_->store().CommitAndWait(std::move(b)).ok());
  auto m = qs_->Get(id);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->recipients.size(), 1u);
  loop_.RunUntil([&] { return qs_->pending_operations() == 0; });
  EXPECT_EQ(qs_->GetRecipient({id, 1}).status().code(), Status::Code::kNotFound)
      << "moved out of the way";
  EXPECT_EQ(qs_->quarantined_this_run(), 1u);
  EXPECT_EQ(qs_->Stats()->quarantined, 1);
  auto report = queue::CheckConsistency(qs_->store());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->quarantined, 1u);
  // The scheduler finds the orphaned due key, the record is gone: it drops the key.
  auto due = qs_->LeaseDue("remote", Now(), 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ(qs_->GetRecipient((*due)[1].rcpt).status().code(), Status::Code::kNotFound);
  qs_->DropStaleDueEntry("remote", (*due)[1]);
  qs_->ReleaseLease((*due)[0].rcpt);
  loop_.RunUntil([&] { return qs_->pending_operations() == 0; });
  EXPECT_EQ(qs_->DueScan("remote", Now(), 10)->size(), 1u);
  // The message keeps working: delivering the remaining recipient heals its bookkeeping.
  ASSERT_TRUE(Apply(id, Terminal(0, S::kDelivered)).ok());
  // Counters of the lost recipient cannot be known: the checker reports that, nothing else.
  auto after = queue::CheckConsistency(qs_->store());
  for (const auto& p : after->problems) EXPECT_NE(p.find("counter"), std::string::npos) << p;
  qs_.reset();  // skip the fixture's strict check
}

TEST_F(QueueStoreTest, CorruptMessageRecordIsQuarantined) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  storage::WriteBatch b;
  b.Put(storage::Cf::kMessages, storage::MessageKey(id), "not a proto \xff\xff\xff");
  ASSERT_TRUE(qs_->store().CommitAndWait(std::move(b)).ok());
  EXPECT_EQ(qs_->Get(id).status().code(), Status::Code::kCorruption);
  loop_.RunUntil([&] { return qs_->pending_operations() == 0; });
  EXPECT_EQ(qs_->Stats()->quarantined, 1);
  EXPECT_EQ(qs_->Get(id).status().code(), Status::Code::kNotFound);
  qs_.reset();
}

TEST_F(QueueStoreTest, ListPagesVisitEveryMessageExactlyOnce) {
  std::set<uint64_t> all;
  for (int i = 0; i < 23; ++i) all.insert(Enqueue(SimpleMessage(1 + i % 3, Now())));
  std::multiset<uint64_t> seen;
  queue::ListOptions o;
  o.limit = 5;
  int pages = 0;
  do {
    auto page = qs_->List(o);
    ASSERT_TRUE(page.ok());
    for (const auto& m : page->items) seen.insert(m.message.id());
    o.cursor = page->cursor;
    ++pages;
  } while (!o.cursor.empty() && pages < 100);
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()), all);
  EXPECT_EQ(pages, 5);
}

TEST_F(QueueStoreTest, ListFilters) {
  uint64_t a = Enqueue(SimpleMessage(1, Now()));  // user0@dest0.example
  clock_.Advance(Millis(10000));
  queue::NewMessage other = SimpleMessage(2, Now(), "local");
  other.return_path = "other@example.org";
  uint64_t b = Enqueue(other);  // dest0, dest1
  ASSERT_TRUE(Apply(b, TempFail(1, Millis(1000))).ok());
  auto ids = [&](queue::Filter f) {
    queue::ListOptions o;
    o.filter = f;
    std::vector<uint64_t> out;
    auto page = qs_->List(o);  // keep the page alive while iterating
    for (const auto& m : page->items) out.push_back(m.message.id());
    return out;
  };
  queue::Filter f;
  f.rcpt_domain = "DEST1.example";
  EXPECT_EQ(ids(f), std::vector<uint64_t>{b});
  f = {};
  f.state = S::kDeferred;
  EXPECT_EQ(ids(f), std::vector<uint64_t>{b});
  f = {};
  f.sender = "sender@example.org";
  EXPECT_EQ(ids(f), std::vector<uint64_t>{a});
  f = {};
  f.virtual_queue = "local";
  EXPECT_EQ(ids(f), std::vector<uint64_t>{b});
  f = {};
  f.received_before_unix_ms = Now() - 5000;
  EXPECT_EQ(ids(f), std::vector<uint64_t>{a});
  queue::ListOptions bad;
  bad.cursor = "zz";
  EXPECT_EQ(qs_->List(bad).status().code(), Status::Code::kInvalidArgument);
}

// state=failed walks the failed index: failure-time order, [since, until] bounds each
// recipient, and a message whose recipients failed at different times appears exactly once.
TEST_F(QueueStoreTest, ListFailedWalksTheFailedIndexAndReturnsEachMessageOnce) {
  const uint64_t m1 = Enqueue(SimpleMessage(2, Now()));
  const uint64_t m2 = Enqueue(SimpleMessage(1, Now()));
  const uint64_t m3 = Enqueue(SimpleMessage(2, Now()));
  Enqueue(SimpleMessage(1, Now()));  // never fails
  auto fail = [&](uint64_t id, uint32_t idx) {
    ASSERT_TRUE(Apply(id, Terminal(idx, S::kFailed)).ok());
  };
  const int64_t t0 = Now();
  fail(m1, 0);
  fail(m3, 1);
  clock_.Advance(Millis(10000));
  const int64_t t1 = Now();
  fail(m2, 0);
  fail(m1, 1);
  clock_.Advance(Millis(10000));
  fail(m3, 0);
  auto walk = [&](queue::Filter f, size_t limit) {
    f.state = S::kFailed;
    queue::ListOptions o;
    o.filter = f;
    o.limit = limit;
    std::vector<uint64_t> out;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = qs_->List(o);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      for (const auto& m : page->items) out.push_back(m.message.id());
      o.cursor = page->cursor;
      if (o.cursor.empty()) break;
    }
    return out;
  };
  // Ordered by each message's earliest failure (ties by id).
  EXPECT_EQ(walk({}, 1), (std::vector<uint64_t>{m1, m3, m2}));
  EXPECT_EQ(walk({}, 100), (std::vector<uint64_t>{m1, m3, m2}));
  queue::Filter since;
  since.failed_since_unix_ms = t1;
  EXPECT_EQ(walk(since, 1), (std::vector<uint64_t>{m1, m2, m3}));
  queue::Filter until;
  until.failed_until_unix_ms = t0;
  EXPECT_EQ(walk(until, 1), (std::vector<uint64_t>{m1, m3}));
  queue::Filter window = since;
  window.failed_until_unix_ms = t1;
  auto in_window = walk(window, 10);
  EXPECT_EQ(in_window, (std::vector<uint64_t>{m1, m2}));
  queue::ListOptions bad;
  bad.filter.state = S::kFailed;
  bad.cursor = "zz";
  EXPECT_EQ(qs_->List(bad).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(QueueStoreTest, StatsComeFromCountersKeptInTheSameBatches) {
  const int64_t t0 = Now();
  uint64_t a = Enqueue(SimpleMessage(3, t0));  // dest0, dest1, dest2
  clock_.Advance(Millis(1000));
  Enqueue(SimpleMessage(1, Now(), "local"));  // dest0
  queue::OutcomeBatch ob;
  ob.msg_id = a;
  ob.changes.push_back(Terminal(0, S::kDelivered));
  ob.changes.push_back(TempFail(1, Millis(1000)));
  ASSERT_TRUE(Apply(ob).ok());
  auto st = qs_->Stats(2);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->by_state["scheduled"], 2);
  EXPECT_EQ(st->by_state["deferred"], 1);
  EXPECT_EQ(st->by_state["delivered"], 1);
  EXPECT_EQ(st->by_queue["remote"], 2);
  EXPECT_EQ(st->by_queue["local"], 1);
  EXPECT_EQ(st->messages, 2);
  ASSERT_EQ(st->top_destinations.size(), 2u);
  EXPECT_EQ(st->top_destinations[0].second, 1);
  EXPECT_EQ(st->active_messages_oldest_received_unix_ms, t0);
}

TEST_F(QueueStoreTest, PurgeHonoursFailedAndCompletedRetention) {
  uint64_t delivered = Enqueue(SimpleMessage(1, Now()));
  uint64_t failed = Enqueue(SimpleMessage(1, Now()));
  uint64_t mixed = Enqueue(SimpleMessage(2, Now()));
  auto finish = [&](uint64_t id, uint32_t idx, S s) {
    ASSERT_TRUE(Apply(id, Terminal(idx, s)).ok());
  };
  finish(delivered, 0, S::kDelivered);
  finish(failed, 0, S::kFailed);
  finish(mixed, 0, S::kDelivered);
  const Millis day(24 * 3600 * 1000), week = day * 7;
  auto purge = [&](int64_t now) {
    auto r = Await<StatusOr<queue::PurgeCounts>>(
        loop_, [&](auto cb) { qs_->Purge(now, week, day, 1000, cb); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : queue::PurgeCounts{};
  };
  EXPECT_EQ(purge(Now() + 3600 * 1000).recipients_removed, 0u);
  auto p1 = purge(Now() + day.count() + 1);
  EXPECT_EQ(p1.recipients_removed, 2u);  // both delivered recipients
  EXPECT_EQ(p1.messages_removed, 1u);    // `mixed` still has an active recipient
  EXPECT_EQ(qs_->Get(delivered).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(qs_->Get(failed).ok());
  EXPECT_TRUE(qs_->GetBody(failed).ok());
  EXPECT_EQ(qs_->Get(mixed)->recipients.size(), 1u);
  auto p2 = purge(Now() + week.count() + 1);
  EXPECT_EQ(p2.recipients_removed, 1u);
  EXPECT_EQ(p2.bodies_removed, 1u);
  EXPECT_EQ(qs_->Get(failed).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(qs_->Stats()->messages, 1);
}

TEST_F(QueueStoreTest, ReadOnlyViewSeesTheLiveStoreAndRefusesWrites) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  FakeDispatcher other(clock_);
  auto ro = queue::QueueStore::OpenReadOnly(dir_.Sub("db"), other);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_TRUE((*ro)->Get(id).ok());
  EXPECT_EQ((*ro)->Stats()->messages, 1);
  auto r = Await<StatusOr<uint64_t>>(other,
                                     [&](auto cb) { (*ro)->Enqueue(SimpleMessage(1, Now()), cb); });
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace outpost::testing
