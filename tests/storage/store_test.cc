#include "storage/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/fake_dispatcher.h"
#include "outpost_queue.pb.h"
#include "storage/schema.h"
#include "tests/queue/test_util.h"

namespace outpost::storage {
namespace {

using outpost::testing::TempDir;

// Built with append: GCC 12 -O3 warns falsely (-Wrestrict) on "literal" + std::string chains.
std::string Key(int a, int b = -1) {
  std::string k = "k";
  k.append(std::to_string(a));
  if (b >= 0) {
    k.push_back('/');
    k.append(std::to_string(b));
  }
  return k;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  StoreOptions o;
  o.path = path;
  auto s = Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(Store, OpenWritesSchemaAndReopens) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    auto schema = store->Get(Cf::kMeta, kMetaSchemaKey);
    ASSERT_TRUE(schema.ok());
    ASSERT_TRUE(schema->has_value());
    proto::SchemaInfo info;
    ASSERT_TRUE(info.ParseFromString(**schema));
    EXPECT_EQ(info.version(), kSchemaVersion);
    WriteBatch b;
    b.Put(Cf::kMessages, "k", "v");
    ASSERT_TRUE(store->CommitAndWait(std::move(b)).ok());
  }
  auto store = OpenOrDie(dir.path());
  auto v = store->Get(Cf::kMessages, "k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "v");
}

TEST(Store, SecondWriterIsRefused) {
  TempDir dir;
  auto first = OpenOrDie(dir.path());
  StoreOptions o;
  o.path = dir.path();
  auto second = Store::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable) << second.status().ToString();
}

TEST(Store, NewerSchemaOnDiskIsRefusedAtOpen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    proto::SchemaInfo info;
    info.set_version(kSchemaVersion + 1);
    WriteBatch b;
    b.Put(Cf::kMeta, kMetaSchemaKey, info.SerializeAsString());
    ASSERT_TRUE(store->CommitAndWait(std::move(b)).ok());
  }
  StoreOptions o;
  o.path = dir.path();
  auto s = Store::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer than this build supports"), std::string::npos)
      << s.status().ToString();
  auto ro = Store::OpenReadOnly(dir.path());
  EXPECT_FALSE(ro.ok());
}

TEST(Store, UnknownSchemaRecordIsRefusedAtOpen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    WriteBatch b;
    b.Put(Cf::kMeta, kMetaSchemaKey, std::string("\xff\x01garbage", 9));
    ASSERT_TRUE(store->CommitAndWait(std::move(b)).ok());
  }
  StoreOptions o;
  o.path = dir.path();
  auto s = Store::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown schema"), std::string::npos);
}

TEST(Store, CountersMergeByAddition) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  for (int64_t d : {5, -2, 10}) {
    WriteBatch b;
    b.AddCounter("c/x", d);
    ASSERT_TRUE(store->CommitAndWait(std::move(b)).ok());
  }
  auto v = store->Get(Cf::kMeta, "c/x");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(DecodeCounter(**v), 13);
}

// Concurrent producers: every batch durable, fewer fsyncs than batches.
TEST(GroupCommit, ConcurrentProducersShareSyncs) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  const uint64_t syncs_before = store->synced_writes();
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WriteBatch b;
        b.Put(Cf::kMessages, Key(t, i), "x");
        if (!store->CommitAndWait(std::move(b)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t syncs = store->synced_writes() - syncs_before;
  EXPECT_GE(syncs, 1u);
  EXPECT_LE(syncs, static_cast<uint64_t>(kThreads * kPerThread));
  // Every batch is readable.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto v = store->Get(Cf::kMessages, Key(t, i));
      ASSERT_TRUE(v.ok() && v->has_value());
    }
  }
}

// Batches queued together are merged: 500 commits issued at once need far fewer fsyncs, and
// each completion runs on the dispatcher (never on the writer thread), after its sync.
TEST(GroupCommit, QueuedBatchesMergeAndCompleteOnTheLoopAfterSync) {
  TempDir dir;
  // The dispatcher must outlive the store (Store's contract): the writer thread may still be
  // inside loop.Post() when the test ends, so declare the loop first (destroyed last).
  FakeClock clock;
  FakeDispatcher loop(clock);
  auto store = OpenOrDie(dir.path());
  const uint64_t syncs_before = store->synced_writes();
  const uint64_t committed_before = store->committed_batches();
  constexpr int kBatches = 500;
  int completed = 0;
  // Queued while the writer is held, so they form one group whatever the machine's load.
  store->PauseWriterForTest(true);
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch b;
    std::string key = Key(i);
    b.Put(Cf::kMessages, key, "v");
    store->Commit(std::move(b), &loop, [&, key](Status s) {
      EXPECT_TRUE(s.ok());
      // Durable before completion: the synced write that carried it has returned.
      EXPECT_GT(store->synced_writes(), syncs_before);
      auto v = store->Get(Cf::kMessages, key);
      EXPECT_TRUE(v.ok() && v->has_value());
      ++completed;
    });
  }
  store->PauseWriterForTest(false);
  // Wait for the writer without running the loop: nothing completes on its own.
  while (store->committed_batches() - committed_before < kBatches) std::this_thread::yield();
  EXPECT_EQ(completed, 0);
  loop.RunPending();
  EXPECT_EQ(completed, kBatches);
  EXPECT_EQ(store->synced_writes() - syncs_before, 1u) << "the queued batches were not merged";
}

