// Schema 1 -> 2 (storage/due_lane_migration.h): a store written with lane-less due keys is
// converted at open, each key to the lane its recipient record says, and stays consistent.
#include "storage/due_lane_migration.h"

#include <gtest/gtest.h>

#include "outpost_queue.pb.h"
#include "storage/schema.h"
#include "tests/queue/queue_fixture.h"

namespace outpost::testing {
namespace {

using storage::Cf;
using storage::DueLane;

class DueLaneMigrationTest : public QueueFixture {
 protected:
  // Rewrites every due key in the schema-1 form, adds `extra` (schema-1 keys) and records
  // schema 1: what a store written by the previous build looks like.
  void DowngradeToSchema1(const std::vector<std::string>& extra = {}) {
    storage::Store& st = qs_->store();
    storage::WriteBatch b;
    for (auto cur = st.NewCursor(Cf::kDue, "", ""); cur->Valid(); cur->Next()) {
      auto e = storage::ParseDueKey(cur->key());
      ASSERT_TRUE(e);
      b.Delete(Cf::kDue, cur->key());
      b.Put(Cf::kDue, storage::Schema1DueKey(e->queue, e->due_unix_ms, e->rcpt), "");
    }
    for (const auto& k : extra) b.Put(Cf::kDue, k, "");
    proto::SchemaInfo info;
    info.set_version(1);
    info.set_created_unix_ms(12345);
    info.set_created_by("outpost");
    b.Put(Cf::kMeta, storage::kMetaSchemaKey, info.SerializeAsString());
    ASSERT_TRUE(st.CommitAndWait(std::move(b)).ok());
  }
  std::vector<std::string> DueKeys() {
    std::vector<std::string> out;
    for (auto cur = qs_->store().NewCursor(Cf::kDue, "", ""); cur->Valid(); cur->Next()) {
      out.emplace_back(cur->key());
    }
    return out;
  }
  proto::SchemaInfo Schema() {
    proto::SchemaInfo info;
    auto v = qs_->store().Get(Cf::kMeta, storage::kMetaSchemaKey);
    EXPECT_TRUE(v.ok() && v->has_value());
    EXPECT_TRUE(info.ParseFromString(v->value_or("")));
    return info;
  }
};

TEST_F(DueLaneMigrationTest, Schema1KeysMoveToTheLaneOfTheirRecipientAtOpen) {
  const int64_t t0 = Now();
  const uint64_t a = Enqueue(SimpleMessage(2, t0));
  const uint64_t b = Enqueue(SimpleMessage(1, t0));
  ASSERT_EQ(qs_->LeaseDue("remote", t0, 10)->size(), 3u);
  queue::OutcomeBatch fail;
  fail.msg_id = a;
  fail.changes.push_back(TempFail(1, Millis(60000)));
  ASSERT_TRUE(Apply(std::move(fail)).ok());
  qs_->ReleaseLease({a, 0});
  qs_->ReleaseLease({b, 0});
  const std::vector<std::string> before = DueKeys();
  ASSERT_EQ(before.size(), 3u);

  // One key of a recipient that no longer exists, one already converted (an interrupted run).
  const std::string stale = storage::Schema1DueKey("remote", t0, {b + 1000, 0});
  DowngradeToSchema1({stale});
  ASSERT_EQ(Schema().version(), 1u);
  for (const auto& k : DueKeys()) EXPECT_FALSE(storage::ParseDueKey(k)) << "not schema 1";

  Reopen();
  EXPECT_EQ(Schema().version(), storage::kSchemaVersion);
  EXPECT_EQ(Schema().created_unix_ms(), 12345);  // creation kept
  EXPECT_EQ(DueKeys(), before);                  // exactly the keys schema 2 writes; stale gone
  auto first = qs_->DueScan("remote", DueLane::kFirst, t0, 10);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].rcpt, (storage::RecipientKey{a, 0}));
  EXPECT_EQ((*first)[1].rcpt, (storage::RecipientKey{b, 0}));
  auto retry = qs_->DueScan("remote", DueLane::kRetry, t0 + 60000, 10);
  ASSERT_TRUE(retry.ok());
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].rcpt, (storage::RecipientKey{a, 1}));
  EXPECT_EQ((*retry)[0].lane, DueLane::kRetry);
  ExpectConsistent();
}

TEST_F(DueLaneMigrationTest, AnInterruptedMigrationFinishesOnTheNextOpen) {
  const int64_t t0 = Now();
  for (int i = 0; i < 5; ++i) Enqueue(SimpleMessage(2, t0));
  const std::vector<std::string> before = DueKeys();
  DowngradeToSchema1();
  // A first run that converted some keys and stopped: schema still 1, keys of both forms.
  {
    storage::WriteBatch b;
    auto old = storage::ParseSchema1DueKey(DueKeys()[0]);
    ASSERT_TRUE(old);
    b.Delete(Cf::kDue, DueKeys()[0]);
    b.Put(Cf::kDue, storage::DueKey(old->queue, DueLane::kFirst, old->due_unix_ms, old->rcpt), "");
    ASSERT_TRUE(qs_->store().CommitAndWait(std::move(b)).ok());
  }
  auto counts = storage::MigrateDueLanes(qs_->store(), qs_->store().Get(Cf::kMeta,
                                         storage::kMetaSchemaKey)->value_or(""),
                                         /*keys_per_batch=*/3);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->converted, 9u);
  EXPECT_EQ(counts->dropped, 0u);
  EXPECT_EQ(DueKeys(), before);
  EXPECT_EQ(Schema().version(), storage::kSchemaVersion);
  EXPECT_EQ(qs_->DueScan("remote", t0, 100)->size(), 10u);
}

TEST_F(DueLaneMigrationTest, AReadOnlyViewOfASchema1StoreAsksForAMigration) {
  Enqueue(SimpleMessage(1, Now()));
  DowngradeToSchema1();
  const std::string path = qs_->store().path();
  qs_.reset();
  auto ro = storage::Store::OpenReadOnly(path);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(ro.status().message().find("migrate"), std::string::npos) << ro.status().message();
  Reopen();  // read-write: migrates
  EXPECT_EQ(Schema().version(), storage::kSchemaVersion);
}

}  // namespace
}  // namespace outpost::testing
