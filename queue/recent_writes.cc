#include "queue/recent_writes.h"

namespace outpost::queue {

void RecentWrites::Note(uint64_t msg_id) {
  ++seq_;
  last_write_[msg_id] = seq_;
  remembered_.emplace_back(seq_, msg_id);
  if (remembered_.size() <= window_) return;
  const auto [seq, id] = remembered_.front();
  remembered_.pop_front();
  auto it = last_write_.find(id);
  if (it != last_write_.end() && it->second == seq) last_write_.erase(it);
  floor_ = seq;
}

void RecentWrites::NoteAll() {
  ++seq_;
  floor_ = seq_;
  last_write_.clear();
  remembered_.clear();
}

bool RecentWrites::UnchangedSince(uint64_t msg_id, uint64_t epoch) const {
  if (epoch < floor_) return false;  // a forgotten write after `epoch` may have touched it
  auto it = last_write_.find(msg_id);
  return it == last_write_.end() || it->second <= epoch;
}

}  // namespace outpost::queue