// The writer sums a group's counter operands per key: the totals are those of applying every
// batch in order, also around a Put and a Delete of a counter key inside the group.
TEST(GroupCommit, CounterOperandsOfAGroupAddUpInOrder) {
  TempDir dir;
  FakeClock clock;
  FakeDispatcher loop(clock);  // outlives the store (see above)
  auto store = OpenOrDie(dir.path());
  const uint64_t syncs_before = store->synced_writes();
  constexpr int kBatches = 500;
  int done = 0;
  int64_t want_a = 0, want_b = 0;
  store->PauseWriterForTest(true);  // one group, whatever the machine's load
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch b;
    if (i == 200) {
      b.Put(Cf::kMeta, "c/a", EncodeCounter(1000));
      want_a = 1000;
    } else if (i == 300) {
      b.Delete(Cf::kMeta, "c/b");
      want_b = 0;
    } else {
      b.AddCounter("c/a", 1);
      b.AddCounter("c/b", -(i % 3));
      want_a += 1;
      want_b -= i % 3;
    }
    store->Commit(std::move(b), &loop, [&](Status s) { done += s.ok(); });
  }
  store->PauseWriterForTest(false);
  ASSERT_TRUE(loop.RunUntil([&] { return done == kBatches; }));
  EXPECT_EQ(store->synced_writes() - syncs_before, 1u)
      << "batches were not grouped: the test proves nothing";
  EXPECT_EQ(DecodeCounter(store->Get(Cf::kMeta, "c/a")->value_or("")), want_a);
  EXPECT_EQ(DecodeCounter(store->Get(Cf::kMeta, "c/b")->value_or("")), want_b);
}

TEST(GroupCommit, LaterBatchWinsForTheSameKey) {
  TempDir dir;
  FakeClock clock;
  FakeDispatcher loop(clock);  // outlives the store (see above)
  auto store = OpenOrDie(dir.path());
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    WriteBatch b;
    b.Put(Cf::kMeta, "same", std::to_string(i));
    store->Commit(std::move(b), &loop, [&](Status s) { done += s.ok(); });
  }
  ASSERT_TRUE(loop.RunUntil([&] { return done == 50; }));
  EXPECT_EQ(store->Get(Cf::kMeta, "same")->value_or(""), "49");
}

TEST(ReadOnly, SecondaryViewWorksWhileTheWriterIsLive) {
  TempDir dir;
  auto writer = OpenOrDie(dir.path());
  WriteBatch b1;
  b1.Put(Cf::kMessages, "a", "1");
  ASSERT_TRUE(writer->CommitAndWait(std::move(b1)).ok());

  auto ro = Store::OpenReadOnly(dir.path());
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_TRUE((*ro)->read_only());
  EXPECT_EQ((*ro)->Get(Cf::kMessages, "a")->value_or(""), "1");

  WriteBatch b2;
  b2.Put(Cf::kMessages, "b", "2");
  ASSERT_TRUE(writer->CommitAndWait(std::move(b2)).ok());
  ASSERT_TRUE((*ro)->CatchUp().ok());
  EXPECT_EQ((*ro)->Get(Cf::kMessages, "b")->value_or(""), "2");

  WriteBatch b3;
  b3.Put(Cf::kMessages, "c", "3");
  EXPECT_EQ((*ro)->CommitAndWait(std::move(b3)).code(), Status::Code::kFailedPrecondition);
}

TEST(ReadOnly, WorksWhenNoWriterAndFailsClearlyWithoutAStore) {
  TempDir dir;
  { auto writer = OpenOrDie(dir.path()); }
  EXPECT_TRUE(Store::OpenReadOnly(dir.path()).ok());
  auto missing = Store::OpenReadOnly(dir.Sub("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

TEST(FreeSpace, WatermarkComparesStatvfsWithTheMinimum) {
  TempDir dir;
  StoreOptions o;
  o.path = dir.path();
  o.min_free_space_bytes = 0;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->BelowFreeSpaceWatermark());
  auto free = (*store)->FreeSpaceBytes();
  ASSERT_TRUE(free.ok());
  EXPECT_GT(*free, 0u);
}

TEST(FreeSpace, AboveAvailableSpaceMeansBelowWatermark) {
  TempDir dir;
  StoreOptions o;
  o.path = dir.path();
  o.min_free_space_bytes = ~uint64_t{0};
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->BelowFreeSpaceWatermark());
}

}  // namespace
}  // namespace outpost::storage
