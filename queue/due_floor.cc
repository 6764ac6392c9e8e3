#include "queue/due_floor.h"

#include <algorithm>
#include <optional>

#include "storage/keys.h"

namespace outpost::queue {

int64_t DueFloor::Floor(std::string_view queue) const {
  auto it = floor_.find(queue);
  return it == floor_.end() ? 0 : it->second;
}

std::string DueFloor::ScanStart(std::string_view queue) const {
  std::string floor = storage::DueKey(queue, Floor(queue), storage::RecipientKey{});
  auto it = resume_.find(queue);
  return it != resume_.end() && it->second > floor ? it->second : floor;
}

bool DueFloor::StartsAtFloor(std::string_view queue) const {
  auto it = resume_.find(queue);
  return it == resume_.end() ||
         it->second <= storage::DueKey(queue, Floor(queue), storage::RecipientKey{});
}

void DueFloor::LeasedThrough(std::string_view queue, std::string_view due_key) {
  // The immediate successor of `due_key` in byte order.
  std::string next(due_key);
  next.push_back('\0');
  // A write in flight is not visible to the scan: never resume above what it puts.
  if (auto q = pending_by_queue_.find(queue); q != pending_by_queue_.end()) {
    next = std::min(next, storage::DueKey(queue, *q->second.begin(), storage::RecipientKey{}));
  }
  auto it = resume_.find(queue);
  if (it == resume_.end()) {
    resume_.emplace(std::string(queue), std::move(next));
  } else {
    it->second = std::max(it->second, next);
  }
}

void DueFloor::Unleased(std::string_view due_key) {
  auto e = storage::ParseDueKey(due_key);
  if (!e) {
    resume_.clear();
    return;
  }
  LowerResume(e->queue, due_key);
}

void DueFloor::LowerResume(std::string_view queue, std::string_view key) {
  auto it = resume_.find(queue);
  if (it != resume_.end() && key < it->second) it->second = std::string(key);
}

uint64_t DueFloor::BeginWrite(const storage::WriteBatch& batch) {
  std::vector<std::pair<std::string, int64_t>> lows;
  for (const auto& op : batch.ops()) {
    if (op.cf != storage::Cf::kDue || op.kind != storage::WriteBatch::Op::Kind::kPut) continue;
    auto e = storage::ParseDueKey(op.key);
    // An undecodable key cannot be placed: forget the floor of every queue (scan all).
    if (!e) {
      floor_.clear();
      resume_.clear();
      continue;
    }
    auto low = std::find_if(lows.begin(), lows.end(), [&](const auto& l) {
      return l.first == e->queue;
    });
    if (low == lows.end()) {
      lows.emplace_back(e->queue, e->due_unix_ms);
    } else {
      low->second = std::min(low->second, e->due_unix_ms);
    }
  }
  if (lows.empty()) return 0;
  for (const auto& [queue, due] : lows) {
    auto it = floor_.find(queue);
    if (it != floor_.end()) it->second = std::min(it->second, due);
    LowerResume(queue, storage::DueKey(queue, due, storage::RecipientKey{}));
    pending_by_queue_[queue].insert(due);
  }
  uint64_t token = next_token_++;
  pending_.emplace(token, std::move(lows));
  return token;
}

void DueFloor::EndWrite(uint64_t token) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;
  for (const auto& [queue, due] : it->second) {
    auto q = pending_by_queue_.find(queue);
    if (q == pending_by_queue_.end()) continue;
    if (auto d = q->second.find(due); d != q->second.end()) q->second.erase(d);
    if (q->second.empty()) pending_by_queue_.erase(q);
  }
  pending_.erase(it);
}

void DueFloor::Observed(std::string_view queue, int64_t seen_due_ms) {
  int64_t floor = seen_due_ms;
  if (auto q = pending_by_queue_.find(queue); q != pending_by_queue_.end()) {
    floor = std::min(floor, *q->second.begin());
  }
  auto it = floor_.find(queue);
  if (it == floor_.end()) {
    floor_.emplace(std::string(queue), floor);
  } else {
    it->second = std::max(it->second, floor);
  }
}

}  // namespace outpost::queue
