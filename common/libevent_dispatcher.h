#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "common/dispatcher.h"

struct event_base;
struct event;

namespace outpost {

// Dispatcher over a libevent event_base. Construct and Run() on the loop thread; Post() and
// Exit() may be called from any thread. Transports reach the raw base through base() to make
// bufferevents, evhttp servers and c-ares socket events.
class LibeventDispatcher final : public Dispatcher {
 public:
  explicit LibeventDispatcher(const Clock& clock = RealClock::Instance());
  ~LibeventDispatcher() override;
  LibeventDispatcher(const LibeventDispatcher&) = delete;
  LibeventDispatcher& operator=(const LibeventDispatcher&) = delete;

  const Clock& clock() const override { return clock_; }
  void Post(Callback cb) override;
  std::unique_ptr<Timer> CreateTimer(Callback cb) override;
  bool IsLoopThread() const override;

  // Runs the loop on the calling thread until Exit(). Posted callbacks still queued when the
  // loop exits are run before Run() returns, so nothing handed back is silently dropped.
  void Run();
  // Thread-safe. Makes Run() return after the current callback.
  void Exit();

  event_base* base() { return base_; }

 private:
  static void OnPostedEvent(int fd, short what, void* arg);
  void RunPosted();

  const Clock& clock_;
  event_base* base_ = nullptr;
  event* post_event_ = nullptr;
  std::mutex mu_;
  std::deque<Callback> posted_;  // guarded by mu_
  bool post_armed_ = false;      // guarded by mu_
  std::atomic<std::thread::id> loop_thread_;
};

}  // namespace outpost
