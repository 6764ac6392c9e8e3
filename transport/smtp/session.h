#pragma once

// One SMTP or LMTP client connection over a libevent bufferevent (bufferevent_openssl once TLS
// is up). The session speaks the protocol and reports what happened as data: replies and a
// SessionFailure saying at which stage and how it stopped. It never decides failover or
// temporary-vs-permanent; that is ClassifyFailure()/ClassifyRecipient() (classify.h).
//
// Threading: loop thread only. Callbacks are always posted to the loop (never run inside the
// call that started the operation) and are dropped if the session is destroyed first, so an
// owner may destroy the session from inside any of its callbacks. One operation at a time.
// The first session sets SIGPIPE to SIG_IGN for the process (libevent writes with writev).

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/dns/dns_message.h"
#include "transport/smtp/capabilities.h"
#include "transport/smtp/dot_stuffer.h"
#include "transport/smtp/reply_parser.h"
#include "transport/smtp/tls_client.h"

struct bufferevent;

namespace outpost::transport::smtp {

// Where a session stopped, in the order a delivery progresses.
enum class Stage {
  kConnect,
  kTls,  // implicit TLS or the STARTTLS handshake and certificate check
  kGreeting,
  kEhlo,      // EHLO/HELO/LHLO
  kStartTls,  // the STARTTLS command itself
  kAuth,
  kMailFrom,
  kRcptTo,
  kData,      // DATA command and sending the body, before the final dot is written
  kDataDone,  // waiting for the reply (or LMTP replies) after the final dot
  kRset,
  kQuit,
};
const char* StageName(Stage stage);

enum class FailureKind {
  kConnectFailed,        // the TCP connect failed or was refused
  kLocalSetup,           // our side: socket(), source-IP bind, not an IP literal
  kTimeout,              // the stage's timeout fired
  kClosed,               // the peer closed or reset the connection
  kProtocol,             // unparseable or unsolicited reply
  kReply,                // a negative (or unexpected) reply; see `reply`
  kTlsHandshake,         // handshake failed (or STARTTLS refused)
  kTlsVerify,            // handshake done but the certificate does not verify / match
  kDaneVerify,           // handshake done but the certificate matches none of the TLSA records
  kStartTlsUnavailable,  // TLS required and the peer does not offer STARTTLS
  kAuthUnavailable,      // credentials configured and no common AUTH mechanism
  kSmtpUtf8Unavailable,  // the message needs SMTPUTF8 and the peer does not offer it
  kMessageTooBig,        // larger than the peer's SIZE
  kBadAddress,           // return path cannot be sent (forbidden characters)
};
const char* FailureKindName(FailureKind kind);

struct SessionFailure {
  Stage stage = Stage::kConnect;
  FailureKind kind = FailureKind::kClosed;
  std::optional<Reply> reply;  // the peer's reply, when there was one
  std::string detail;          // OS, OpenSSL or parser error text
};

struct SessionConfig {
  std::string host_name;  // MX or relay name (or IP literal): SNI, certificate name, logs
  std::string address;    // IP literal to connect to
  uint16_t port = 25;
  RelayProtocol protocol = RelayProtocol::kSmtp;
  bool implicit_tls = false;
  TlsMode starttls = TlsMode::kOptional;
  bool allow_invalid_certs = false;
  // Set when retrying a host whose optional STARTTLS handshake failed: do not try TLS again.
  bool plaintext_only = false;
  ConnectionPolicy connection;
  std::chrono::milliseconds tls_timeout{std::chrono::minutes(3)};
  // DANE (RFC 7672), set from tlspolicy::HostTlsRequirement when the host has a secure, usable
  // TLSA RRset: the certificate must match one of these records (tlspolicy/dane_verifier.h)
  // instead of the WebPKI, allow_invalid_certs does not apply, and a peer without STARTTLS
  // fails like startTls=require. The caller also sets starttls=kRequire. Empty = no DANE.
  std::vector<dns::TlsaRecord> dane_tlsa;
  std::vector<std::string> dane_names;  // TLSA base domain (the MX host) first
  std::string auth_username;            // empty = no AUTH
  std::string auth_secret;              // never logged
};

// What came back for one recipient of a transaction.
struct RecipientReply {
  std::optional<Reply> rcpt;  // reply to RCPT TO, or a local refusal (bad address)
  std::optional<Reply> data;  // reply after the final dot (SMTP: shared; LMTP: this rcpt's)
};

struct TransactionResult {
  // A failure of the whole transaction (MAIL, DATA, the connection, after the dot). Recipients
  // whose reply is missing are covered by it; RCPT replies are kept when MAIL succeeded.
  std::optional<SessionFailure> failure;
  std::vector<RecipientReply> recipients;  // same order as the recipients sent
};

class SmtpSession {
 public:
  using OpenCallback = std::function<void(std::optional<SessionFailure>)>;
  using TransactionCallback = std::function<void(TransactionResult)>;
  using DoneCallback = std::function<void()>;

