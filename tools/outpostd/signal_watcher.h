#pragma once

#include <functional>
#include <map>

#include "common/libevent_dispatcher.h"
#include "common/status.h"

struct event;

namespace outpost::daemon {

// Delivers POSIX signals as ordinary loop callbacks (libevent's signal events: the handler
// only writes to a socketpair, the callback runs on the loop thread), so SIGTERM/SIGHUP
// handling can take locks, log and touch any loop-owned object.
//
// Loop thread only; one watcher per process for a given signal. Destroying it restores the
// previous disposition of each watched signal.
class SignalWatcher {
 public:
  explicit SignalWatcher(LibeventDispatcher& dispatcher) : dispatcher_(dispatcher) {}
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // `cb` runs on the loop thread each time `signo` arrives (coalesced if several arrive
  // before the loop turns).
  Status Watch(int signo, std::function<void()> cb);

 private:
  static void OnSignal(int signo, short what, void* arg);

  LibeventDispatcher& dispatcher_;
  struct Entry {
    event* ev = nullptr;
    std::function<void()> cb;
  };
  std::map<int, Entry> entries_;
};

}  // namespace outpost::daemon
