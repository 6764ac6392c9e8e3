#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "transport/server/ingest_sink.h"
#include "transport/server/smtp_listener.h"

namespace outpost::smtp_server::testing {

// Records submissions. Can fail them, or hold them until the test releases them, to show that
// the 250 comes only after the queue says so. Submit() runs on the loop thread; the rest is
// read from the test thread under the mutex.
class FakeSink final : public IngestSink {
 public:
  void Submit(IngestedMessage message, Done done) override {
    std::optional<Status> fail;
    {
      std::lock_guard<std::mutex> lock(mu_);
      messages_.push_back(std::move(message));
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      fail = fail_;
    }
    if (fail) {
      done(*fail);
    } else {
      done(next_id_++);
    }
  }
  bool BelowFreeSpaceWatermark() override { return below_watermark_.load(); }

  std::vector<IngestedMessage> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_.size();
  }
  void set_fail(std::optional<Status> s) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(s);
  }
  void set_hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  void set_below_watermark(bool v) { below_watermark_ = v; }
  // Loop thread only: completes held submissions in order.
  void ReleaseHeld() {
    std::vector<Done> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& d : held) d(next_id_++);
  }

 private:
  std::mutex mu_;
  std::vector<IngestedMessage> messages_;
  std::optional<Status> fail_;
  bool hold_ = false;
  std::vector<Done> held_;
  std::atomic<bool> below_watermark_{false};
  uint64_t next_id_ = 0x100;  // loop thread only
};

// A listener on 127.0.0.1:<free port> running on its own loop thread.
class ServerFixture {
 public:
  // Binds 127.0.0.1 on a free port unless the options name another loopback address.
  explicit ServerFixture(ListenerOptions options) {
    if (options.bind == ListenerOptions().bind) options.bind = "127.0.0.1:0";
    auto l = SmtpListener::Create(dispatcher_, std::move(options), sink_);
    if (!l.ok()) {
      error_ = l.status();
      return;
    }
    listener_ = std::move(*l);
    port_ = listener_->port();
    loop_ = std::thread([this] { dispatcher_.Run(); });
  }
  ~ServerFixture() {
    if (loop_.joinable()) {
      RunOnLoop([this] {
        listener_.reset();
        return 0;
      });
      dispatcher_.Exit();
      loop_.join();
    }
  }

  // Runs `f` on the loop thread and returns its result.
  template <typename F>
  auto RunOnLoop(F f) -> decltype(f()) {
    std::promise<decltype(f())> p;
    auto fut = p.get_future();
    dispatcher_.Post([&] { p.set_value(f()); });
    return fut.get();
  }
  // Completes the sink's held submissions on the loop thread.
  void ReleaseHeld() {
    RunOnLoop([this] {
      sink_.ReleaseHeld();
      return 0;
    });
  }
  size_t SessionCount() {
    return RunOnLoop([this] { return listener_ ? listener_->session_count() : 0; });
  }

  const Status& error() const { return error_; }
  int port() const { return port_; }
  FakeSink& sink() { return sink_; }
  // Loop thread only (use RunOnLoop).
  SmtpListener& listener() { return *listener_; }
  LibeventDispatcher& dispatcher() { return dispatcher_; }

 private:
  LibeventDispatcher dispatcher_;
  FakeSink sink_;
  Status error_;
  std::unique_ptr<SmtpListener> listener_;
  int port_ = 0;
  std::thread loop_;
};

}  // namespace outpost::smtp_server::testing
