// QueueStore::List for state=failed: walks the failed index instead of every stored message.
// Kept apart from queue_store.cc: it only reads (Load) and knows the failed index layout.
#include <algorithm>
#include <optional>
#include <string>

#include "queue/queue_store.h"
#include "queue/record_filter.h"
#include "storage/keys.h"

namespace outpost::queue {
namespace {

constexpr char kFailedCursorTag = 'f';

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

// The failed index is ordered by failure time, so pages come in that order, bounded by the
// filter's [failed_since, failed_until], and cost O(entries walked), not O(stored messages).
// The cursor is 'f' + the hex of the last index key walked. A message is returned at the
// index entry of its earliest-failed matching recipient only, so it appears exactly once
// across pages even when several of its recipients failed at different times.
StatusOr<ListPage> QueueStore::ListFailed(const ListOptions& options) {
  const Filter& f = options.filter;
  std::string lower = storage::TimeIndexKey(std::max<int64_t>(f.failed_since_unix_ms, 0), {});
  std::string upper =
      f.failed_until_unix_ms > 0 ? storage::TimeIndexUpperBound(f.failed_until_unix_ms) : "";
  if (!options.cursor.empty()) {
    auto last = options.cursor[0] == kFailedCursorTag
                    ? HexDecode(std::string_view(options.cursor).substr(1))
                    : std::nullopt;
    if (!last || last->empty()) {
      return Status::InvalidArgument("bad cursor '" + options.cursor + "' for state failed");
    }
    last->push_back('\0');  // the smallest key after it
    lower = std::max(lower, *last);
  }
  ListPage page;
  auto cur = store_->NewCursor(storage::Cf::kFailed, lower, upper);
  size_t scanned = 0;
  std::string last;
  for (; cur->Valid(); cur->Next()) {
    if (page.items.size() >= options.limit || scanned >= options.max_scan) {
      page.cursor = kFailedCursorTag + HexEncode(last);
      return page;
    }
    ++scanned;
    last.assign(cur->key());
    auto entry = storage::ParseTimeIndexKey(cur->key());
    if (!entry) continue;  // `outpost queue check` reports it
    auto m = Load(entry->rcpt.msg_id);
    if (!m.ok() || !*m || !MessageMatches(f, (*m)->message)) continue;
    std::optional<std::string> first;
    for (const auto& r : (*m)->recipients) {
      if (!RecipientMatches(f, r)) continue;
      std::string key =
          storage::TimeIndexKey(r.failed_unix_ms(), {entry->rcpt.msg_id, r.idx()});
      if (!first || key < *first) first = std::move(key);
    }
    if (first && *first == cur->key()) page.items.push_back(std::move(**m));
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  return page;
}

}  // namespace outpost::queue
