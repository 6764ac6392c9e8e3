#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/logging.h"
#include "storage/due_lane_migration.h"
#include "storage/resume_budget.h"
#include "storage/schema.h"

namespace outpost::storage {
namespace {

// meta counters: 8-byte little-endian int64, merged by addition. Undecodable operands count as
// 0 rather than failing reads (a counter is advisory; the consistency checker recounts).
class Int64AddOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    int64_t sum = DecodeCounter(value.ToStringView()).value_or(0);
    if (existing != nullptr) sum += DecodeCounter(existing->ToStringView()).value_or(0);
    *new_value = EncodeCounter(sum);
    return true;
  }
  const char* Name() const override { return "outpost.Int64Add"; }
};

// RocksDB's own LOG file lives on the data disk; when that disk fills, the Debian build
// asserts in its file logger. Route RocksDB's warnings and errors into our log instead.
class ForwardingLogger final : public rocksdb::Logger {
 public:
  ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), format, ap);
    Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError : LogLevel::kWarning,
        "rocksdb", {{"msg", buf}});
  }
};

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError()) return Status::IoError(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Unavailable(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNotSupported()) return Status::FailedPrecondition(msg);
  return Status::IoError(msg);
}

class RocksCursor final : public Cursor {
 public:
  RocksCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string lower,
              std::string upper)
      : lower_(std::move(lower)), upper_(std::move(upper)) {
    rocksdb::ReadOptions ro;
    if (!upper_.empty()) {
      upper_slice_ = rocksdb::Slice(upper_);
      ro.iterate_upper_bound = &upper_slice_;
    }
    lower_slice_ = rocksdb::Slice(lower_);
    ro.iterate_lower_bound = &lower_slice_;
    it_.reset(db->NewIterator(ro, cf));
    it_->Seek(lower_slice_);
  }
  Status Refresh() override { return FromRocks(it_->Refresh(), "refresh iterator"); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Seek(std::string_view key) override { it_->Seek(rocksdb::Slice(key)); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status(), "iterate"); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

struct Pending {
  WriteBatch batch;
  Dispatcher* dispatcher = nullptr;  // nullptr: run `done` on the writer thread
  Store::Done done;
};

}  // namespace

class Store::Impl {
 public:
  ~Impl() { Close(); }

  StoreOptions options;
  bool read_only = false;
  std::string secondary_dir;  // removed on close
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // index = Cf; plus extras after kCfCount
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> wbm;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending> queue;  // guarded by mu
  bool stopping = false;      // guarded by mu
  bool paused = false;        // guarded by mu: PauseWriterForTest
  Status error;               // guarded by mu: the store's current write error
  MonotonicTime next_resume;  // guarded by mu
  Millis backoff{0};          // guarded by mu
  std::optional<ResumeBudget> budget;  // guarded by mu; set with `options` at open
  bool gave_up = false;       // guarded by mu: no more resumes (on_unrecoverable was called)
  std::thread writer;

