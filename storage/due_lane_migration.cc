#include "storage/due_lane_migration.h"

#include "common/logging.h"
#include "outpost_queue.pb.h"
#include "storage/schema.h"
#include "storage/write_batch.h"

namespace outpost::storage {

std::optional<DueEntry> ParseSchema1DueKey(std::string_view key) {
  size_t zero = key.find('\0');
  if (zero == std::string_view::npos || key.size() != zero + 1 + 8 + 12) return std::nullopt;
  auto rk = ParseRecipientKey(key.substr(zero + 9));
  if (!rk) return std::nullopt;
  DueEntry e;
  e.queue = std::string(key.substr(0, zero));
  e.due_unix_ms = static_cast<int64_t>(GetBigEndian64(key.substr(zero + 1)));
  e.rcpt = *rk;
  return e;
}

std::string Schema1DueKey(std::string_view queue, int64_t due_unix_ms, RecipientKey k) {
  std::string out = DuePrefix(queue);
  PutBigEndian64(&out, KeyTime(due_unix_ms));
  out += RecipientKeyBytes(k);
  return out;
}

StatusOr<DueLaneMigrationCounts> MigrateDueLanes(Store& store, std::string_view stored_schema,
                                                 size_t keys_per_batch) {
  DueLaneMigrationCounts counts;
  // The cursor reads the store as of its creation: the keys this migration puts are not
  // visited again (and would not parse as schema 1 anyway).
  auto cur = store.NewCursor(Cf::kDue, "", "");
  WriteBatch batch;
  size_t in_batch = 0;
  for (; cur->Valid(); cur->Next()) {
    auto old = ParseSchema1DueKey(cur->key());
    if (!old) continue;  // already converted by an interrupted run
    OUTPOST_ASSIGN_OR_RETURN(auto rec, store.Get(Cf::kRecipients, RecipientKeyBytes(old->rcpt)));
    batch.Delete(Cf::kDue, cur->key());
    if (!rec) {
      ++counts.dropped;
    } else {
      proto::RecipientRecord r;
      const DueLane lane = r.ParseFromString(*rec) ? DueLaneFor(r.retry_num()) : DueLane::kFirst;
      batch.Put(Cf::kDue, DueKey(old->queue, lane, old->due_unix_ms, old->rcpt), "");
      ++counts.converted;
    }
    if (++in_batch >= keys_per_batch) {
      OUTPOST_RETURN_IF_ERROR(store.CommitAndWait(std::move(batch)));
      batch = WriteBatch();
      in_batch = 0;
    }
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  batch.Put(Cf::kMeta, kMetaSchemaKey, UpgradedSchemaInfo(stored_schema));
  OUTPOST_RETURN_IF_ERROR(store.CommitAndWait(std::move(batch)));
  OUTPOST_LOG_INFO("schema_migrated", {"path", store.path()}, {"to", kSchemaVersion},
                   {"due_keys_converted", counts.converted}, {"due_keys_dropped", counts.dropped});
  return counts;
}

}  // namespace outpost::storage