  static constexpr size_t kMaxRecipientsPerTransaction = 100;

  // `dispatcher` and `tls` outlive the session.
  SmtpSession(LibeventDispatcher& dispatcher, const TlsClientContext& tls, SessionConfig config);
  ~SmtpSession();  // closes the connection at once (no QUIT); pending callbacks are dropped
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Connect (source IP bound when configured), implicit TLS, greeting, EHLO (HELO on the same
  // connection after a 5xx) or LHLO, STARTTLS + re-EHLO, AUTH. `done(nullopt)` = ready for mail.
  void Open(OpenCallback done);

  // One transaction: MAIL, RCPT x n (n <= 100), DATA, body, final reply (LMTP: one per accepted
  // recipient). Pipelined when offered. Pre: Open succeeded and ready() holds.
  void SendMessage(const DeliveryMessage& message, std::vector<DeliveryRecipient> recipients,
                   TransactionCallback done);

  // RSET, used before reusing a pooled connection for another message.
  void Reset(OpenCallback done);

  // QUIT, waits briefly for 221, closes. `done` runs once the connection is closed.
  void Quit(DoneCallback done);

  // Connected, greeted, idle and not broken: can take another operation.
  bool ready() const { return ready_ && bev_ != nullptr; }
  bool tls_active() const { return tls_active_; }
  const Capabilities& capabilities() const { return caps_; }
  const SessionConfig& config() const { return config_; }

 private:
  struct Expectation {
    Stage stage;
    std::chrono::milliseconds timeout;
    std::function<void(Reply)> on_reply;
  };
  struct Step {  // one command of a transaction and what to do with its reply
    std::string command;
    Stage stage;
    std::chrono::milliseconds timeout;
    std::function<bool(const Reply&)> on_reply;  // false = stop (non-pipelined only)
  };

  static void OnReadThunk(bufferevent* bev, void* arg);
  static void OnWriteThunk(bufferevent* bev, void* arg);
  static void OnEventThunk(bufferevent* bev, short events, void* arg);
  void OnRead();
  void OnWrite();
  void OnEvent(short events);
  void OnTimeout();

  void SetOpenCallback(OpenCallback done);
  void Connect();
  void StartTls(std::function<void()> then);
  void ReadGreeting();
  void SendGreetingCommand(const char* verb);
  void AfterEhlo(const Reply& reply);
  void Authenticate();
  void AuthLogin();
  void OpenSucceeded();

  void RunSteps(std::shared_ptr<std::vector<Step>> steps, size_t from);
  void OnDataReply(const Reply& reply);
  void WriteBodyChunk();
  void ExpectFinalReplies();
  void CompleteTransaction();

  void Write(std::string_view bytes);
  void Expect(Stage stage, std::chrono::milliseconds timeout, std::function<void(Reply)> fn);
  void ArmTimer(Stage stage, std::chrono::milliseconds timeout);
  void Fail(Stage stage, FailureKind kind, std::string detail = {},
            std::optional<Reply> reply = std::nullopt);
  void Close();
  void PostToOwner(std::function<void()> fn);
  void InstallBufferevent(bufferevent* bev);

  LibeventDispatcher& dispatcher_;
  const TlsClientContext& tls_;
  SessionConfig config_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<Timer> timer_;
  Stage timer_stage_ = Stage::kConnect;

  int fd_ = -1;
  bool fd_owned_by_bev_ = false;
  bufferevent* bev_ = nullptr;
  bool connecting_ = false;
  bool handshaking_ = false;
  bool tls_active_ = false;
  bool ready_ = false;
  bool needs_rset_ = false;
  bool helo_tried_ = false;
  std::function<void()> after_tls_;

  ReplyParser parser_;
  std::deque<Expectation> expect_;
  Capabilities caps_;
  // The running operation's failure handler; cleared when the operation completes.
  std::function<void(SessionFailure)> on_fail_;
  OpenCallback open_done_;  // Open() and Reset()

  // Transaction in progress.
  DeliveryMessage message_;
  TransactionResult txn_;
  TransactionCallback txn_done_;
  std::vector<size_t> accepted_;  // indices of recipients whose RCPT got 2xx, in RCPT order
  std::optional<Reply> mail_refusal_;
  bool streaming_ = false;
  size_t body_pos_ = 0;
  DotStuffer stuffer_;
};

}  // namespace outpost::transport::smtp