  std::atomic<uint64_t> synced_writes{0};
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> resumes{0};
  std::array<std::atomic<uint64_t>, SyncLatency::kBoundsUs.size() + 1> sync_buckets{};
  std::atomic<uint64_t> sync_sum_us{0};

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles[static_cast<int>(c)]; }
  // mu held.
  ResumeBudget& Budget() {
    if (!budget) budget.emplace(options.resume_give_up_after);
    return *budget;
  }

  void StartWriter() {
    writer = std::thread([this] { WriterLoop(); });
  }

  void Close() {
    {
      std::lock_guard<std::mutex> l(mu);
      stopping = true;
    }
    cv.notify_all();
    if (writer.joinable()) writer.join();
    if (db) {
      if (!read_only && options.flush_on_close) {
        rocksdb::FlushOptions fo;
        fo.allow_write_stall = true;
        db->Flush(fo, handles).PermitUncheckedError();
      }
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      handles.clear();
      db->Close().PermitUncheckedError();
      db.reset();
    }
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }

  static void Finish(Pending& p, const Status& s) {
    if (p.dispatcher == nullptr) {
      p.done(s);
    } else {
      p.dispatcher->Post([done = std::move(p.done), s]() { done(s); });
    }
  }

  // Writer thread: takes everything queued, tries to leave an error state, writes the group
  // with one synced write and completes every caller.
  void WriterLoop() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      if (!error.ok() && !gave_up) {
        // In error: wake for the resume deadline, but also for new writes, which fail fast
        // (ingest answers 451 at once instead of waiting for the next resume attempt).
        cv.wait_until(l, next_resume, [&] { return stopping || !queue.empty(); });
        if (!error.ok() && std::chrono::steady_clock::now() >= next_resume) TryResume(l);
      } else {
        cv.wait(l, [&] { return stopping || (!queue.empty() && !paused); });
      }
      if (queue.empty()) {
        if (stopping) return;
        continue;
      }
      std::vector<Pending> group;
      size_t bytes = 0;
      while (!queue.empty() && (group.empty() || bytes + queue.front().batch.ApproximateBytes() <=
                                                     options.max_group_bytes)) {
        bytes += queue.front().batch.ApproximateBytes();
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      Status current = error;
      l.unlock();
      Status result = current.ok() ? WriteGroup(group) : current;
      if (!result.ok()) {
        // Enter the error state before anyone hears of the failure, so health() agrees.
        std::lock_guard<std::mutex> g(mu);
        if (error.ok()) EnterError(result);
      }
      for (auto& p : group) Finish(p, result);
      // Counted once every completion is posted: a test that saw the count may run the loop.
      (result.ok() ? committed : failed) += group.size();
      l.lock();
      if (result.ok()) Budget().WriteSucceeded();
    }
  }

  Status WriteGroup(const std::vector<Pending>& group) {
    rocksdb::WriteBatch wb;
    // Counter operands (the only merges: WriteBatch::AddCounter) are summed per key over the
    // whole group and written as one operand each. The group is one atomic write and the
    // operator adds, so the result is the same; at load a group carries hundreds of operands
    // for the same few keys, each a memtable insert that also walks the key's earlier operands
    // (max_successive_merges). A Put or Delete of a key first writes its pending sum (order).
    std::unordered_map<std::string_view, int64_t> sums;  // views of the group's own keys
    auto write_sum = [&](Cf c, std::string_view key) -> rocksdb::Status {
      auto it = sums.find(key);
      if (it == sums.end()) return rocksdb::Status::OK();
      rocksdb::Status s = wb.Merge(cf(c), rocksdb::Slice(key), EncodeCounter(it->second));
      sums.erase(it);
      return s;
    };
    for (const auto& p : group) {
      for (const auto& op : p.batch.ops()) {
        rocksdb::Status s;
        switch (op.kind) {
          case WriteBatch::Op::Kind::kPut:
            if (op.cf == Cf::kMeta) s = write_sum(op.cf, op.key);
            if (s.ok()) s = wb.Put(cf(op.cf), op.key, op.value);
            break;
          case WriteBatch::Op::Kind::kDelete:
            if (op.cf == Cf::kMeta) s = write_sum(op.cf, op.key);
            if (s.ok()) s = wb.Delete(cf(op.cf), op.key);
            break;
          case WriteBatch::Op::Kind::kMerge:
            if (op.cf == Cf::kMeta) {
              sums[op.key] += DecodeCounter(op.value).value_or(0);  // as the operator reads it
            } else {
              s = wb.Merge(cf(op.cf), op.key, op.value);
            }
            break;
        }
        if (!s.ok()) return FromRocks(s, "build write batch");
      }
    }
    for (const auto& [key, sum] : sums) {
      rocksdb::Status s = wb.Merge(cf(Cf::kMeta), rocksdb::Slice(key), EncodeCounter(sum));
      if (!s.ok()) return FromRocks(s, "build write batch");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    const auto started = std::chrono::steady_clock::now();
    rocksdb::Status s = db->Write(wo, &wb);
    RecordSync(std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
    synced_writes.fetch_add(1);
    return FromRocks(s, "write");
  }

  void RecordSync(int64_t us) {
    size_t i = 0;
    while (i < SyncLatency::kBoundsUs.size() && us > SyncLatency::kBoundsUs[i]) ++i;
    sync_buckets[i].fetch_add(1, std::memory_order_relaxed);
    sync_sum_us.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  }

  // mu held.
  void EnterError(const Status& s) {
    error = s;
    Budget().WriteFailed(s.Is(Status::Code::kIoError));
    backoff = options.resume_initial_backoff;
    next_resume = std::chrono::steady_clock::now() + backoff;
    OUTPOST_LOG_ERROR("store_write_failed", {"error", s.ToString()}, {"path", options.path});
  }

  // mu held on entry and exit; released around Resume().
  void TryResume(std::unique_lock<std::mutex>& l) {
    if (Budget().exhausted()) {  // the last write failed again after a successful resume
      GiveUp(error, l);
      return;
    }
    l.unlock();
    rocksdb::Status rs = db->Resume();
    resumes.fetch_add(1);
    l.lock();
    if (rs.ok()) {
      OUTPOST_LOG_INFO("store_resumed", {"path", options.path});
      error = Status::Ok();
      Budget().ResumeSucceeded();
      return;
    }
    // RocksDB never clears a fatal error (a failed WAL fsync: whether the data reached the
    // disk is unknown, and retrying fsync after EIO proves nothing, as PostgreSQL learned in
    // 2018), so only a reopen helps. A plain I/O error that keeps failing is treated alike.
    // Disk full is not: it clears once space returns (meanwhile Resume() may also answer
    // Busy while RocksDB's own recovery waits for space).
    bool fatal = rs.severity() >= rocksdb::Status::Severity::kFatalError;
    Budget().ResumeFailed(rs.IsIOError() && !rs.IsNoSpace());
    if (fatal || Budget().exhausted()) {
      GiveUp(FromRocks(rs, "resume"), l);
      return;
    }
    backoff = std::min(backoff * 2, options.resume_max_backoff);
    next_resume = std::chrono::steady_clock::now() + backoff;
    OUTPOST_LOG_WARN("store_resume_failed", {"error", rs.ToString()},
                     {"retry_in_ms", static_cast<int64_t>(backoff.count())});
  }

  // mu held on entry and exit; released around the callback.
  void GiveUp(Status why, std::unique_lock<std::mutex>& l) {
    gave_up = true;
    error = Status(why.code(), why.message() + " (unrecoverable without a restart)");
    Status reported = error;
    OUTPOST_LOG_ERROR(
        "store_unrecoverable", {"error", reported.ToString()},
        {"resume_attempts", static_cast<int64_t>(Budget().failed())}, {"path", options.path},
        {"action", "the owner must restart; the WAL replays every acknowledged write"});
    if (!options.on_unrecoverable) return;
    l.unlock();
    options.on_unrecoverable(reported);
    l.lock();
  }
};

namespace {

rocksdb::ColumnFamilyOptions BaseCfOptions(const StoreOptions& o,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cfo;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.cache_index_and_filter_blocks = true;
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  cfo.write_buffer_size = o.cf_write_buffer_bytes;
  cfo.compression = rocksdb::kNoCompression;
  return cfo;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(
    const StoreOptions& o, const std::shared_ptr<rocksdb::Cache>& cache,
    const std::vector<std::string>& existing) {
  std::vector<rocksdb::ColumnFamilyDescriptor> out;
  for (int i = 0; i < kCfCount; ++i) {
    Cf c = static_cast<Cf>(i);
    rocksdb::ColumnFamilyOptions cfo = BaseCfOptions(o, cache);
    switch (c) {
      case Cf::kBodies:
        // Bodies are written once and deleted once: keep them out of compactions.
        cfo.enable_blob_files = true;
        cfo.min_blob_size = o.blob_min_bytes;
        cfo.enable_blob_garbage_collection = true;
        cfo.blob_garbage_collection_age_cutoff = 0.5;
        break;
      case Cf::kDue:
      case Cf::kRecipients:
      case Cf::kMessages:
      case Cf::kFailed:
      case Cf::kDone:
        // Queue-shaped: inserted at the tail, deleted at the head. Compact files that
        // collect many tombstones so scans do not walk over them (reliability.md D.4).
        cfo.table_properties_collector_factories.push_back(
            rocksdb::NewCompactOnDeletionCollectorFactory(1024, 512, 0.5));
        break;
      case Cf::kMeta:
        cfo.merge_operator = std::make_shared<Int64AddOperator>();
        // Fold counter operands at write time once a few pile up, so reading a counter
        // never walks thousands of operands (Stats stays cheap between flushes).
        cfo.max_successive_merges = 64;
        break;
      case Cf::kQuarantine:
        break;
    }
    out.emplace_back(std::string(CfName(c)), cfo);
  }
  // The default CF (unused) and any CF a newer build created must be opened too.
  for (const auto& name : existing) {
    bool known = false;
    for (const auto& d : out) known |= d.name == name;
    if (!known) out.emplace_back(name, BaseCfOptions(o, cache));
  }
  bool has_default = false;
  for (const auto& d : out) has_default |= d.name == rocksdb::kDefaultColumnFamilyName;
  if (!has_default) out.emplace_back(rocksdb::kDefaultColumnFamilyName, BaseCfOptions(o, cache));
  return out;
}

rocksdb::DBOptions BaseDbOptions(const StoreOptions& o,
                                 const std::shared_ptr<rocksdb::WriteBufferManager>& wbm) {
  rocksdb::DBOptions d;
  d.create_if_missing = true;
  d.create_missing_column_families = true;
  d.paranoid_checks = true;
  d.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Flush idle CFs so they do not pin old WAL files; also bounds the WAL a crash replays.
  d.max_total_wal_size = 32 << 20;
  d.max_background_jobs = 2;
  d.keep_log_file_num = 5;
  d.max_log_file_size = 4 << 20;
  d.write_buffer_manager = wbm;
  d.bytes_per_sync = 1 << 20;
  // Recovery replays the WAL into memtables without writing L0 files first: opening after a
  // crash costs one read of at most max_total_wal_size, not a flush.
  d.avoid_flush_during_recovery = true;
  d.max_open_files = 512;
  d.info_log = std::make_shared<ForwardingLogger>();
  d.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  (void)o;
  return d;
}

// Fails unless the store's schema is one this build reads; writes it into a new store.
Status CheckOrInitSchema(Store& store, bool create) {
  OUTPOST_ASSIGN_OR_RETURN(auto stored, store.Get(Cf::kMeta, kMetaSchemaKey));
  bool empty = true;
  if (!stored) {
    for (int i = 0; i < kCfCount && empty; ++i) {
      OUTPOST_ASSIGN_OR_RETURN(auto last, store.LastKey(static_cast<Cf>(i)));
      empty = !last.has_value();
    }
  }
  OUTPOST_ASSIGN_OR_RETURN(const uint32_t version, CheckSchema(stored, empty, store.path()));
  if (stored && version < kSchemaVersion) {
    if (store.read_only()) {
      return Status::FailedPrecondition(
          "store " + store.path() + " uses schema version " + std::to_string(version) +
          ": start outpostd (or any read-write command) once to migrate it to " +
          std::to_string(kSchemaVersion));
    }
    return MigrateDueLanes(store, *stored).status();
  }
  if (stored || !create) return Status::Ok();
  WriteBatch b;
  b.Put(Cf::kMeta, kMetaSchemaKey, EncodeSchemaInfo(RealClock::Instance().NowUnixMs()));
  return store.CommitAndWait(std::move(b));
}

}  // namespace

StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("store path is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::IoError("create " + options.path + ": " + ec.message());

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  impl->wbm = std::make_shared<rocksdb::WriteBufferManager>(options.total_write_buffer_bytes);
  rocksdb::DBOptions dbo = BaseDbOptions(options, impl->wbm);

  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(dbo, options.path, &existing).PermitUncheckedError();
  auto descs = Descriptors(options, impl->cache, existing);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, options.path, descs, &impl->handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Unavailable("store " + options.path +
                                 " is in use by another process (RocksDB LOCK): " + s.ToString());
    }
    return FromRocks(s, "open store " + options.path);
  }
  impl->db.reset(raw);
  impl->StartWriter();
  std::unique_ptr<Store> store(new Store(std::move(impl)));
  OUTPOST_RETURN_IF_ERROR(CheckOrInitSchema(*store, /*create=*/true));
  return store;
}

