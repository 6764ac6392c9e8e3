#include "queue/due_floor.h"

#include <algorithm>
#include <optional>

#include "storage/keys.h"

namespace outpost::queue {

using storage::DueLanePrefix;

int64_t DueFloor::FloorOf(const std::string& prefix) const {
  auto it = floor_.find(prefix);
  return it == floor_.end() ? 0 : it->second;
}

std::string DueFloor::KeyAt(const std::string& prefix, int64_t due_ms) {
  std::string out = prefix;
  storage::PutBigEndian64(&out, storage::KeyTime(due_ms));
  out += storage::RecipientKeyBytes(storage::RecipientKey{});
  return out;
}

int64_t DueFloor::Floor(std::string_view queue, Lane lane) const {
  return FloorOf(DueLanePrefix(queue, lane));
}

std::string DueFloor::ScanStart(std::string_view queue, Lane lane) const {
  const std::string prefix = DueLanePrefix(queue, lane);
  std::string floor = KeyAt(prefix, FloorOf(prefix));
  auto it = resume_.find(prefix);
  return it != resume_.end() && it->second > floor ? it->second : floor;
}

bool DueFloor::StartsAtFloor(std::string_view queue, Lane lane) const {
  const std::string prefix = DueLanePrefix(queue, lane);
  auto it = resume_.find(prefix);
  return it == resume_.end() || it->second <= KeyAt(prefix, FloorOf(prefix));
}

void DueFloor::LeasedThrough(std::string_view queue, Lane lane, std::string_view due_key) {
  const std::string prefix = DueLanePrefix(queue, lane);
  // The immediate successor of `due_key` in byte order.
  std::string next(due_key);
  next.push_back('\0');
  // A write in flight is not visible to the scan: never resume above what it puts.
  if (auto q = pending_by_lane_.find(prefix); q != pending_by_lane_.end()) {
    next = std::min(next, KeyAt(prefix, *q->second.begin()));
  }
  auto it = resume_.find(prefix);
  if (it == resume_.end()) {
    resume_.emplace(prefix, std::move(next));
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
  LowerResume(DueLanePrefix(e->queue, e->lane), due_key);
}

void DueFloor::LowerResume(const std::string& prefix, std::string_view key) {
  auto it = resume_.find(prefix);
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
    std::string prefix = DueLanePrefix(e->queue, e->lane);
    auto low = std::find_if(lows.begin(), lows.end(), [&](const auto& l) {
      return l.first == prefix;
    });
    if (low == lows.end()) {
      lows.emplace_back(std::move(prefix), e->due_unix_ms);
    } else {
      low->second = std::min(low->second, e->due_unix_ms);
    }
  }
  if (lows.empty()) return 0;
  for (const auto& [prefix, due] : lows) {
    auto it = floor_.find(prefix);
    if (it != floor_.end()) it->second = std::min(it->second, due);
    LowerResume(prefix, KeyAt(prefix, due));
    pending_by_lane_[prefix].insert(due);
  }
  uint64_t token = next_token_++;
  pending_.emplace(token, std::move(lows));
  return token;
}

void DueFloor::EndWrite(uint64_t token) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;
  for (const auto& [prefix, due] : it->second) {
    auto q = pending_by_lane_.find(prefix);
    if (q == pending_by_lane_.end()) continue;
    if (auto d = q->second.find(due); d != q->second.end()) q->second.erase(d);
    if (q->second.empty()) pending_by_lane_.erase(q);
  }
  pending_.erase(it);
}

void DueFloor::Observed(std::string_view queue, Lane lane, int64_t seen_due_ms) {
  const std::string prefix = DueLanePrefix(queue, lane);
  int64_t floor = seen_due_ms;
  if (auto q = pending_by_lane_.find(prefix); q != pending_by_lane_.end()) {
    floor = std::min(floor, *q->second.begin());
  }
  auto it = floor_.find(prefix);
  if (it == floor_.end()) {
    floor_.emplace(prefix, floor);
  } else {
    it->second = std::max(it->second, floor);
  }
}

}  // namespace outpost::queue
