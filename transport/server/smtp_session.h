#pragma once

#include <event2/util.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "transport/server/data_reader.h"
#include "transport/server/ingest_sink.h"
#include "transport/server/ip_address.h"
#include "transport/server/listener_options.h"
#include "transport/server/recipient_policy.h"
#include "transport/server/sasl_exchange.h"
#include "transport/server/server_tls.h"
#include "transport/server/smtp_command.h"

struct bufferevent;

namespace outpost::smtp_server {

// What every session of one listener shares. Owned by the listener; outlives its sessions.
struct SessionContext {
  LibeventDispatcher* dispatcher = nullptr;
  const ListenerOptions* options = nullptr;
  const RecipientPolicy* policy = nullptr;
  SSL_CTX* tls = nullptr;  // null: STARTTLS not offered
  IngestSink* sink = nullptr;
};

// One inbound SMTP connection: greeting, commands, STARTTLS, AUTH, DATA, submission.
//
// Threading: everything runs on the dispatcher's loop thread, except the password check of
// AUTH, which runs on a helper thread (PBKDF2 is deliberately slow) and posts its verdict back.
// Ownership: the listener owns sessions. When a session is finished it calls `on_finished`
// (once, on the loop thread); the listener then deletes it via DeferredDelete, never inside a
// session callback.
// Pipelining: complete commands already buffered are processed in order; while the sink has a
// message (or a password check is pending) nothing more is read, so replies stay in order.
class SmtpSession {
 public:
  struct Peer {
    IpAddress ip;
    int port = 0;
    bool relay_network = false;  // client IP is in relayNetworks
  };
  // `fd` is a connected socket, owned from now on. With `reject` set the session only sends that
  // reply (e.g. 421 too many connections) and closes.
  SmtpSession(const SessionContext& ctx, evutil_socket_t fd, Peer peer,
              std::function<void(SmtpSession*)> on_finished,
              std::optional<SmtpReply> reject = std::nullopt);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Sends the greeting and starts reading. Call once, on the loop thread.
  void Start();

  const Peer& peer() const { return peer_; }
  // Reply bytes not yet written to the socket (TLS: on either layer).
  size_t pending_output() const;

 private:
  enum class Phase {
    kCommand,       // reading command lines
    kSasl,          // AUTH sent a 334 challenge; the next line is the answer
    kAuthChecking,  // password check running on the helper thread
    kData,          // reading the message
    kSubmitting,    // the sink has the message; waiting for done
    kTlsHandshake,
    kClosing,  // flushing the last reply, then closing
    kFinished,
  };
  struct Transaction {
    std::string return_path;
    bool active = false;
    MailParams params;
    std::vector<IngestedRecipient> recipients;
  };

  static void OnReadCb(bufferevent* bev, void* arg);
  static void OnWriteCb(bufferevent* bev, void* arg);
  static void OnEventCb(bufferevent* bev, short what, void* arg);

  void ProcessInput();
  bool ProcessData();  // true when the DATA phase ended
  void HandleLine(std::string line);
  void HandleCommand(SmtpCommand cmd);
  void HandleEhlo(const SmtpCommand& cmd);
  void HandleMail(const SmtpCommand& cmd);
  void HandleRcpt(const SmtpCommand& cmd);
  void HandleData();
  void HandleStartTls();
  void HandleAuth(const SmtpCommand& cmd);
  void ApplySaslStep(SaslExchange::Step step);
  void CheckCredentials(std::string user, std::string password);
  void OnCredentialsChecked(const std::string& user, bool ok);
  void FinishData();
  void Submit(std::string body);
  void OnSubmitted(StatusOr<uint64_t> result, const std::string& trace_id);
  void OnTlsEstablished();

  void Send(const SmtpReply& reply);
  void ResetTransaction() { txn_ = Transaction(); }
  bool AuthOffered() const;
  bool InTransaction() const;
  void ArmTimer();
  void OnTimeout();
  void CloseAfterFlush();
  void PollClose();
  void Finish();
  std::string NewTraceId();

  const SessionContext ctx_;
  const ListenerOptions& opts_;
  const Peer peer_;
  std::function<void(SmtpSession*)> on_finished_;
  std::optional<SmtpReply> reject_;
  evutil_socket_t fd_;
  bufferevent* bev_ = nullptr;  // plain socket bufferevent, or the TLS filter over it
  std::unique_ptr<Timer> timer_;
  std::unique_ptr<Timer> close_timer_;
  int close_polls_ = 0;
  bool shut_down_write_ = false;

  Phase phase_ = Phase::kCommand;
  bool processing_ = false;  // inside ProcessInput (guards re-entrance from sync callbacks)
  CommandLineReader line_reader_;
  std::unique_ptr<DataReader> data_reader_;
  std::string helo_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  std::string tls_details_;
  std::string auth_user_;
  SaslExchange sasl_;
  int auth_failures_ = 0;
  int errors_ = 0;                  // 5xx replies so far
  bool paused_for_output_ = false;  // reading stopped until our replies drain
  std::thread auth_thread_;
  Transaction txn_;
  uint64_t messages_ = 0;
  // Callbacks that may fire after this session is gone (sink completion, password check)
  // hold a weak_ptr to this token.
  std::shared_ptr<SmtpSession*> alive_;
};

}  // namespace outpost::smtp_server