StatusOr<std::unique_ptr<Store>> Store::OpenReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    return Status::NotFound("no store at " + path);
  }
  auto impl = std::make_unique<Impl>();
  impl->read_only = true;
  impl->options.path = path;
  impl->cache = rocksdb::NewLRUCache(impl->options.block_cache_bytes);
  impl->wbm = std::make_shared<rocksdb::WriteBufferManager>(impl->options.total_write_buffer_bytes);
  rocksdb::DBOptions dbo = BaseDbOptions(impl->options, impl->wbm);
  dbo.max_open_files = -1;  // required by secondary instances
  dbo.create_if_missing = false;
  std::string tmpl = (std::filesystem::temp_directory_path() / "outpost-ro-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::IoError("mkdtemp for read-only view");
  impl->secondary_dir = tmpl;

  std::vector<std::string> existing;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(dbo, path, &existing);
  if (!ls.ok()) return FromRocks(ls, "list column families of " + path);
  // A secondary can only open CFs that exist; open the ones this build knows that exist.
  auto all = Descriptors(impl->options, impl->cache, existing);
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (int i = 0; i < kCfCount; ++i) {
    bool present = false;
    for (const auto& e : existing) present |= e == CfName(static_cast<Cf>(i));
    if (!present)
      return Status::Corruption("store " + path + " lacks column family " +
                                std::string(CfName(static_cast<Cf>(i))));
    descs.push_back(all[i]);
  }
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, BaseCfOptions(impl->options, impl->cache));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenAsSecondary(dbo, path, impl->secondary_dir, descs, &impl->handles, &raw);
  if (!s.ok()) return FromRocks(s, "open read-only view of " + path);
  impl->db.reset(raw);
  Status st = FromRocks(impl->db->TryCatchUpWithPrimary(), "catch up with primary");
  if (!st.ok()) return st;
  std::unique_ptr<Store> store(new Store(std::move(impl)));
  OUTPOST_RETURN_IF_ERROR(CheckOrInitSchema(*store, /*create=*/false));
  return store;
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

