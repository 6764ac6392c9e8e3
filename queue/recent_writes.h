#pragma once
// RecentWrites: which messages the recent writes touched, so that a message read at write
// sequence E (a snapshot) can be known unchanged without reading it again.
//
// Every write issued gets the next sequence number. The last `window` writes are remembered
// per message; an older one is forgotten by raising the floor to its number, and a snapshot
// taken before the floor is treated as stale (it cannot be told apart from a touched one).
// A write whose messages are unknown (NoteAll) raises the floor to itself.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <utility>

namespace outpost::queue {

class RecentWrites {
 public:
  explicit RecentWrites(size_t window) : window_(window == 0 ? 1 : window) {}

  // The sequence number of the last write issued (a snapshot's epoch).
  uint64_t last() const { return seq_; }
  // A write touching `msg_id` was issued.
  void Note(uint64_t msg_id);
  // A write that may touch any message was issued.
  void NoteAll();
  // True when no write issued after `epoch` touched `msg_id` (as far as is remembered).
  bool UnchangedSince(uint64_t msg_id, uint64_t epoch) const;

 private:
  size_t window_;
  uint64_t seq_ = 0;
  uint64_t floor_ = 0;  // writes up to here are forgotten: epochs below it are stale
  std::unordered_map<uint64_t, uint64_t> last_write_;     // msg_id -> its last write
  std::deque<std::pair<uint64_t, uint64_t>> remembered_;  // (write, msg_id), oldest first
};

}  // namespace outpost::queue
