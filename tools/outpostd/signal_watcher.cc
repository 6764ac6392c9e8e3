#include "tools/outpostd/signal_watcher.h"

#include <event2/event.h>

#include <csignal>
#include <string>

namespace outpost::daemon {

SignalWatcher::~SignalWatcher() {
  for (auto& [signo, entry] : entries_) {
    event_free(entry.ev);  // also removes libevent's handler, restoring the old one
  }
}

Status SignalWatcher::Watch(int signo, std::function<void()> cb) {
  if (entries_.count(signo) != 0) {
    return Status::AlreadyExists("signal " + std::to_string(signo) + " already watched");
  }
  Entry& e = entries_[signo];
  e.cb = std::move(cb);
  e.ev = evsignal_new(dispatcher_.base(), signo, &SignalWatcher::OnSignal, this);
  if (e.ev == nullptr || evsignal_add(e.ev, nullptr) != 0) {
    if (e.ev != nullptr) event_free(e.ev);
    entries_.erase(signo);
    return Status::Internal("cannot watch signal " + std::to_string(signo));
  }
  return Status::Ok();
}

void SignalWatcher::OnSignal(int signo, short /*what*/, void* arg) {
  auto* self = static_cast<SignalWatcher*>(arg);
  auto it = self->entries_.find(signo);
  if (it != self->entries_.end()) it->second.cb();
}

}  // namespace outpost::daemon