bool Store::read_only() const { return impl_->read_only; }
const std::string& Store::path() const { return impl_->options.path; }

StatusOr<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(cf), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "get");
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<Cursor> Store::NewCursor(Cf cf, std::string lower, std::string upper) const {
  return std::make_unique<RocksCursor>(impl_->db.get(), impl_->cf(cf), std::move(lower),
                                       std::move(upper));
}

StatusOr<std::optional<std::string>> Store::LastKey(Cf cf) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(cf)));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "seek to last");
  if (!it->Valid()) return std::optional<std::string>();
  return std::optional<std::string>(it->key().ToString());
}

void Store::Commit(WriteBatch batch, Dispatcher* dispatcher, Done done) {
  Pending p{std::move(batch), dispatcher, std::move(done)};
  if (impl_->read_only) {
    Impl::Finish(p, Status::FailedPrecondition("store is open read-only"));
    return;
  }
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->queue.push_back(std::move(p));
  }
  impl_->cv.notify_one();
}

Status Store::CommitAndWait(WriteBatch batch) {
  if (impl_->read_only) return Status::FailedPrecondition("store is open read-only");
  std::promise<Status> promise;
  auto future = promise.get_future();
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->queue.push_back(
        Pending{std::move(batch), nullptr, [&promise](Status s) { promise.set_value(s); }});
  }
  impl_->cv.notify_one();
  return future.get();
}

