#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "transport/server/ingest_sink.h"
#include "transport/server/listener_options.h"
#include "transport/server/recipient_policy.h"
#include "transport/server/server_tls.h"
#include "transport/server/smtp_session.h"

struct evconnlistener;

namespace outpost::smtp_server {

// The SMTP ingest listener: accepts connections on one address and runs an SmtpSession for
// each. Complete messages go to the IngestSink; this folder knows nothing of the queue.
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
  ~SmtpListener();
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  // Closes the listening socket (for a graceful drain); open sessions carry on until their
  // clients QUIT or time out. Not reversible.
  void StopAccepting();

  // The bound port (useful with "127.0.0.1:0").
  int port() const { return port_; }
  size_t session_count() const { return sessions_.size(); }

 private:
  SmtpListener(LibeventDispatcher& dispatcher, ListenerOptions options, IngestSink& sink,
               RecipientPolicy policy, SslCtxPtr tls);
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
  std::map<std::string, int> connections_per_ip_;  // only sessions that count toward the limit
};

}  // namespace outpost::smtp_server
