#include "common/libevent_dispatcher.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <cstdlib>
#include <mutex>

namespace outpost {
namespace {

void EnableLibeventThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (evthread_use_pthreads() != 0) std::abort();
  });
}

class LibeventTimer final : public Timer {
 public:
  LibeventTimer(event_base* base, Dispatcher::Callback cb) : cb_(std::move(cb)) {
    ev_ = evtimer_new(base, &LibeventTimer::OnFire, this);
    if (ev_ == nullptr) std::abort();
  }
  ~LibeventTimer() override { event_free(ev_); }

  void Enable(Millis delay) override {
    auto ms = delay.count() < 0 ? 0 : delay.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    evtimer_add(ev_, &tv);
  }
  void Disable() override { evtimer_del(ev_); }
  bool Enabled() const override { return evtimer_pending(ev_, nullptr) != 0; }

 private:
  static void OnFire(int, short, void* arg) {
    auto* self = static_cast<LibeventTimer*>(arg);
    self->cb_();  // may destroy `self`; nothing touches it afterwards
  }
  Dispatcher::Callback cb_;
  event* ev_ = nullptr;
};

}  // namespace

LibeventDispatcher::LibeventDispatcher(const Clock& clock) : clock_(clock) {
  EnableLibeventThreads();
  base_ = event_base_new();
  if (base_ == nullptr) std::abort();
  post_event_ = event_new(base_, -1, 0, &LibeventDispatcher::OnPostedEvent, this);
  loop_thread_ = std::this_thread::get_id();
}

LibeventDispatcher::~LibeventDispatcher() {
  event_free(post_event_);
  event_base_free(base_);
}

void LibeventDispatcher::Post(Callback cb) {
  std::lock_guard<std::mutex> lock(mu_);
  posted_.push_back(std::move(cb));
  if (!post_armed_) {
    post_armed_ = true;
    event_active(post_event_, EV_READ, 0);
  }
}

void LibeventDispatcher::OnPostedEvent(int, short, void* arg) {
  static_cast<LibeventDispatcher*>(arg)->RunPosted();
}

void LibeventDispatcher::RunPosted() {
  std::deque<Callback> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(posted_);
    // post_armed_ stays true while the batch runs, so what is posted meanwhile (by the batch
    // itself or by other threads) does not re-activate the event within this pass.
  }
  for (auto& cb : batch) cb();
  std::lock_guard<std::mutex> lock(mu_);
  if (posted_.empty()) {
    post_armed_ = false;
    return;
  }
  // Run the next batch after the loop has polled I/O once. libevent runs an event activated
  // during its active-queue pass (event_active) in that same pass, so a chain of posts (the
  // scheduler's pump, store completions, agent results) kept the loop from ever reading a
  // socket or firing a timer: scheduler_bench reached epoll 146 times in 20 s, and the relay
  // backlog test's listener stopped accepting for minutes. A zero timeout is only processed
  // after the next (non-blocking) poll.
  static const timeval kZero{0, 0};
  event_add(post_event_, &kZero);
}

std::unique_ptr<Timer> LibeventDispatcher::CreateTimer(Callback cb) {
  return std::make_unique<LibeventTimer>(base_, std::move(cb));
}

bool LibeventDispatcher::IsLoopThread() const {
  return std::this_thread::get_id() == loop_thread_.load();
}

void LibeventDispatcher::Run() {
  loop_thread_ = std::this_thread::get_id();
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  // Drain what was handed back while we were stopping.
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (posted_.empty()) break;
    }
    RunPosted();
  }
}

void LibeventDispatcher::Exit() { event_base_loopbreak(base_); }

}  // namespace outpost
