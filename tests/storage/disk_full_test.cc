// Disk full on a real (small) file system: a tmpfs mounted by the test. Skipped when mounting
// is not permitted (not root / no CAP_SYS_ADMIN).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>
#include <set>
#include <thread>

#include "common/fake_dispatcher.h"
#include "queue/consistency.h"
#include "queue/queue_store.h"
#include "tests/queue/test_util.h"

namespace outpost {
namespace {

using testing::Await;
using testing::TempDir;

class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    mounted_ = mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST(DiskFull, EnqueueFailsCleanlyThenTheStoreResumesItself) {
  TempDir dir;
  TmpfsMount mnt(dir.path(), "48m");
  if (!mnt.mounted()) GTEST_SKIP() << "cannot mount tmpfs here";
  // A filler file we delete later to "free disk space". RocksDB clears a disk-full error only
  // when free space exceeds its write buffer size (1 MiB here), hence the sizes.
  const std::string filler = dir.Sub("filler");
  {
    std::ofstream f(filler, std::ios::binary);
    std::string chunk(1 << 20, 'f');
    for (int i = 0; i < 16; ++i) f << chunk;
  }
  FakeClock clock;
  FakeDispatcher loop(clock);
  queue::QueueStoreOptions o;
  o.store.path = dir.Sub("db");
  o.store.min_free_space_bytes = 8 << 20;
  o.store.cf_write_buffer_bytes = 1 << 20;
  o.store.total_write_buffer_bytes = 4 << 20;
  o.store.resume_initial_backoff = Millis(20);
  o.store.resume_max_backoff = Millis(200);
  auto qs_or = queue::QueueStore::Open(o, loop);
  ASSERT_TRUE(qs_or.ok()) << qs_or.status().ToString();
  auto& qs = *qs_or;
  EXPECT_FALSE(qs->BelowFreeSpaceWatermark());

  std::set<uint64_t> acked;
  Status failure;
  bool saw_watermark = false;
  const std::string body(256 << 10, 'b');
  for (int i = 0; i < 400 && failure.ok(); ++i) {
    saw_watermark |= qs->BelowFreeSpaceWatermark();
    auto r = Await<StatusOr<uint64_t>>(loop, [&](auto cb) {
      qs->Enqueue(testing::SimpleMessage(2, clock.NowUnixMs(), "remote", body), cb);
    });
    if (r.ok()) {
      acked.insert(*r);
    } else {
      failure = r.status();
    }
  }
  ASSERT_FALSE(failure.ok()) << "the disk never filled";
  EXPECT_TRUE(saw_watermark) << "watermark should trip before the disk is full";
  EXPECT_TRUE(failure.Is(Status::Code::kNoSpace) || failure.Is(Status::Code::kIoError))
      << failure.ToString();
  EXPECT_FALSE(qs->health().ok());
  // While in error, writes fail fast with a status (451), never a crash.
  auto again = Await<StatusOr<uint64_t>>(
      loop, [&](auto cb) { qs->Enqueue(testing::SimpleMessage(1, clock.NowUnixMs()), cb); });
  EXPECT_FALSE(again.ok());

  // Free space: the store resumes by itself (RocksDB Resume with backoff).
  ASSERT_EQ(std::remove(filler.c_str()), 0);
  // The writer thread resumes on its own; poll for it (nothing is posted to the loop).
  for (int i = 0; i < 2000 && !qs->health().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(qs->health().ok()) << qs->health().ToString();
  EXPECT_GE(qs->store().resume_attempts(), 1u);
  auto after = Await<StatusOr<uint64_t>>(
      loop, [&](auto cb) { qs->Enqueue(testing::SimpleMessage(1, clock.NowUnixMs()), cb); });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  acked.insert(*after);

  // Nothing acknowledged is lost; nothing half written.
  for (uint64_t id : acked) EXPECT_TRUE(qs->Get(id).ok());
  auto report = queue::CheckConsistency(qs->store());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << (report->problems.empty() ? "" : report->problems[0]);
}

}  // namespace
}  // namespace outpost
