#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "transport/server/connection_counter.h"
#include "transport/server/ingest_sink.h"
#include "transport/server/listener_options.h"
#include "transport/server/recipient_policy.h"
#include "transport/server/server_tls.h"
#include "transport/server/smtp_session.h"
#include "transport/server/socket_address.h"

struct evconnlistener;

namespace outpost::smtp_server {

// The SMTP ingest listener: accepts connections on one address and runs an SmtpSession for
// each. Complete messages go to the IngestSink; this folder knows nothing of the queue.
//
// Several event loops: CreateGroup() gives one listener per loop on the same address, all
// accepting on one socket bound once without SO_REUSEPORT (the others hold dup()s of it, so a
// second listener or daemon on the address still fails with EADDRINUSE; whichever loop wakes
// first accepts a new connection), each with its own sessions, so sessions of one address run
// on several threads. They share one ConnectionCounter, so maxConnectionsPerIp holds for the
// address as a whole.
//
// Threading: create, use and destroy on the dispatcher's loop thread (or before Run()).
// `dispatcher` and `sink` must outlive the listener. Destroying the listener closes the
// listening socket and every open session (in-flight submissions complete into nothing).
class SmtpListener {
 public:
  // Validates `options`, loads the TLS certificate and binds. Errors are clear and name the
  // field or file (bind failures say which address).
  static StatusOr<std::unique_ptr<SmtpListener>> Create(LibeventDispatcher& dispatcher,
                                                        ListenerOptions options, IngestSink& sink);

  // One event loop of a group: its dispatcher, and the sink its sessions submit to (called on
  // that loop's thread).
  struct Loop {
    LibeventDispatcher* dispatcher = nullptr;
    IngestSink* sink = nullptr;
  };
  // One listener per entry of `loops`, all accepting on one socket bound to `options.bind`
  // (with port 0 every member has the port the kernel picked). One loop: exactly Create(). Each
  // listener belongs to its loop's thread. Not reversible in part: on error none is returned.
  static StatusOr<std::vector<std::unique_ptr<SmtpListener>>> CreateGroup(
      ListenerOptions options, const std::vector<Loop>& loops);
  ~SmtpListener();
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  // Closes the listening socket (for a graceful drain); open sessions carry on until their
  // clients QUIT or time out. Not reversible.
  void StopAccepting();

  // The bound port (useful with "127.0.0.1:0").
  int port() const { return port_; }
  size_t session_count() const { return sessions_.size(); }
  // Reply bytes its sessions have not yet written to their sockets.
  size_t pending_output() const;

 private:
  SmtpListener(LibeventDispatcher& dispatcher, ListenerOptions options, IngestSink& sink,
               RecipientPolicy policy, SslCtxPtr tls,
               std::shared_ptr<ConnectionCounter> connections);
  // Binds and listens on `addr` (no SO_REUSEPORT: a busy address is an error).
  Status Bind(const SocketAddress& addr);
  // Accepts on a dup() of `fd`, the listening socket of the group's first member.
  Status Share(int fd);
  // After Bind/Share: the accept-error pause and the bound port.
  void Listening();
  static void OnAccept(evconnlistener* l, int fd, sockaddr* addr, int len, void* arg);
  static void OnAcceptError(evconnlistener* l, void* arg);
  void PauseAccepting();
  void Accept(int fd, const sockaddr* addr);
  void OnSessionFinished(SmtpSession* session, bool counted);

  LibeventDispatcher& dispatcher_;
  const ListenerOptions options_;
  const RecipientPolicy policy_;
  SslCtxPtr tls_;
  SessionContext ctx_;
  evconnlistener* listener_ = nullptr;
  int port_ = 0;
  bool stopped_ = false;
  std::unique_ptr<Timer> resume_timer_;  // re-enables accepting after an accept() error
  std::unordered_map<SmtpSession*, std::unique_ptr<SmtpSession>> sessions_;
  // Only sessions that count toward the limit; shared by the listeners of a group.
  std::shared_ptr<ConnectionCounter> connections_;
};

}  // namespace outpost::smtp_server
