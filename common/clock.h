#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace outpost {

using SystemTime = std::chrono::system_clock::time_point;
using MonotonicTime = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

// The only source of "now". Code outside RealClock never calls system_clock::now(), so time
// can be faked in tests. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;              // wall clock: timestamps, due times
  virtual MonotonicTime MonotonicNow() const = 0;  // durations and timeouts

  int64_t NowUnixMs() const {
    return std::chrono::duration_cast<Millis>(Now().time_since_epoch()).count();
  }
};

class RealClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
  MonotonicTime MonotonicNow() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance for composition roots.
  static RealClock& Instance();
};

// Time stands still until Advance()/SetNow(). Both clocks move together.
class FakeClock final : public Clock {
 public:
  // Starts at 2026-01-01T00:00:00Z unless told otherwise.
  explicit FakeClock(int64_t start_unix_ms = 1767225600000);

  SystemTime Now() const override;
  MonotonicTime MonotonicNow() const override;

  void Advance(Millis d) { ms_ += d.count(); }
  // Moves only the wall clock (a clock step); the monotonic clock is unaffected.
  void StepWallClock(Millis d) { wall_offset_ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_;
  std::atomic<int64_t> wall_offset_ms_{0};
};

inline int64_t ToUnixMs(SystemTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}
inline SystemTime FromUnixMs(int64_t ms) { return SystemTime(Millis(ms)); }

}  // namespace outpost
