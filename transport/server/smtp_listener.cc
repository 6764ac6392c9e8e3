#include "transport/server/smtp_listener.h"

#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "transport/server/socket_address.h"

namespace outpost::smtp_server {
namespace {

constexpr Millis kAcceptPause{100};

}  // namespace

StatusOr<std::unique_ptr<SmtpListener>> SmtpListener::Create(LibeventDispatcher& dispatcher,
                                                             ListenerOptions options,
                                                             IngestSink& sink) {
  OUTPOST_ASSIGN_OR_RETURN(auto group, CreateGroup(std::move(options), {{&dispatcher, &sink}}));
  return std::move(group.front());
}

StatusOr<std::vector<std::unique_ptr<SmtpListener>>> SmtpListener::CreateGroup(
    ListenerOptions options, const std::vector<Loop>& loops) {
  if (loops.empty()) return Status::InvalidArgument("listener " + options.name + ": no event loop");
  OUTPOST_RETURN_IF_ERROR(ValidateListenerOptions(options));
  OUTPOST_ASSIGN_OR_RETURN(RecipientPolicy policy, RecipientPolicy::Create(options));
  OUTPOST_ASSIGN_OR_RETURN(SocketAddress addr, ParseSocketAddress(options.bind));
  auto connections = std::make_shared<ConnectionCounter>();
  // One socket per address, bound without SO_REUSEPORT so that a second listener or daemon on
  // the same address fails with EADDRINUSE instead of silently taking a share of the
  // connections. The other loops listen on dup()s of it; whichever loop is free accepts.
  int shared_fd = -1;
  std::vector<std::unique_ptr<SmtpListener>> group;
  for (const Loop& loop : loops) {
    SslCtxPtr tls;
    if (!options.tls_cert_file.empty()) {
      OUTPOST_ASSIGN_OR_RETURN(
          tls, CreateServerTlsContext(options.tls_cert_file, options.tls_key_file));
    }
    std::unique_ptr<SmtpListener> l(new SmtpListener(*loop.dispatcher, options, *loop.sink, policy,
                                                     std::move(tls), connections));
    if (group.empty()) {
      OUTPOST_RETURN_IF_ERROR(l->Bind(addr));
      shared_fd = evconnlistener_get_fd(l->listener_);
    } else {
      OUTPOST_RETURN_IF_ERROR(l->Share(shared_fd));
    }
    OUTPOST_LOG_INFO("smtp_listening", {"listener", l->options_.name}, {"bind", l->options_.bind},
                     {"port", l->port_}, {"starttls", l->tls_ ? "true" : "false"},
                     {"loop", group.size()});
    group.push_back(std::move(l));
  }
  return group;
}

Status SmtpListener::Bind(const SocketAddress& addr) {
  listener_ =
      evconnlistener_new_bind(dispatcher_.base(), &SmtpListener::OnAccept, this,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
                              addr.get(), static_cast<int>(addr.length));
  if (listener_ == nullptr) {
    return Status::IoError("listener " + options_.name + ": cannot bind " + options_.bind + ": " +
                           std::strerror(errno));
  }
  Listening();
  return Status::Ok();
}

Status SmtpListener::Share(int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    return Status::IoError("listener " + options_.name + ": cannot share " + options_.bind + ": " +
                           std::strerror(errno));
  }
  // Backlog 0: the socket is already listening; the copy is closed with this listener.
  listener_ = evconnlistener_new(dispatcher_.base(), &SmtpListener::OnAccept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, copy);
  if (listener_ == nullptr) {
    int err = errno;
    close(copy);
    return Status::IoError("listener " + options_.name + ": cannot share " + options_.bind + ": " +
                           std::strerror(err));
  }
  Listening();
  return Status::Ok();
}

void SmtpListener::Listening() {
  evconnlistener_set_error_cb(listener_, &SmtpListener::OnAcceptError);
  resume_timer_ = dispatcher_.CreateTimer([this] {
    if (!stopped_) evconnlistener_enable(listener_);
  });
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&bound), &len) ==
      0) {
    port_ = PortOf(reinterpret_cast<sockaddr*>(&bound));
  }
}

