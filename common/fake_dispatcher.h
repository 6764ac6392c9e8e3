#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "common/clock.h"
#include "common/dispatcher.h"

namespace outpost {

// A deterministic Dispatcher for tests. Nothing runs by itself: the test calls RunPending()
// to run posted callbacks, and Advance() to move the FakeClock and fire due timers in
// deadline order (running posted work after each one). Post() is thread-safe so a real
// background thread (the storage writer) can hand results back; RunUntil() waits for them.
class FakeDispatcher final : public Dispatcher {
 public:
  explicit FakeDispatcher(FakeClock& clock) : clock_(clock) {}
  ~FakeDispatcher() override;

  const Clock& clock() const override { return clock_; }
  void Post(Callback cb) override;
  std::unique_ptr<Timer> CreateTimer(Callback cb) override;
  bool IsLoopThread() const override { return true; }

  // Runs posted callbacks (including ones they post) until none are left. Returns how many ran.
  size_t RunPending();
  // Advances the clock by `d`, firing every timer that falls due, in order, at its deadline.
  void Advance(Millis d);
  // Runs posted work until `done()` holds, waiting up to `real_timeout` of real time for
  // other threads to post. Returns done().
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds real_timeout = std::chrono::seconds(10));

  // Deadline (monotonic ms) of the earliest armed timer, or -1.
  int64_t NextTimerDeadlineMsForTest() const;
  size_t ArmedTimerCountForTest() const { return armed_.size(); }

 private:
  friend class FakeTimer;
  int64_t NowMs() const;
  void Arm(uint64_t id, int64_t deadline_ms);
  void Disarm(uint64_t id);
  bool IsArmed(uint64_t id) const;

  FakeClock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Callback> posted_;                       // guarded by mu_
  uint64_t next_timer_id_ = 1;
  std::map<std::pair<int64_t, uint64_t>, uint64_t> armed_;  // (deadline, seq) -> timer id
  std::map<uint64_t, std::pair<int64_t, uint64_t>> key_of_;  // timer id -> key in armed_
  std::map<uint64_t, Callback*> callbacks_;                  // timer id -> callback
  uint64_t arm_seq_ = 0;
};

}  // namespace outpost
