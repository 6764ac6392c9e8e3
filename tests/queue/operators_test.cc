// Operator actions: hold, release, retry, cancel, replay — by id and by filter, including
// recipients that are in flight (leased).
#include <gtest/gtest.h>

#include "tests/queue/queue_fixture.h"

namespace outpost::testing {
namespace {

using S = queue::RecipientState;

class OperatorsTest : public QueueFixture {};

TEST_F(OperatorsTest, HoldStopsAttemptsAndReleaseMakesThemDueNow) {
  uint64_t id = Enqueue(SimpleMessage(2, Now() + 60000));
  auto held = Op([&](auto cb) { qs_->Hold(Ids({id}), /*pause_expiry=*/true, cb); });
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->changed, 2u);
  EXPECT_EQ(StateOf(id, 0), S::kHeld);
  EXPECT_TRUE(qs_->DueScan("remote", Now() + 1000000000, 10)->empty());
  const int64_t expiry = qs_->GetRecipient({id, 0})->expiry_unix_ms();
  clock_.Advance(Millis(3600 * 1000));
  auto rel = Op([&](auto cb) { qs_->Release(Ids({id}), cb); });
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->changed, 2u);
  EXPECT_EQ(StateOf(id, 0), S::kScheduled);
  EXPECT_EQ(qs_->DueScan("remote", Now(), 10)->size(), 2u);
  // The expiry clock was paused for the hour it was held.
  EXPECT_EQ(qs_->GetRecipient({id, 0})->expiry_unix_ms(), expiry + 3600 * 1000);
}

TEST_F(OperatorsTest, ReleaseReturnsADeferredRecipientToDeferred) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  ASSERT_TRUE(Apply(id, TempFail(0, Millis(600000))).ok());
  ASSERT_TRUE(Op([&](auto cb) { qs_->Hold(Ids({id}), false, cb); }).ok());
  ASSERT_TRUE(Op([&](auto cb) { qs_->Release(Ids({id}), cb); }).ok());
  EXPECT_EQ(StateOf(id, 0), S::kDeferred);
  EXPECT_EQ(qs_->GetRecipient({id, 0})->retry_num(), 1u);
}

TEST_F(OperatorsTest, IllegalOperatorActionsAreSkippedAndCounted) {
  uint64_t id = Enqueue(SimpleMessage(2, Now()));
  ASSERT_TRUE(Apply(id, Terminal(0, S::kDelivered)).ok());
  auto held = Op([&](auto cb) { qs_->Hold(Ids({id}), false, cb); });
  EXPECT_EQ(held->changed, 1u);
  EXPECT_EQ(held->skipped, 1u);  // delivered cannot be held
  auto rel = Op([&](auto cb) { qs_->Release(Ids({id}), cb); });
  EXPECT_EQ(rel->changed, 1u);
  EXPECT_EQ(rel->skipped, 1u);
  auto replay = Op([&](auto cb) { qs_->Replay(Ids({id}), nullptr, cb); });
  EXPECT_EQ(replay->changed, 0u);  // nothing failed
  auto missing = Op([&](auto cb) { qs_->Hold(Ids({424242}), false, cb); });
  EXPECT_EQ(missing->not_found, 1u);
}

TEST_F(OperatorsTest, RetryNowMakesDeferredRecipientsDue) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  ASSERT_TRUE(Apply(id, TempFail(0, Millis(3600 * 1000))).ok());
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());
  auto r = Op([&](auto cb) { qs_->RetryNow(Ids({id}), cb); });
  EXPECT_EQ(r->changed, 1u);
  EXPECT_EQ(qs_->DueScan("remote", Now(), 10)->size(), 1u);
  EXPECT_EQ(StateOf(id, 0), S::kScheduled);
  EXPECT_EQ(qs_->GetRecipient({id, 0})->retry_num(), 1u);
}

TEST_F(OperatorsTest, CancelWithBounceEnqueuesTheDsnInTheSameBatch) {
  uint64_t id = Enqueue(SimpleMessage(3, Now()));
  std::vector<uint32_t> seen;
  auto r = Op([&](auto cb) {
    qs_->Cancel(
        Ids({id}),
        [&](const queue::QueuedMessage& m, const std::vector<uint32_t>& idx) {
          EXPECT_EQ(m.message.id(), id);
          seen = idx;
          queue::NewMessage dsn = SimpleMessage(1, Now(), "dsn");
          dsn.source = proto::SOURCE_DSN;
          return std::optional<queue::NewMessage>(dsn);
        },
        cb);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 3u);
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(StateOf(id, 2), S::kCancelled);
  EXPECT_EQ(qs_->DueScan("dsn", Now(), 10)->size(), 1u);
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());
  EXPECT_EQ(qs_->GetBody(id).status().code(), Status::Code::kNotFound);
}

