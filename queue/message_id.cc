#include "queue/message_id.h"

#include <algorithm>

namespace outpost::queue {

uint64_t MessageIdGenerator::Next() {
  int64_t ms = std::max<int64_t>(clock_.NowUnixMs(), 0);
  uint64_t from_clock = static_cast<uint64_t>(ms) << 16;
  uint64_t prev = last_.load();
  uint64_t next;
  do {
    next = std::max(from_clock, prev + 1);
  } while (!last_.compare_exchange_weak(prev, next));
  return next;
}

}  // namespace outpost::queue