Status Store::health() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->error;
}

StatusOr<uint64_t> Store::FreeSpaceBytes() const {
  struct statvfs sv;
  if (statvfs(impl_->options.path.c_str(), &sv) != 0) {
    return Status::IoError("statvfs " + impl_->options.path);
  }
  return static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
}

bool Store::BelowFreeSpaceWatermark() const {
  auto free = FreeSpaceBytes();
  return !free.ok() || *free < impl_->options.min_free_space_bytes;
}

Status Store::CatchUp() {
  if (!impl_->read_only) return Status::Ok();
  return FromRocks(impl_->db->TryCatchUpWithPrimary(), "catch up with primary");
}

Status Store::CompactRange(Cf cf, std::string_view begin, std::string_view end) {
  rocksdb::Slice b(begin), e(end);
  return FromRocks(
      impl_->db->CompactRange(rocksdb::CompactRangeOptions(), impl_->cf(cf),
                              begin.empty() ? nullptr : &b, end.empty() ? nullptr : &e),
      "compact range");
}

void Store::PauseWriterForTest(bool paused) {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->paused = paused;
  }
  impl_->cv.notify_all();
}

Status Store::FlushForTest() {
  return FromRocks(impl_->db->Flush(rocksdb::FlushOptions(), impl_->handles), "flush");
}

uint64_t Store::synced_writes() const { return impl_->synced_writes.load(); }
uint64_t Store::committed_batches() const { return impl_->committed.load(); }
uint64_t Store::failed_batches() const { return impl_->failed.load(); }
uint64_t Store::resume_attempts() const { return impl_->resumes.load(); }

SyncLatency Store::sync_latency() const {
  SyncLatency l;
  for (size_t i = 0; i < l.buckets.size(); ++i) {
    l.buckets[i] = impl_->sync_buckets[i].load(std::memory_order_relaxed);
    l.count += l.buckets[i];
  }
  l.sum_us = impl_->sync_sum_us.load(std::memory_order_relaxed);
  return l;
}

}  // namespace outpost::storage