TEST_F(OperatorsTest, ReplayRestartsCountersAndKeepsHistory) {
  uint64_t id = Enqueue(SimpleMessage(1, Now()));
  const int64_t ttl = qs_->GetRecipient({id, 0})->expiry_unix_ms() - Now();
  for (int i = 0; i < 3; ++i) {
    queue::OutcomeBatch b;
    b.msg_id = id;
    b.changes.push_back(TempFail(0, Millis(1000)));
    b.changes[0].notify_increment = 1;
    b.changes[0].dsn_sent_flags = queue::kDsnSentDelay;
    ASSERT_TRUE(Apply(b).ok());
  }
  ASSERT_TRUE(Apply(id, Terminal(0, S::kFailed)).ok());
  clock_.Advance(Millis(2 * 24 * 3600 * 1000LL));
  auto r = Op([&](auto cb) {
    qs_->Replay(
        Ids({id}),
        [](const proto::MessageRecord&, proto::RecipientRecord& rec) {
          rec.set_virtual_queue("fallback");  // the router re-ran
        },
        cb);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1u);
  auto rec = qs_->GetRecipient({id, 0});
  EXPECT_EQ(rec->state(), proto::STATE_SCHEDULED);
  EXPECT_EQ(rec->retry_num(), 0u);
  EXPECT_EQ(rec->notify_num(), 0u);
  EXPECT_EQ(rec->dsn_sent_flags(), 0u);
  EXPECT_EQ(rec->attempts_size(), 4);  // history kept
  EXPECT_EQ(rec->notify_base_unix_ms(), Now());
  EXPECT_EQ(rec->expiry_unix_ms(), Now() + ttl);
  EXPECT_EQ(qs_->DueScan("fallback", Now(), 10)->size(), 1u);
}

TEST_F(OperatorsTest, HoldAndCancelOfALeasedRecipientTakeEffectWhenTheAttemptEnds) {
  uint64_t id = Enqueue(SimpleMessage(3, Now()));
  ASSERT_EQ(qs_->LeaseDue("remote", Now(), 10)->size(), 3u);
  auto h = Op([&](auto cb) { qs_->Hold(Ids({id}), false, cb); });
  EXPECT_EQ(h->in_flight, 3u);
  EXPECT_EQ(h->changed, 0u);
  EXPECT_EQ(StateOf(id, 0), S::kScheduled);
  queue::Selection one = Ids({id});
  queue::Filter f;
  f.rcpt_domain = "dest2.example";  // recipient 2 only
  one.filter = f;
  auto c = Op([&](auto cb) { qs_->Cancel(one, nullptr, cb); });
  EXPECT_EQ(c->in_flight, 1u);
  queue::OutcomeBatch b;
  b.msg_id = id;
  b.changes.push_back(TempFail(0, Millis(1000)));   // -> held (from deferred)
  b.changes.push_back(Terminal(1, S::kDelivered));  // a delivery stays delivered
  b.changes.push_back(TempFail(2, Millis(1000)));   // -> cancelled
  auto r = Apply(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deferred_ops_applied, 2u);
  EXPECT_EQ(StateOf(id, 0), S::kHeld);
  EXPECT_EQ(StateOf(id, 1), S::kDelivered);
  EXPECT_EQ(StateOf(id, 2), S::kCancelled);
  EXPECT_EQ(qs_->lease_count(), 0u);
  ASSERT_TRUE(Op([&](auto cb) { qs_->Release(Ids({id}), cb); }).ok());
  EXPECT_EQ(StateOf(id, 0), S::kDeferred);
}

TEST_F(OperatorsTest, FilterSelectionsWorkInBoundedPagesWithACursor) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(Enqueue(SimpleMessage(2, Now())));
  queue::Selection sel;
  queue::Filter f;
  f.rcpt_domain = "dest1.example";
  sel.filter = f;
  sel.max_messages = 3;
  uint32_t changed = 0, pages = 0;
  do {
    auto r = Op([&](auto cb) { qs_->Hold(sel, false, cb); });
    ASSERT_TRUE(r.ok());
    changed += r->changed;
    sel.cursor = r->cursor;
    ++pages;
  } while (!sel.cursor.empty() && pages < 20);
  EXPECT_EQ(changed, 7u);  // only recipient 1 (dest1) of each message
  EXPECT_GE(pages, 3u);
  EXPECT_EQ(StateOf(ids[0], 0), S::kScheduled);
  EXPECT_EQ(StateOf(ids[6], 1), S::kHeld);
  auto st = qs_->Stats();
  EXPECT_EQ(st->by_state["held"], 7);
}

}  // namespace
}  // namespace outpost::testing
