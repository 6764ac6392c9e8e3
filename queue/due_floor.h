#pragma once
// Per virtual queue and lane (storage::DueLane; "queue" below means one lane of one queue, the
// unit a due scan covers), a due time below which the due index holds no key, so due scans Seek
// past the head of the index instead of walking it.
//
// Why: a delivered recipient's due key is deleted, and RocksDB keeps the tombstone (in the
// memtable, then in SST files) until a flush and a compaction drop it. The due index is
// queue-shaped (inserted at the tail, deleted at the head), so a scan from the start of a
// queue's prefix stepped over every recipient delivered since the last compaction: measured
// 3.5 % + 5 % of outpostd's CPU in DBIter/MemTableIterator after only 4,000 relayed messages,
// growing with every message. Seeking to the floor skips them all.
//
// Invariant: every due key of queue Q that is committed, or part of a write queued but not
// yet completed, has due time >= Floor(Q). Maintained from the only two things that matter:
//  - writes: BeginWrite() lowers the floor of every due key the batch puts and remembers
//    those times until EndWrite(), so a scan racing with the write cannot raise the floor
//    past it (the write is not visible to the scan yet);
//  - scans: Observed(Q, t) says a scan from Floor(Q) saw no key of Q below t; the floor
//    rises to t, but never above a pending write's due time.
// Deletes never matter (the floor is a lower bound). Unknown queues have floor 0 (scan all).
//
// Above the floor, leased recipients keep their due keys until their attempt ends, so a scan
// from the floor would step over every recipient in flight (15-25 keys per recipient in
// scheduler_bench). Hence a second, finer mark per queue, the resume key: every due key of Q
// between the floor and the resume key is leased. Scans start at ScanStart() = the larger of
// the two. The resume key
//  - rises by LeasedThrough() (a scan from ScanStart() met only leased keys up to a key), but
//    never above the lowest due time of a write in flight for Q;
//  - falls by BeginWrite() (a due key put below it) and Unleased() (a lease below it ended
//    while its due key stays).
//
// Not thread-safe: the QueueStore calls it on its loop thread only.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/keys.h"
#include "storage/write_batch.h"

namespace outpost::queue {

class DueFloor {
 public:
  using Lane = storage::DueLane;
  // The lowest due time a scan of `queue`'s `lane` must start from.
  int64_t Floor(std::string_view queue, Lane lane) const;
  // The due key a scan starts at: max(DueKey(queue, lane, Floor(queue, lane)), resume key).
  std::string ScanStart(std::string_view queue, Lane lane) const;
  // True when ScanStart is the floor itself (only then may the scan call Observed()).
  bool StartsAtFloor(std::string_view queue, Lane lane) const;

  // `batch` is about to be committed. Returns a token for EndWrite (0 = no due key put).
  uint64_t BeginWrite(const storage::WriteBatch& batch);
  // The write of `token` completed (successfully or not): its due times no longer hold the
  // floor down.
  void EndWrite(uint64_t token);

  // A scan of `queue` starting at Floor(queue) found no key below `seen_due_ms` (the due time
  // of the first key it met, or the exclusive end of its range when it met none).
  void Observed(std::string_view queue, Lane lane, int64_t seen_due_ms);

  // A scan of `queue` from ScanStart(queue) met only leased keys up to `due_key` (inclusive):
  // later scans start right after it.
  void LeasedThrough(std::string_view queue, Lane lane, std::string_view due_key);
  // The lease of the recipient of `due_key` ended while the key stays: scans start at or
  // before it again.
  void Unleased(std::string_view due_key);

  size_t pending_writes_for_test() const { return pending_.size(); }

 private:
  // Every map is keyed by the lane's key prefix, storage::DueLanePrefix(queue, lane).
  // prefix -> floor. Absent = 0.
  std::map<std::string, int64_t, std::less<>> floor_;
  // prefix -> resume key (absent: start at the floor).
  std::map<std::string, std::string, std::less<>> resume_;
  // token -> (prefix, lowest due time that write puts), for writes in flight.
  std::unordered_map<uint64_t, std::vector<std::pair<std::string, int64_t>>> pending_;
  // prefix -> those due times (a multiset: writes may share one).
  std::map<std::string, std::multiset<int64_t>, std::less<>> pending_by_lane_;
  uint64_t next_token_ = 1;

  int64_t FloorOf(const std::string& prefix) const;
  // The due key of `prefix` at `due_ms` with the smallest recipient key.
  static std::string KeyAt(const std::string& prefix, int64_t due_ms);
  // Lowers the resume key of `prefix` to `key` if it is above it.
  void LowerResume(const std::string& prefix, std::string_view key);
};

}  // namespace outpost::queue
