#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace outpost::queue {

// Hands out 64-bit message ids: (unix ms << 16) | sequence, so ids sort by arrival and show as
// 16 hex digits. Strictly increasing for the life of the generator even if the wall clock
// steps back (then the ids keep counting up from the last one), and seeded at open from the
// highest id the store has ever issued, so a restart never reuses an id. Thread-safe.
class MessageIdGenerator {
 public:
  MessageIdGenerator(const Clock& clock, uint64_t highest_issued)
      : clock_(clock), last_(highest_issued) {}

  uint64_t Next();
  uint64_t last() const { return last_.load(); }

  static int64_t UnixMsOf(uint64_t id) { return static_cast<int64_t>(id >> 16); }

 private:
  const Clock& clock_;
  std::atomic<uint64_t> last_;
};

}  // namespace outpost::queue
