#include "tools/outpostd/ingest_loops.h"

#include <pthread.h>

#include <future>
#include <string>
#include <utility>

#include "common/logging.h"

namespace outpost::daemon {

using smtp_server::IngestedMessage;
using smtp_server::IngestSink;
using smtp_server::SmtpListener;

// One ingest loop thread: its dispatcher, the listeners bound on it, and the way back to it
// for completions that come from the main loop.
class IngestLoops::Loop {
 public:
  // Posts to the loop while it runs; after Close() posts are dropped (the loop's sessions are
  // gone, and its dispatcher may be too).
  class Mailbox {
   public:
    explicit Mailbox(LibeventDispatcher* d) : dispatcher_(d) {}
    void Post(Dispatcher::Callback cb) {
      std::lock_guard<std::mutex> lock(mu_);
      if (dispatcher_ != nullptr) dispatcher_->Post(std::move(cb));
    }
    void Close() {
      std::lock_guard<std::mutex> lock(mu_);
      dispatcher_ = nullptr;
    }

   private:
    std::mutex mu_;
    LibeventDispatcher* dispatcher_;  // guarded by mu_
  };

  Loop(LibeventDispatcher& main, IngestSink& sink, std::shared_ptr<SubmitGate> gate);
  ~Loop() { Stop(); }

  // Null once stopped.
  LibeventDispatcher* dispatcher() { return dispatcher_.get(); }
  IngestSink& bridge() { return *bridge_; }
  std::vector<std::unique_ptr<SmtpListener>>& listeners() { return listeners_; }

  void Start(size_t index) {
    thread_ = std::thread([this, index] {
      // Named for top -H, perf and /proc/PID/task: "ingest-0", "ingest-1", ...
      pthread_setname_np(pthread_self(), ("ingest-" + std::to_string(index)).c_str());
      dispatcher_->Run();
    });
  }
  void Stop() {
    if (dispatcher_ == nullptr) return;
    mailbox_->Close();
    if (thread_.joinable()) {
      dispatcher_->Post([this] { CloseWhenFlushed(); });
      thread_.join();
    }
    listeners_.clear();  // never ran: nothing else touches them
    // libevent closes a freed bufferevent's socket in a finalizer that runs on the loop's next
    // turn or when the base is freed: free it now, so clients see the close at once.
    dispatcher_.reset();
  }

 private:
  static constexpr Millis kFlushPoll{10};
  static constexpr int kMaxFlushPolls = 100;  // a client that does not read gets 1 s

  // Loop thread: closes the sockets and every session once the replies already handed to
  // the sessions have reached their sockets (closing at once would drop a 250 whose message
  // is stored: the client retries and the message is queued twice), then ends the loop.
  void CloseWhenFlushed() {
    size_t pending = 0;
    for (auto& l : listeners_) pending += l->pending_output();
    if (pending > 0 && ++flush_polls_ <= kMaxFlushPolls) {
      if (!flush_timer_) flush_timer_ = dispatcher_->CreateTimer([this] { CloseWhenFlushed(); });
      flush_timer_->Enable(kFlushPoll);
      return;
    }
    flush_timer_.reset();
    listeners_.clear();
    dispatcher_->Exit();
  }

  std::unique_ptr<LibeventDispatcher> dispatcher_;
  std::shared_ptr<Mailbox> mailbox_;
  std::unique_ptr<IngestSink> bridge_;
  std::vector<std::unique_ptr<SmtpListener>> listeners_;  // used on the loop thread only
  std::thread thread_;
  std::unique_ptr<Timer> flush_timer_;  // loop thread only
  int flush_polls_ = 0;
};

// The sink the sessions of one ingest loop see: the queue's sink on the main loop, reached
// by posting, with the completion posted back.
class IngestLoops::BridgeSink final : public IngestSink {
 public:
  BridgeSink(LibeventDispatcher& main, IngestSink& inner, std::shared_ptr<Loop::Mailbox> back,
             std::shared_ptr<SubmitGate> gate)
      : main_(main), inner_(inner), back_(std::move(back)), gate_(std::move(gate)) {}

  // In flight from here until the completion is in the session loop's mailbox: the daemon
  // exits only when none is (its 250 could otherwise be lost with the message stored).
  void Submit(IngestedMessage message, Done done) override {
    gate_->in_flight.fetch_add(1);
    main_.Post([inner = &inner_, back = back_, gate = gate_, message = std::move(message),
                done = std::move(done)]() mutable {
      auto post_back = [back, gate, done = std::move(done)](StatusOr<uint64_t> id) mutable {
        back->Post([done = std::move(done), id = std::move(id)]() { done(id); });
        gate->in_flight.fetch_sub(1);
      };
      if (gate->refusing.load()) {
        post_back(Status::Unavailable("outpostd is stopping"));
        return;
      }
      inner->Submit(std::move(message), std::move(post_back));
    });
  }
  // The queue sink's watermark check is a statvfs of a fixed path: safe on any thread.
  bool BelowFreeSpaceWatermark() override { return inner_.BelowFreeSpaceWatermark(); }

