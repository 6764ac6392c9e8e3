#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/clock.h"

namespace outpost {

// A one-shot timer owned by the code that created it. All methods are called on the loop
// thread. Destroying a timer cancels it; its callback never runs after destruction.
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer to fire once after `delay`. Re-enabling replaces the previous deadline.
  virtual void Enable(Millis delay) = 0;
  virtual void Disable() = 0;
  virtual bool Enabled() const = 0;
};

// The event loop seen by the rest of Outpost: posted work, timers and a clock. One thread
// runs the loop; only Post() may be called from other threads. The real one is
// LibeventDispatcher; tests use FakeDispatcher, driven by a FakeClock.
class Dispatcher {
 public:
  using Callback = std::function<void()>;
  virtual ~Dispatcher() = default;

  virtual const Clock& clock() const = 0;

  // Thread-safe. Runs `cb` on the loop thread, after the current callback returns, in the
  // order posted. This is how other threads (the storage writer) hand results back.
  virtual void Post(Callback cb) = 0;

  // Loop thread only. The callback runs on the loop thread.
  virtual std::unique_ptr<Timer> CreateTimer(Callback cb) = 0;

  // True when called from the thread that runs the loop.
  virtual bool IsLoopThread() const = 0;

  // Destroys `object` on the loop thread after the current callback returns. Use this instead
  // of deleting an object from inside its own callback.
  template <typename T>
  void DeferredDelete(std::unique_ptr<T> object) {
    std::shared_ptr<T> holder(std::move(object));
    Post([holder]() mutable { holder.reset(); });
  }
};

}  // namespace outpost
