// DueFloor (where due scans start) and the QueueStore scans that rely on it: a scan must never
// start above a due key that exists or is being written.
#include "queue/due_floor.h"

#include <gtest/gtest.h>

#include "storage/keys.h"
#include "tests/queue/queue_fixture.h"

namespace outpost::testing {
namespace {

using queue::DueFloor;
using storage::Cf;
using storage::DueKey;
using storage::RecipientKey;
constexpr storage::DueLane kF = storage::DueLane::kFirst;
constexpr storage::DueLane kR = storage::DueLane::kRetry;

storage::WriteBatch PutDue(std::string_view queue, int64_t due, uint64_t msg = 1) {
  storage::WriteBatch b;
  b.Put(Cf::kDue, DueKey(queue, kF, due, RecipientKey{msg, 0}), "");
  return b;
}

TEST(DueFloor, UnknownQueueScansFromTheStart) {
  DueFloor f;
  EXPECT_EQ(f.Floor("remote", kF), 0);
}

TEST(DueFloor, ScanRaisesAndWriteLowers) {
  DueFloor f;
  f.Observed("remote", kF, 5000);
  EXPECT_EQ(f.Floor("remote", kF), 5000);
  EXPECT_EQ(f.Floor("local", kF), 0);
  uint64_t t = f.BeginWrite(PutDue("remote", 1200));
  EXPECT_EQ(f.Floor("remote", kF), 1200);
  f.EndWrite(t);
  EXPECT_EQ(f.Floor("remote", kF), 1200);  // the key now exists
}

TEST(DueFloor, ScansResumeAfterALeasedRunUntilSomethingLandsBelowIt) {
  DueFloor f;
  const std::string k5 = DueKey("remote", kF, 5000, RecipientKey{7, 0});
  EXPECT_EQ(f.ScanStart("remote", kF), DueKey("remote", kF, 0, RecipientKey{}));
  EXPECT_TRUE(f.StartsAtFloor("remote", kF));
  f.LeasedThrough("remote", kF, k5);
  EXPECT_GT(f.ScanStart("remote", kF), k5);
  EXPECT_LT(f.ScanStart("remote", kF), DueKey("remote", kF, 5000, RecipientKey{7, 1}));
  EXPECT_FALSE(f.StartsAtFloor("remote", kF));
  EXPECT_EQ(f.ScanStart("local", kF), DueKey("local", kF, 0, RecipientKey{}));
  // A lease after the resume key ends: nothing changes.
  f.Unleased(DueKey("remote", kF, 6000, RecipientKey{1, 0}));
  EXPECT_GT(f.ScanStart("remote", kF), k5);
  // A lease below it ends with its key kept: scans start at that key again.
  f.Unleased(DueKey("remote", kF, 4000, RecipientKey{2, 0}));
  EXPECT_EQ(f.ScanStart("remote", kF), DueKey("remote", kF, 4000, RecipientKey{2, 0}));
  f.LeasedThrough("remote", kF, k5);
  // A key put below it, too.
  f.EndWrite(f.BeginWrite(PutDue("remote", 3000)));
  EXPECT_EQ(f.ScanStart("remote", kF), DueKey("remote", kF, 3000, RecipientKey{}));
}

TEST(DueFloor, ResumeKeyNeverPassesAWriteInFlight) {
  DueFloor f;
  uint64_t t = f.BeginWrite(PutDue("remote", 3000));
  // A scan that did not see the write met only leased keys up to 5000.
  f.LeasedThrough("remote", kF, DueKey("remote", kF, 5000, RecipientKey{7, 0}));
  EXPECT_EQ(f.ScanStart("remote", kF), DueKey("remote", kF, 3000, RecipientKey{}));
  f.EndWrite(t);
  EXPECT_EQ(f.ScanStart("remote", kF), DueKey("remote", kF, 3000, RecipientKey{}));
}

TEST(DueFloor, PendingWriteHoldsTheFloorDownUntilItEnds) {
  DueFloor f;
  f.Observed("remote", kF, 1000);
  uint64_t t = f.BeginWrite(PutDue("remote", 3000));
  // A scan that did not see the write yet (it is not visible) met nothing below 9000.
  f.Observed("remote", kF, 9000);
  EXPECT_EQ(f.Floor("remote", kF), 3000);
  f.EndWrite(t);
  EXPECT_EQ(f.pending_writes_for_test(), 0u);
  f.Observed("remote", kF, 9000);
  EXPECT_EQ(f.Floor("remote", kF), 9000);
}

TEST(DueFloor, WritesSharingADueTimeAreTrackedApart) {
  DueFloor f;
  uint64_t a = f.BeginWrite(PutDue("remote", 3000, 1));
  uint64_t b = f.BeginWrite(PutDue("remote", 3000, 2));
  f.EndWrite(a);
  f.Observed("remote", kF, 9000);
  EXPECT_EQ(f.Floor("remote", kF), 3000);
  f.EndWrite(b);
  f.Observed("remote", kF, 9000);
  EXPECT_EQ(f.Floor("remote", kF), 9000);
}

TEST(DueFloor, DeletesOtherFamiliesAndEmptyBatchesDoNotMatter) {
  DueFloor f;
  f.Observed("remote", kF, 5000);
  storage::WriteBatch b;
  b.Delete(Cf::kDue, DueKey("remote", kF, 10, RecipientKey{1, 0}));
  b.Put(Cf::kRecipients, storage::RecipientKeyBytes(RecipientKey{1, 0}), "x");
  EXPECT_EQ(f.BeginWrite(b), 0u);
  EXPECT_EQ(f.Floor("remote", kF), 5000);
}

TEST(DueFloor, OneBatchLowersEveryQueueItTouches) {
  DueFloor f;
  f.Observed("remote", kF, 5000);
  f.Observed("dsn", kF, 5000);
  storage::WriteBatch b = PutDue("remote", 4000);
  b.Put(Cf::kDue, DueKey("dsn", kF, 100, RecipientKey{2, 0}), "");
  b.Put(Cf::kDue, DueKey("remote", kF, 4500, RecipientKey{2, 1}), "");
  f.EndWrite(f.BeginWrite(b));
  EXPECT_EQ(f.Floor("remote", kF), 4000);
  EXPECT_EQ(f.Floor("dsn", kF), 100);
}

TEST(DueFloor, AnUndecodableDueKeyMakesEveryScanStartAtTheBeginning) {
  DueFloor f;
  f.Observed("remote", kF, 5000);
  storage::WriteBatch b;
  b.Put(Cf::kDue, "garbage", "");
  f.EndWrite(f.BeginWrite(b));
  EXPECT_EQ(f.Floor("remote", kF), 0);
}

TEST(DueFloor, EachLaneOfAQueueHasItsOwnFloorAndResumeKey) {
  DueFloor f;
  f.Observed("remote", kF, 5000);
  f.Observed("remote", kR, 7000);
  // A retry put early lowers the retry lane only: first attempts keep skipping to 5000.
  f.EndWrite(f.BeginWrite([] {
    storage::WriteBatch b;
    b.Put(Cf::kDue, DueKey("remote", kR, 1000, RecipientKey{3, 0}), "");
    return b;
  }()));
  EXPECT_EQ(f.Floor("remote", kR), 1000);
  EXPECT_EQ(f.Floor("remote", kF), 5000);
  f.LeasedThrough("remote", kF, DueKey("remote", kF, 6000, RecipientKey{4, 0}));
  EXPECT_GT(f.ScanStart("remote", kF), DueKey("remote", kF, 6000, RecipientKey{4, 0}));
  EXPECT_EQ(f.ScanStart("remote", kR), DueKey("remote", kR, 1000, RecipientKey{}));
  // A lease of the retry lane ending does not move the first lane's resume key.
  f.Unleased(DueKey("remote", kR, 500, RecipientKey{5, 0}));
  EXPECT_GT(f.ScanStart("remote", kF), DueKey("remote", kF, 6000, RecipientKey{4, 0}));
}

class DueFloorStoreTest : public QueueFixture {};

// Delivered recipients leave tombstones at the head of the due index; the scans that follow
// start past them and still find everything that is due.
TEST_F(DueFloorStoreTest, ScansAfterDeliveriesStillFindNewWork) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Enqueue(SimpleMessage(1, Now())));
  auto due = qs_->LeaseDue("remote", Now(), 10);
  ASSERT_EQ(due->size(), 5u);
  for (uint64_t id : ids) {
    queue::OutcomeBatch b;
    b.msg_id = id;
    b.changes.push_back(Terminal(0, queue::RecipientState::kDelivered));
    ASSERT_TRUE(Apply(std::move(b)).ok());
  }
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());
  clock_.Advance(Millis(10));
  uint64_t fresh = Enqueue(SimpleMessage(1, Now()));
  auto next = qs_->DueScan("remote", Now(), 10);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].rcpt.msg_id, fresh);
  EXPECT_EQ(*qs_->NextDueMs("remote"), std::optional<int64_t>(Now()));
}

