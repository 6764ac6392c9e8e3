#pragma once
// The durable store: one RocksDB database with the column families of storage/keys.h, and a
// group-commit writer thread. This is the only code in Outpost that includes RocksDB.
//
// Durability contract
//  - Commit() queues a WriteBatch for the writer thread. The writer merges every batch queued
//    at that moment (up to StoreOptions::max_group_bytes) into ONE RocksDB write with
//    sync=true (WAL fsync), so N concurrent callers cost one fsync.
//  - A caller's completion fires only after that synced write returned: OK means the whole
//    batch is durable; an error means none of it was applied. Completions are Post()ed to the
//    caller's Dispatcher, so the event loop never waits on fsync.
//  - Disk full / I/O errors: the write fails with kNoSpace / kIoError (answer 451 4.3.0); the
//    store stays in that error (health()) and resumes itself (RocksDB Resume()) with
//    exponential backoff from the writer thread; writes during the error fail fast.
//  - Errors only a reopen clears (RocksDB severity fatal, e.g. a failed WAL fsync) and I/O
//    errors that survive resume_give_up_after attempts make the store give up: it stops
//    resuming and calls StoreOptions::on_unrecoverable once. The owner exits; the next open
//    replays the WAL, which holds every write that was acknowledged.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/dispatcher.h"
#include "common/status.h"
#include "storage/keys.h"
#include "storage/write_batch.h"

namespace outpost::storage {

struct StoreOptions {
  std::string path;  // data directory of the database (created if missing)
  // queue.minFreeSpace: BelowFreeSpaceWatermark() is true when the file system holding `path`
  // has less available space than this (ingest answers 452 4.3.1).
  uint64_t min_free_space_bytes = uint64_t{1} << 30;
  // Largest merged group the writer builds (a single bigger batch still goes alone).
  size_t max_group_bytes = size_t{8} << 20;
  Millis resume_initial_backoff{100};
  Millis resume_max_backoff{30000};
  // Failed resumes of an I/O error (not disk full, which waits for space however long it
  // takes) since the last successful write before the store gives up; a write failing again
  // right after a successful resume counts as one (storage/resume_budget.h). With the
  // backoffs above about 25 s.
  int resume_give_up_after = 8;
  // Called once, on the writer thread, when the store gives up (see the contract above). Must
  // not call into the store; post to a loop instead. From then on health() reports the error
  // and every write fails fast.
  std::function<void(const Status&)> on_unrecoverable;
  // Bodies at least this large go to blob files (BlobDB) instead of being rewritten by every
  // compaction.
  uint64_t blob_min_bytes = 4096;
  size_t block_cache_bytes = size_t{32} << 20;
  size_t total_write_buffer_bytes = size_t{64} << 20;
  // Memtable size per column family. RocksDB clears a disk-full error only once free space
  // exceeds this (its reserved "disk buffer").
  size_t cf_write_buffer_bytes = size_t{16} << 20;
  // Flush memtables when the store closes cleanly, so the next open replays no WAL. False
  // emulates a crash (benchmarks of recovery time).
  bool flush_on_close = true;
};

// A forward iterator over [lower, upper) of one column family. Not thread-safe; keys and
// values stay valid until the next Next()/Seek()/Refresh(). Check status() when Valid() turns
// false. It reads the store as of its creation or its last Refresh(), and keeps the memtables
// and files of that view alive until then: keep one only while it is being used regularly.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Moves the view to the store's current state (then Seek() again). Far cheaper than a new
  // cursor: unless a flush or compaction happened since, it only takes a new sequence number.
  virtual Status Refresh() = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual void Seek(std::string_view key) = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

// Durations of the synced writes (the WAL fsync dominates them), for /metrics.
struct SyncLatency {
  static constexpr std::array<int64_t, 10> kBoundsUs = {250,   500,   1000,   2500,   5000,
                                                        10000, 25000, 50000, 100000, 1000000};
  std::array<uint64_t, kBoundsUs.size() + 1> buckets{};  // not cumulative; last one is +Inf
  uint64_t sum_us = 0;
  uint64_t count = 0;
};

class Store {
 public:
  using Done = std::function<void(Status)>;

  // Opens (creating if needed) read-write. Takes RocksDB's LOCK: one writer process per
  // directory; a second Open fails with kUnavailable.
  static StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  // Read-only view for the CLI. Opens a RocksDB *secondary* instance (its scratch files go to
  // a private temp dir, removed on close), which is safe while the daemon holds the DB and
  // also works when it is down. OpenForReadOnly is not used: RocksDB documents it as
  // undefined while a read-write instance is open. CatchUp() refreshes the view.
  static StatusOr<std::unique_ptr<Store>> OpenReadOnly(const std::string& path);

  // Finishes every queued write (their completions are still posted), then closes.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  bool read_only() const;
  const std::string& path() const;

  // Reads are synchronous and thread-safe. nullopt = not found.
  StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key) const;
  // An iterator over [lower, upper); an empty `upper` means the end of the column family.
  // Starts positioned at `lower`.
  std::unique_ptr<Cursor> NewCursor(Cf cf, std::string lower, std::string upper) const;
  // The largest key of a column family, or nullopt when it is empty.
  StatusOr<std::optional<std::string>> LastKey(Cf cf) const;

  // Thread-safe. Queues `batch`; `done` runs exactly once on `dispatcher`'s loop, after the
  // batch is durable (OK) or known not applied (error). The dispatcher must outlive the
  // store's destructor. Fails at once (still posted) on a read-only store.
  void Commit(WriteBatch batch, Dispatcher* dispatcher, Done done);
  // Blocking variant for tools, tests and recovery code that does not run on a loop.
  Status CommitAndWait(WriteBatch batch);

  // OK while writes are accepted; otherwise the error the store is in (kNoSpace, kIoError)
  // until it resumes itself (or for good once it gave up).
  Status health() const;
  StatusOr<uint64_t> FreeSpaceBytes() const;
  // Cheap (one statvfs). True also when the free space cannot be determined.
  bool BelowFreeSpaceWatermark() const;

  // Secondary instances only: replays what the primary wrote since the last call.
  Status CatchUp();
  // Compacts a key range [begin, end) of one column family (maintenance: head tombstones).
  Status CompactRange(Cf cf, std::string_view begin, std::string_view end);
  // Flushes memtables (tests and benchmarks; not needed for durability).
  Status FlushForTest();
  // While paused the writer takes nothing new from its queue (tests that need a known group).
  void PauseWriterForTest(bool paused);

  // Counters for tests and metrics.
  uint64_t synced_writes() const;      // RocksDB writes with sync=true (= fsyncs)
  uint64_t committed_batches() const;  // caller batches made durable
  uint64_t failed_batches() const;
  uint64_t resume_attempts() const;
  SyncLatency sync_latency() const;

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::storage
