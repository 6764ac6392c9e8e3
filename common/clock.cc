#include "common/clock.h"

namespace outpost {

RealClock& RealClock::Instance() {
  static RealClock clock;
  return clock;
}

FakeClock::FakeClock(int64_t start_unix_ms) : ms_(start_unix_ms) {}

SystemTime FakeClock::Now() const {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      Millis(ms_.load() + wall_offset_ms_.load())));
}

MonotonicTime FakeClock::MonotonicNow() const {
  return MonotonicTime(std::chrono::duration_cast<MonotonicTime::duration>(Millis(ms_.load())));
}

}  // namespace outpost