// A scan far in the future raises the floor; a recipient made due earlier afterwards (retry
// now, a new message due at once) lowers it again.
TEST_F(DueFloorStoreTest, WorkMadeDueBelowTheFloorIsFound) {
  uint64_t later = Enqueue(SimpleMessage(1, Now() + 3600 * 1000));
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());
  EXPECT_EQ(*qs_->NextDueMs("remote"), std::optional<int64_t>(Now() + 3600 * 1000));
  auto r = Op([&](auto cb) { qs_->RetryNow(Ids({later}), cb); });
  ASSERT_TRUE(r.ok());
  auto due = qs_->DueScan("remote", Now(), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].rcpt.msg_id, later);
}

// An enqueue still in the writer's queue when a scan runs: whether or not the scan saw it,
// the next scan after its completion must.
TEST_F(DueFloorStoreTest, AWriteInFlightDuringAScanIsNotSkipped) {
  clock_.Advance(Millis(60000));
  EXPECT_TRUE(qs_->DueScan("remote", Now(), 10)->empty());  // floor = now + 1
  std::optional<StatusOr<uint64_t>> id;
  qs_->Enqueue(SimpleMessage(1, Now() - 30000), [&](StatusOr<uint64_t> r) { id = r; });
  (void)qs_->DueScan("remote", Now(), 10);
  ASSERT_TRUE(loop_.RunUntil([&] { return id.has_value(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(id->ok());
  auto due = qs_->DueScan("remote", Now(), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].rcpt.msg_id, **id);
}

}  // namespace
}  // namespace outpost::testing
