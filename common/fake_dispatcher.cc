#include "common/fake_dispatcher.h"

namespace outpost {

class FakeTimer final : public Timer {
 public:
  FakeTimer(FakeDispatcher& d, uint64_t id, Dispatcher::Callback cb)
      : d_(d), id_(id), cb_(std::move(cb)) {
    d_.callbacks_[id_] = &cb_;
  }
  ~FakeTimer() override {
    d_.Disarm(id_);
    d_.callbacks_.erase(id_);
  }
  void Enable(Millis delay) override {
    int64_t ms = delay.count() < 0 ? 0 : delay.count();
    d_.Arm(id_, d_.NowMs() + ms);
  }
  void Disable() override { d_.Disarm(id_); }
  bool Enabled() const override { return d_.IsArmed(id_); }

 private:
  FakeDispatcher& d_;
  uint64_t id_;
  Dispatcher::Callback cb_;
};

FakeDispatcher::~FakeDispatcher() = default;

int64_t FakeDispatcher::NowMs() const {
  return std::chrono::duration_cast<Millis>(clock_.MonotonicNow().time_since_epoch()).count();
}

void FakeDispatcher::Post(Callback cb) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(cb));
  }
  cv_.notify_all();
}

std::unique_ptr<Timer> FakeDispatcher::CreateTimer(Callback cb) {
  return std::make_unique<FakeTimer>(*this, next_timer_id_++, std::move(cb));
}

void FakeDispatcher::Arm(uint64_t id, int64_t deadline_ms) {
  Disarm(id);
  auto key = std::make_pair(deadline_ms, arm_seq_++);
  armed_[key] = id;
  key_of_[id] = key;
}

void FakeDispatcher::Disarm(uint64_t id) {
  auto it = key_of_.find(id);
  if (it == key_of_.end()) return;
  armed_.erase(it->second);
  key_of_.erase(it);
}

bool FakeDispatcher::IsArmed(uint64_t id) const { return key_of_.count(id) != 0; }

size_t FakeDispatcher::RunPending() {
  size_t ran = 0;
  for (;;) {
    Callback cb;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (posted_.empty()) return ran;
      cb = std::move(posted_.front());
      posted_.pop_front();
    }
    cb();
    ++ran;
  }
}

void FakeDispatcher::Advance(Millis d) {
  const int64_t target = NowMs() + d.count();
  RunPending();
  for (;;) {
    if (armed_.empty() || armed_.begin()->first.first > target) break;
    auto [key, id] = *armed_.begin();
    int64_t deadline = key.first;
    if (deadline > NowMs()) clock_.Advance(Millis(deadline - NowMs()));
    Disarm(id);
    auto cb_it = callbacks_.find(id);
    if (cb_it != callbacks_.end()) (*cb_it->second)();  // may destroy the timer
    RunPending();
  }
  if (target > NowMs()) clock_.Advance(Millis(target - NowMs()));
  RunPending();
}

bool FakeDispatcher::RunUntil(const std::function<bool()>& done,
                              std::chrono::milliseconds real_timeout) {
  auto deadline = std::chrono::steady_clock::now() + real_timeout;
  for (;;) {
    RunPending();
    if (done()) return true;
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return !posted_.empty(); })) {
      lock.unlock();
      RunPending();
      return done();
    }
  }
}

int64_t FakeDispatcher::NextTimerDeadlineMsForTest() const {
  return armed_.empty() ? -1 : armed_.begin()->first.first;
}

}  // namespace outpost
