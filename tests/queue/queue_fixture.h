#pragma once
// A QueueStore on a real RocksDB in a temp dir, driven by a FakeDispatcher, with synchronous
// wrappers. Every test ends with the consistency checker.
#include <gtest/gtest.h>

#include "queue/consistency.h"
#include "queue/queue_store.h"
#include "tests/queue/test_util.h"

namespace outpost::testing {

class QueueFixture : public ::testing::Test {
 protected:
  QueueFixture() : loop_(clock_) { Reopen(); }
  ~QueueFixture() override {
    if (qs_) ExpectConsistent();
  }

  void Reopen() {
    qs_.reset();
    queue::QueueStoreOptions o;
    o.store.path = dir_.Sub("db");
    o.store.min_free_space_bytes = 0;
    o.snapshot_write_window = snapshot_write_window_;
    auto q = queue::QueueStore::Open(o, loop_);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    qs_ = std::move(q).value();
  }

  void ExpectConsistent() {
    auto r = queue::CheckConsistency(qs_->store());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->ok()) << r->problem_count
                         << " problems, first: " << (r->problems.empty() ? "" : r->problems[0]);
  }

  int64_t Now() const { return clock_.NowUnixMs(); }

  uint64_t Enqueue(queue::NewMessage m) {
    auto r = Await<StatusOr<uint64_t>>(loop_, [&](auto cb) { qs_->Enqueue(std::move(m), cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }
  StatusOr<uint64_t> TryEnqueue(queue::NewMessage m) {
    return Await<StatusOr<uint64_t>>(loop_, [&](auto cb) { qs_->Enqueue(std::move(m), cb); });
  }
  StatusOr<queue::OutcomeResult> Apply(queue::OutcomeBatch b) {
    return Await<StatusOr<queue::OutcomeResult>>(
        loop_, [&](auto cb) { qs_->ApplyOutcome(std::move(b), cb); });
  }
  // The common case: one change of one message.
  StatusOr<queue::OutcomeResult> Apply(uint64_t msg_id, queue::RecipientChange change) {
    queue::OutcomeBatch b;
    b.msg_id = msg_id;
    b.changes.push_back(std::move(change));
    return Apply(std::move(b));
  }
  queue::RecipientState StateOf(uint64_t id, uint32_t idx) {
    auto r = qs_->GetRecipient({id, idx});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return static_cast<queue::RecipientState>(r.ok() ? r->state() : 0);
  }
  // A temporary failure that defers recipient `idx` for `delay`.
  queue::RecipientChange TempFail(uint32_t idx, Millis delay, int code = 451) {
    queue::RecipientChange c;
    c.idx = idx;
    c.new_state = queue::RecipientState::kDeferred;
    c.retry_increment = 1;
    c.next_attempt_unix_ms = Now() + delay.count();
    queue::AttemptInfo a;
    a.at_unix_ms = Now();
    a.kind = queue::OutcomeKind::kTemporary;
    a.route = "mx";
    a.host = "mx1.dest.example";
    a.ip = "127.0.0.2";
    a.reply_code = code;
    a.reply_enhanced = "4.7.1";
    a.reply_text = "try later";
    a.error_class = "unexpected-reply";
    a.duration_ms = 12;
    c.attempt = a;
    return c;
  }
  queue::RecipientChange Terminal(uint32_t idx, queue::RecipientState s) {
    queue::RecipientChange c =
        TempFail(idx, Millis(0), s == queue::RecipientState::kDelivered ? 250 : 550);
    c.new_state = s;
    c.attempt->kind = s == queue::RecipientState::kDelivered ? queue::OutcomeKind::kDelivered
                                                             : queue::OutcomeKind::kPermanent;
    c.next_attempt_unix_ms.reset();
    return c;
  }
  StatusOr<queue::OpCounts> Op(
      std::function<void(queue::QueueStore::Callback<StatusOr<queue::OpCounts>>)> f) {
    return Await<StatusOr<queue::OpCounts>>(loop_, f);
  }
  static queue::Selection Ids(std::vector<uint64_t> ids) {
    queue::Selection s;
    s.ids = std::move(ids);
    return s;
  }

  size_t snapshot_write_window_ = queue::QueueStoreOptions{}.snapshot_write_window;
  TempDir dir_;
  FakeClock clock_;
  FakeDispatcher loop_;
  std::unique_ptr<queue::QueueStore> qs_;
};

}  // namespace outpost::testing