 private:
  LibeventDispatcher& main_;
  IngestSink& inner_;
  std::shared_ptr<Loop::Mailbox> back_;
  std::shared_ptr<SubmitGate> gate_;
};

// The sink of sessions on the main loop (threads = 0): the queue's sink behind the same gate and
// in-flight count as the ingest loops' bridges.
class IngestLoops::GatedSink final : public IngestSink {
 public:
  GatedSink(LibeventDispatcher& main, IngestSink& inner, std::shared_ptr<SubmitGate> gate)
      : main_(main), inner_(inner), gate_(std::move(gate)) {}

  void Submit(IngestedMessage message, Done done) override {
    if (gate_->refusing.load()) {
      main_.Post([done = std::move(done)]() { done(Status::Unavailable("outpostd is stopping")); });
      return;
    }
    gate_->in_flight.fetch_add(1);
    inner_.Submit(std::move(message), [gate = gate_, done = std::move(done)](StatusOr<uint64_t> id) {
      done(std::move(id));  // the session queues its reply here, on this loop
      gate->in_flight.fetch_sub(1);
    });
  }
  bool BelowFreeSpaceWatermark() override { return inner_.BelowFreeSpaceWatermark(); }

 private:
  LibeventDispatcher& main_;
  IngestSink& inner_;
  std::shared_ptr<SubmitGate> gate_;
};

IngestLoops::Loop::Loop(LibeventDispatcher& main, IngestSink& sink,
                        std::shared_ptr<SubmitGate> gate)
    : dispatcher_(std::make_unique<LibeventDispatcher>()),
      mailbox_(std::make_shared<Mailbox>(dispatcher_.get())),
      bridge_(std::make_unique<BridgeSink>(main, sink, mailbox_, std::move(gate))) {}

IngestLoops::IngestLoops(size_t threads, LibeventDispatcher& main, IngestSink& sink)
    : main_(main), sink_(sink), main_sink_(std::make_unique<GatedSink>(main, sink, gate_)) {
  for (size_t i = 0; i < threads; ++i) {
    loops_.push_back(std::make_unique<Loop>(main_, sink_, gate_));
  }
}

IngestLoops::~IngestLoops() { Stop(); }

Status IngestLoops::AddListener(smtp_server::ListenerOptions options) {
  if (loops_.empty()) {
    OUTPOST_ASSIGN_OR_RETURN(auto l, SmtpListener::Create(main_, std::move(options), *main_sink_));
    ports_.push_back(l->port());
    main_listeners_.push_back(std::move(l));
    return Status::Ok();
  }
  std::vector<SmtpListener::Loop> group;
  for (auto& loop : loops_) group.push_back({loop->dispatcher(), &loop->bridge()});
  OUTPOST_ASSIGN_OR_RETURN(auto listeners, SmtpListener::CreateGroup(std::move(options), group));
  ports_.push_back(listeners.front()->port());
  for (size_t i = 0; i < loops_.size(); ++i) {
    loops_[i]->listeners().push_back(std::move(listeners[i]));
  }
  return Status::Ok();
}

void IngestLoops::Start() {
  if (started_ || stopped_) return;
  started_ = true;
  for (size_t i = 0; i < loops_.size(); ++i) loops_[i]->Start(i);
}

void IngestLoops::StopAccepting() {
  if (stopped_) return;
  for (auto& l : main_listeners_) l->StopAccepting();
  for (auto& loop : loops_) {
    Loop* raw = loop.get();
    raw->dispatcher()->Post([raw] {
      for (auto& l : raw->listeners()) l->StopAccepting();
    });
  }
}

void IngestLoops::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) loop->Stop();
  main_listeners_.clear();
}

std::vector<size_t> IngestLoops::SessionCountsForTest() {
  std::vector<size_t> counts;
  if (stopped_) return counts;
  if (loops_.empty()) {
    size_t n = 0;
    for (auto& l : main_listeners_) n += l->session_count();
    counts.push_back(n);
    return counts;
  }
  for (auto& loop : loops_) {
    std::promise<size_t> p;
    Loop* raw = loop.get();
    raw->dispatcher()->Post([raw, &p] {
      size_t n = 0;
      for (auto& l : raw->listeners()) n += l->session_count();
      p.set_value(n);
    });
    counts.push_back(p.get_future().get());
  }
  return counts;
}

}  // namespace outpost::daemon