SmtpListener::SmtpListener(LibeventDispatcher& dispatcher, ListenerOptions options,
                           IngestSink& sink, RecipientPolicy policy, SslCtxPtr tls,
                           std::shared_ptr<ConnectionCounter> connections)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      policy_(std::move(policy)),
      tls_(std::move(tls)),
      connections_(std::move(connections)) {
  ctx_.dispatcher = &dispatcher_;
  ctx_.options = &options_;
  ctx_.policy = &policy_;
  ctx_.tls = tls_.get();
  ctx_.sink = &sink;
}

SmtpListener::~SmtpListener() {
  resume_timer_.reset();
  if (listener_ != nullptr) evconnlistener_free(listener_);
  sessions_.clear();
}

void SmtpListener::StopAccepting() {
  stopped_ = true;
  if (resume_timer_) resume_timer_->Disable();
  // Close the socket rather than just pausing: newcomers get "connection refused" at once
  // instead of waiting in the backlog, and a successor process can bind the port.
  if (listener_ != nullptr) evconnlistener_free(listener_);
  listener_ = nullptr;
  OUTPOST_LOG_INFO("smtp_stop_accepting", {"listener", options_.name},
                   {"open_sessions", sessions_.size()});
}

size_t SmtpListener::pending_output() const {
  size_t n = 0;
  for (const auto& [raw, session] : sessions_) n += session->pending_output();
  return n;
}

void SmtpListener::OnAccept(evconnlistener*, int fd, sockaddr* addr, int, void* arg) {
  static_cast<SmtpListener*>(arg)->Accept(fd, addr);
}

void SmtpListener::OnAcceptError(evconnlistener* l, void* arg) {
  (void)l;
  static_cast<SmtpListener*>(arg)->PauseAccepting();
}

void SmtpListener::PauseAccepting() {
  // accept() failing (EMFILE, ENFILE, ENOBUFS) would fire again at once and spin the loop;
  // stop accepting for a moment and let connections drain.
  int err = EVUTIL_SOCKET_ERROR();
  OUTPOST_LOG_ERROR("smtp_accept_failed", {"listener", options_.name},
                    {"error", evutil_socket_error_to_string(err)});
  evconnlistener_disable(listener_);
  resume_timer_->Enable(kAcceptPause);
}

void SmtpListener::Accept(int fd, const sockaddr* addr) {
  evutil_make_socket_nonblocking(fd);
  // Replies are written whole; without this, Nagle holds the reply to the final dot until the
  // client's delayed ACK (40 ms per message on Linux).
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto ip = IpAddress::FromSockaddr(addr);
  if (!ip.ok()) {
    evutil_closesocket(fd);
    return;
  }
  SmtpSession::Peer peer;
  peer.ip = *ip;
  peer.port = PortOf(addr);
  peer.relay_network = policy_.IsRelayNetwork(*ip);
  std::optional<SmtpReply> reject;
  bool counted = !peer.relay_network;
  if (counted && !connections_->TryAdd(ip->ToString(), options_.max_connections_per_ip)) {
    reject = Reply(421, "4.7.0",
                   options_.hostname + " Error: too many connections from " + ip->ToString());
    counted = false;
  }
  auto session = std::make_unique<SmtpSession>(
      ctx_, fd, peer, [this, counted](SmtpSession* s) { OnSessionFinished(s, counted); },
      std::move(reject));
  SmtpSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->Start();
}

void SmtpListener::OnSessionFinished(SmtpSession* session, bool counted) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (counted) connections_->Remove(session->peer().ip.ToString());
  std::unique_ptr<SmtpSession> owned = std::move(it->second);
  sessions_.erase(it);
  dispatcher_.DeferredDelete(std::move(owned));
}

}  // namespace outpost::smtp_server
