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

  Loop(LibeventDispatcher& main, IngestSink& sink);
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
      dispatcher_->Post([this] {
        listeners_.clear();  // the sockets and every session, on their own thread
        dispatcher_->Exit();
      });
      thread_.join();
    }
    listeners_.clear();  // never ran: nothing else touches them
    // libevent closes a freed bufferevent's socket in a finalizer that runs on the loop's next
    // turn or when the base is freed: free it now, so clients see the close at once.
    dispatcher_.reset();
  }

 private:
  std::unique_ptr<LibeventDispatcher> dispatcher_;
  std::shared_ptr<Mailbox> mailbox_;
  std::unique_ptr<IngestSink> bridge_;
  std::vector<std::unique_ptr<SmtpListener>> listeners_;  // used on the loop thread only
  std::thread thread_;
};

// The sink the sessions of one ingest loop see: the queue's sink on the main loop, reached
// by posting, with the completion posted back.
class IngestLoops::BridgeSink final : public IngestSink {
 public:
  BridgeSink(LibeventDispatcher& main, IngestSink& inner, std::shared_ptr<Loop::Mailbox> back)
      : main_(main), inner_(inner), back_(std::move(back)) {}

  void Submit(IngestedMessage message, Done done) override {
    main_.Post([inner = &inner_, back = back_, message = std::move(message),
                done = std::move(done)]() mutable {
      inner->Submit(std::move(message),
                    [back, done = std::move(done)](StatusOr<uint64_t> id) mutable {
                      back->Post([done = std::move(done), id = std::move(id)]() { done(id); });
                    });
    });
  }
  // The queue sink's watermark check is a statvfs of a fixed path: safe on any thread.
  bool BelowFreeSpaceWatermark() override { return inner_.BelowFreeSpaceWatermark(); }

 private:
  LibeventDispatcher& main_;
  IngestSink& inner_;
  std::shared_ptr<Loop::Mailbox> back_;
};

IngestLoops::Loop::Loop(LibeventDispatcher& main, IngestSink& sink)
    : dispatcher_(std::make_unique<LibeventDispatcher>()),
      mailbox_(std::make_shared<Mailbox>(dispatcher_.get())),
      bridge_(std::make_unique<BridgeSink>(main, sink, mailbox_)) {}

IngestLoops::IngestLoops(size_t threads, LibeventDispatcher& main, IngestSink& sink)
    : main_(main), sink_(sink) {
  for (size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(main_, sink_));
}

IngestLoops::~IngestLoops() { Stop(); }

Status IngestLoops::AddListener(smtp_server::ListenerOptions options) {
  if (loops_.empty()) {
    OUTPOST_ASSIGN_OR_RETURN(auto l, SmtpListener::Create(main_, std::move(options), sink_));
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
