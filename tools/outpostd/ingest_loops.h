#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "transport/server/ingest_sink.h"
#include "transport/server/listener_options.h"
#include "transport/server/smtp_listener.h"

namespace outpost::daemon {

// The SMTP listeners of outpostd and the event loops their sessions run on.
//
// With `threads` = 0 the listeners run on the main loop (the one of the scheduler, the SMTP
// client and the store's completions). With N > 0 they run on N ingest loop threads of their
// own, every loop accepting on the one socket of each address (SmtpListener::CreateGroup), so
// reading commands and bodies neither waits behind delivery work nor is limited to the main
// loop's share of one core. Only the queue's sink stays on the main loop: a session's Submit
// is posted to the main loop, and its completion (after the synced write, as always) is posted
// back to the session's loop. Nothing else crosses threads.
//
// Threading: construct, AddListener, Start, StopAccepting, Stop and destroy on the main loop's
// thread (or before it runs). `main` and `sink` must outlive this object's Stop().
class IngestLoops {
 public:
  IngestLoops(size_t threads, LibeventDispatcher& main, smtp_server::IngestSink& sink);
  ~IngestLoops();  // Stop()
  IngestLoops(const IngestLoops&) = delete;
  IngestLoops& operator=(const IngestLoops&) = delete;

  // Binds one configured listener on every loop. Before Start() only.
  Status AddListener(smtp_server::ListenerOptions options);
  // Runs the ingest loop threads.
  void Start();
  // Stops accepting on every listener (graceful drain); open sessions carry on.
  void StopAccepting();
  // Closes every listener and session on its own loop, once the replies the sessions hold
  // (a 250 above all) are written or after 1 s, then ends and joins the threads.
  // Idempotent. Completions arriving later are dropped (their sessions are gone).
  void Stop();

  // Messages the sessions of the ingest loops have submitted whose completion has not yet been
  // posted back to their loop (waiting for the main loop, or in the store). Any thread.
  size_t in_flight_submissions() const { return gate_->in_flight.load(); }
  // Main loop thread, once the daemon has decided to stop: a submission that reaches the main
  // loop from now on (a session still open during the drain, or the loop's drain after
  // Exit()) completes at once with a temporary error (451) instead of being stored, maybe
  // with nobody left to send its 250 (the client would send it again: a duplicate).
  void RefuseSubmissions() { gate_->refusing.store(true); }

  // The bound port of each configured listener, in AddListener order.
  std::vector<int> ports() const { return ports_; }
  size_t loop_count() const { return loops_.size(); }
  // Open sessions on each loop (ingest loops: index 0..threads-1; threads = 0: the main loop).
  // Blocks until every loop has answered; from a thread that is none of the loops.
  std::vector<size_t> SessionCountsForTest();

 private:
  class Loop;
  class BridgeSink;
  class GatedSink;
  struct SubmitGate {
    std::atomic<size_t> in_flight{0};
    std::atomic<bool> refusing{false};
  };

  LibeventDispatcher& main_;
  smtp_server::IngestSink& sink_;
  std::shared_ptr<SubmitGate> gate_ = std::make_shared<SubmitGate>();
  std::vector<std::unique_ptr<Loop>> loops_;  // empty: listeners on the main loop
  std::unique_ptr<smtp_server::IngestSink> main_sink_;  // threads = 0: sink_ behind gate_
  std::vector<std::unique_ptr<smtp_server::SmtpListener>> main_listeners_;
  std::vector<int> ports_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace outpost::daemon
