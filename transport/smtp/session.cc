#include "transport/smtp/session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include "common/logging.h"
#include "transport/smtp/commands.h"
#include "transport/tlspolicy/dane_verifier.h"

namespace outpost::transport::smtp {
namespace {

using std::chrono::milliseconds;

constexpr size_t kReadHighWatermark = 64 * 1024;
constexpr size_t kBodyChunk = 64 * 1024;
constexpr size_t kWriteLowWatermark = 16 * 1024;
constexpr milliseconds kQuitTimeout{5000};

std::string Base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// An IPv4 or IPv6 literal and a port (0 for a bind address) into a sockaddr; false when `ip`
// is not an IP literal.
bool ToSockaddr(const std::string& ip, uint16_t port, sockaddr_storage* ss, int* len) {
  *ss = sockaddr_storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

Reply Synthesized(int code, std::string enhanced, std::string text) {
  Reply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines.push_back(std::move(text));
  return r;
}

}  // namespace

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kConnect:
      return "connect";
    case Stage::kTls:
      return "tls";
    case Stage::kGreeting:
      return "greeting";
    case Stage::kEhlo:
      return "ehlo";
    case Stage::kStartTls:
      return "starttls";
    case Stage::kAuth:
      return "auth";
    case Stage::kMailFrom:
      return "mail-from";
    case Stage::kRcptTo:
      return "rcpt-to";
    case Stage::kData:
      return "data";
    case Stage::kDataDone:
      return "data-done";
    case Stage::kRset:
      return "rset";
    case Stage::kQuit:
      return "quit";
  }
  return "?";
}

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kConnectFailed:
      return "connect-failed";
    case FailureKind::kLocalSetup:
      return "local-setup";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kClosed:
      return "closed";
    case FailureKind::kProtocol:
      return "protocol";
    case FailureKind::kReply:
      return "reply";
    case FailureKind::kTlsHandshake:
      return "tls-handshake";
    case FailureKind::kTlsVerify:
      return "tls-verify";
    case FailureKind::kDaneVerify:
      return "dane-verify";
    case FailureKind::kStartTlsUnavailable:
      return "starttls-unavailable";
    case FailureKind::kAuthUnavailable:
      return "auth-unavailable";
    case FailureKind::kSmtpUtf8Unavailable:
      return "smtputf8-unavailable";
    case FailureKind::kMessageTooBig:
      return "message-too-big";
    case FailureKind::kBadAddress:
      return "bad-address";
  }
  return "?";
}

SmtpSession::SmtpSession(LibeventDispatcher& dispatcher, const TlsClientContext& tls,
                         SessionConfig config)
    : dispatcher_(dispatcher), tls_(tls), config_(std::move(config)) {
  // libevent writes with writev(), which raises SIGPIPE when a peer has gone away; a dropped
  // SMTP connection must be an error value, never the death of the process.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  timer_ = dispatcher_.CreateTimer([this] { OnTimeout(); });
}

SmtpSession::~SmtpSession() { Close(); }

void SmtpSession::PostToOwner(std::function<void()> fn) {
  std::weak_ptr<int> alive = alive_;
  dispatcher_.Post([alive, fn = std::move(fn)] {
    if (!alive.expired()) fn();
  });
}

void SmtpSession::Close() {
  timer_->Disable();
  expect_.clear();
  ready_ = false;
  connecting_ = handshaking_ = streaming_ = false;
  if (bev_ != nullptr) {
    bufferevent_free(bev_);
    bev_ = nullptr;
  }
  if (fd_ >= 0 && !fd_owned_by_bev_) ::close(fd_);
  fd_ = -1;
}

void SmtpSession::Fail(Stage stage, FailureKind kind, std::string detail,
                       std::optional<Reply> reply) {
  Close();
  auto handler = std::move(on_fail_);
  on_fail_ = nullptr;
  if (!handler) return;  // idle: nobody is waiting, the session is simply unusable now
  SessionFailure f{stage, kind, std::move(reply), std::move(detail)};
  handler(std::move(f));
}

void SmtpSession::ArmTimer(Stage stage, milliseconds timeout) {
  timer_stage_ = stage;
  timer_->Enable(timeout);
}

void SmtpSession::OnTimeout() {
  Fail(timer_stage_, FailureKind::kTimeout,
       std::string("no answer in time during ") + StageName(timer_stage_));
}

void SmtpSession::Write(std::string_view bytes) {
  if (bev_ != nullptr) bufferevent_write(bev_, bytes.data(), bytes.size());
}

void SmtpSession::Expect(Stage stage, milliseconds timeout, std::function<void(Reply)> fn) {
  expect_.push_back(Expectation{stage, timeout, std::move(fn)});
  if (expect_.size() == 1) ArmTimer(stage, timeout);
}

void SmtpSession::InstallBufferevent(bufferevent* bev) {
  bev_ = bev;
  bufferevent_setcb(bev_, &SmtpSession::OnReadThunk, &SmtpSession::OnWriteThunk,
                    &SmtpSession::OnEventThunk, this);
  bufferevent_setwatermark(bev_, EV_READ, 0, kReadHighWatermark);
  bufferevent_setwatermark(bev_, EV_WRITE, kWriteLowWatermark, 0);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

void SmtpSession::OnReadThunk(bufferevent*, void* arg) { static_cast<SmtpSession*>(arg)->OnRead(); }
void SmtpSession::OnWriteThunk(bufferevent*, void* arg) {
  static_cast<SmtpSession*>(arg)->OnWrite();
}
void SmtpSession::OnEventThunk(bufferevent*, short events, void* arg) {
  static_cast<SmtpSession*>(arg)->OnEvent(events);
}

// ---- connect, TLS, greeting, EHLO, AUTH -------------------------------------------------------

void SmtpSession::SetOpenCallback(OpenCallback done) {
  open_done_ = std::move(done);
  on_fail_ = [this](SessionFailure f) {
    auto done = std::move(open_done_);
    open_done_ = nullptr;
    PostToOwner([done, f = std::move(f)] { done(f); });
  };
}

void SmtpSession::Open(OpenCallback done) {
  SetOpenCallback(std::move(done));
  Connect();
}

void SmtpSession::Connect() {
  sockaddr_storage ss{};
  int len = 0;
  if (!ToSockaddr(config_.address, config_.port, &ss, &len)) {
    return Fail(Stage::kConnect, FailureKind::kLocalSetup, "not an IP address: " + config_.address);
  }
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    return Fail(Stage::kConnect, FailureKind::kLocalSetup,
                std::string("socket: ") + std::strerror(errno));
  }
  if (!config_.connection.source_ip.empty()) {
    sockaddr_storage src{};
    int src_len = 0;
    if (!ToSockaddr(config_.connection.source_ip, 0, &src, &src_len) ||
        src.ss_family != ss.ss_family) {
      return Fail(Stage::kConnect, FailureKind::kLocalSetup,
                  "source address " + config_.connection.source_ip +
                      " is not an IP of the destination's family");
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), static_cast<socklen_t>(src_len)) != 0) {
      return Fail(Stage::kConnect, FailureKind::kLocalSetup,
                  "cannot bind source address " + config_.connection.source_ip + ": " +
                      std::strerror(errno));
    }
  }
  // Commands are coalesced by us (pipelining); Nagle would only add delayed-ACK stalls.
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  InstallBufferevent(bufferevent_socket_new(dispatcher_.base(), fd_, BEV_OPT_DEFER_CALLBACKS));
  connecting_ = true;
  ArmTimer(Stage::kConnect, config_.connection.connect_timeout);
  if (bufferevent_socket_connect(bev_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Fail(Stage::kConnect, FailureKind::kConnectFailed,
                std::string("connect: ") + std::strerror(errno));
  }
}

void SmtpSession::StartTls(std::function<void()> then) {
  auto ssl = tls_.NewSsl(config_.host_name);
  if (!ssl.ok()) return Fail(Stage::kTls, FailureKind::kTlsHandshake, ssl.status().message());
  if (!config_.dane_tlsa.empty()) {
    Status dane = tlspolicy::ConfigureSslForDane(*ssl, config_.dane_tlsa, config_.dane_names);
    if (!dane.ok()) {
      SSL_free(*ssl);
      return Fail(Stage::kTls, FailureKind::kDaneVerify, "DANE setup: " + dane.message());
    }
  }
  // Whatever the peer sent after its 220 (or before the handshake) is plaintext that must never
  // be read as part of the TLS session: CVE-2011-0411 / CVE-2021-38371.
  parser_.Clear();
  evbuffer* in = bufferevent_get_input(bev_);
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_free(bev_);  // the plain bufferevent does not own the socket
  bev_ = nullptr;
  bufferevent* tls_bev =
      bufferevent_openssl_socket_new(dispatcher_.base(), fd_, *ssl, BUFFEREVENT_SSL_CONNECTING,
                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (tls_bev == nullptr) {
    SSL_free(*ssl);
    return Fail(Stage::kTls, FailureKind::kTlsHandshake, "cannot create TLS bufferevent");
  }
  fd_owned_by_bev_ = true;  // the TLS bufferevent now closes the socket and frees the SSL
  bufferevent_openssl_set_allow_dirty_shutdown(tls_bev, 1);
  handshaking_ = true;
  after_tls_ = std::move(then);
  ArmTimer(Stage::kTls, config_.tls_timeout);
  InstallBufferevent(tls_bev);
}

void SmtpSession::ReadGreeting() {
  Expect(Stage::kGreeting, config_.connection.greeting_timeout, [this](Reply r) {
    if (!r.positive()) return Fail(Stage::kGreeting, FailureKind::kReply, {}, std::move(r));
    SendGreetingCommand(config_.protocol == RelayProtocol::kLmtp ? "LHLO" : "EHLO");
  });
}

void SmtpSession::SendGreetingCommand(const char* verb) {
  Write(GreetingCommand(verb, config_.connection.ehlo_hostname));
  bool helo = std::strcmp(verb, "HELO") == 0;
  Expect(Stage::kEhlo, config_.connection.ehlo_timeout, [this, helo](Reply r) {
    if (r.positive()) {
      caps_ = helo ? Capabilities() : ParseCapabilities(r);
      return AfterEhlo(r);
    }
    // A 5xx to EHLO: the peer may only speak HELO (RFC 5321 §4.1.4), same connection.
    if (!helo && r.klass() == 5 && config_.protocol == RelayProtocol::kSmtp && !helo_tried_) {
      helo_tried_ = true;
      return SendGreetingCommand("HELO");
    }
    Fail(Stage::kEhlo, FailureKind::kReply, {}, std::move(r));
  });
}

void SmtpSession::AfterEhlo(const Reply&) {
  bool want_tls = !tls_active_ && !config_.plaintext_only && config_.starttls != TlsMode::kDisable;
  if (want_tls && caps_.starttls) {
    Write("STARTTLS\r\n");
    Expect(Stage::kStartTls, config_.connection.ehlo_timeout, [this](Reply r) {
      if (r.code != 220) {
        return Fail(Stage::kStartTls, FailureKind::kTlsHandshake, "STARTTLS refused", std::move(r));
      }
      StartTls([this] {
        caps_ = Capabilities();  // forget everything learned before TLS (RFC 3207 §4.2)
        helo_tried_ = false;
        SendGreetingCommand(config_.protocol == RelayProtocol::kLmtp ? "LHLO" : "EHLO");
      });
    });
    return;
  }
  if (want_tls && (config_.starttls == TlsMode::kRequire || !config_.dane_tlsa.empty())) {
    return Fail(Stage::kStartTls, FailureKind::kStartTlsUnavailable,
                "TLS is required and the peer does not offer STARTTLS");
  }
  if (!config_.auth_username.empty()) return Authenticate();
  OpenSucceeded();
}

void SmtpSession::Authenticate() {
  const std::string& user = config_.auth_username;
  if (caps_.HasAuth("PLAIN")) {
    std::string creds;
    creds.push_back('\0');
    creds += user;
    creds.push_back('\0');
    creds += config_.auth_secret;
    Write("AUTH PLAIN " + Base64(creds) + "\r\n");
    Expect(Stage::kAuth, config_.connection.ehlo_timeout, [this](Reply r) {
      if (r.code != 235) return Fail(Stage::kAuth, FailureKind::kReply, {}, std::move(r));
      OpenSucceeded();
    });
  } else if (caps_.HasAuth("LOGIN")) {
    AuthLogin();
  } else {
    Fail(Stage::kAuth, FailureKind::kAuthUnavailable,
         "credentials configured and the peer offers neither AUTH PLAIN nor AUTH LOGIN");
  }
}

void SmtpSession::AuthLogin() {
  Write("AUTH LOGIN\r\n");
  auto timeout = config_.connection.ehlo_timeout;
  Expect(Stage::kAuth, timeout, [this, timeout](Reply r) {
    if (r.code != 334) return Fail(Stage::kAuth, FailureKind::kReply, {}, std::move(r));
    Write(Base64(config_.auth_username) + "\r\n");
    Expect(Stage::kAuth, timeout, [this, timeout](Reply r2) {
      if (r2.code != 334) return Fail(Stage::kAuth, FailureKind::kReply, {}, std::move(r2));
      Write(Base64(config_.auth_secret) + "\r\n");
      Expect(Stage::kAuth, timeout, [this](Reply r3) {
        if (r3.code != 235) return Fail(Stage::kAuth, FailureKind::kReply, {}, std::move(r3));
        OpenSucceeded();
      });
    });
  });
}

void SmtpSession::OpenSucceeded() {
  ready_ = true;
  on_fail_ = nullptr;
  auto done = std::move(open_done_);
  open_done_ = nullptr;
  PostToOwner([done] { done(std::nullopt); });
}

// ---- libevent callbacks ------------------------------------------------------------------------

void SmtpSession::OnEvent(short events) {
  if (connecting_) {
    if (events & BEV_EVENT_CONNECTED) {
      connecting_ = false;
      timer_->Disable();
      if (config_.implicit_tls) return StartTls([this] { ReadGreeting(); });
      return ReadGreeting();
    }
    int err = evutil_socket_geterror(fd_);
    return Fail(Stage::kConnect, FailureKind::kConnectFailed,
                std::string("connect: ") + evutil_socket_error_to_string(err));
  }
  if (handshaking_) {
    if (events & BEV_EVENT_CONNECTED) {
      handshaking_ = false;
      timer_->Disable();
      tls_active_ = true;
      if (!config_.dane_tlsa.empty()) {
        auto dane = tlspolicy::ClassifyDaneVerification(bufferevent_openssl_get_ssl(bev_));
        if (!dane.ok) return Fail(Stage::kTls, FailureKind::kDaneVerify, dane.detail);
      } else if (!config_.allow_invalid_certs) {
        SSL* ssl = bufferevent_openssl_get_ssl(bev_);
        if (auto why = TlsClientContext::VerifyPeer(ssl)) {
          return Fail(Stage::kTls, FailureKind::kTlsVerify, *why);
        }
      }
      auto then = std::move(after_tls_);
      after_tls_ = nullptr;
      return then();
    }
    std::string why = "TLS handshake failed";
    unsigned long e = bufferevent_get_openssl_error(bev_);
    if (e != 0) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      why += std::string(": ") + buf;
    } else if (events & BEV_EVENT_EOF) {
      why += ": connection closed";
    }
    return Fail(Stage::kTls, FailureKind::kTlsHandshake, why);
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    Stage stage = !expect_.empty() ? expect_.front().stage
                  : streaming_     ? Stage::kData
                                   : timer_stage_;
    Fail(stage, FailureKind::kClosed,
         (events & BEV_EVENT_EOF) ? "connection closed by peer" : "connection error");
  }
}

void SmtpSession::OnRead() {
  bufferevent* bev = bev_;
  evbuffer* in = bufferevent_get_input(bev);
  char buf[4096];
  while (bev_ == bev && evbuffer_get_length(in) > 0) {
    int n = evbuffer_remove(in, buf, sizeof(buf));
    if (n <= 0) break;
    if (Status st = parser_.Feed(std::string_view(buf, static_cast<size_t>(n))); !st.ok()) {
      Stage stage = expect_.empty() ? timer_stage_ : expect_.front().stage;
      return Fail(stage, FailureKind::kProtocol, st.message());
    }
    for (;;) {
      auto next = parser_.Next();
      if (!next.ok()) {
        Stage stage = expect_.empty() ? timer_stage_ : expect_.front().stage;
        return Fail(stage, FailureKind::kProtocol, next.status().message());
      }
      if (!next->has_value()) break;
      Reply reply = std::move(**next);
      if (expect_.empty() && streaming_) {
        // A verdict before the end of the body (e.g. 552 too big): it is the answer to DATA.
        return Fail(Stage::kData, FailureKind::kReply, "reply before the end of the message",
                    std::move(reply));
      }
      if (expect_.empty()) {
        // Unsolicited: typically "421 idle timeout" on a pooled connection.
        return Fail(timer_stage_, reply.code == 421 ? FailureKind::kReply : FailureKind::kProtocol,
                    "unsolicited reply", std::move(reply));
      }
      Expectation e = std::move(expect_.front());
      expect_.pop_front();
      if (expect_.empty()) {
        timer_->Disable();
      } else {
        ArmTimer(expect_.front().stage, expect_.front().timeout);
      }
      if (reply.code == 421) {
        // Service closing: the connection is going away whatever we asked (RFC 5321 §3.8).
        return Fail(e.stage, FailureKind::kReply, {}, std::move(reply));
      }
      e.on_reply(std::move(reply));
      if (bev_ != bev) return;  // closed, or replaced by a TLS bufferevent
    }
  }
}

void SmtpSession::OnWrite() {
  if (streaming_) WriteBodyChunk();
}

// ---- transactions ------------------------------------------------------------------------------

void SmtpSession::SendMessage(const DeliveryMessage& message,
                              std::vector<DeliveryRecipient> recipients, TransactionCallback done) {
  message_ = message;
  txn_ = TransactionResult();
  txn_.recipients.resize(recipients.size());
  txn_done_ = std::move(done);
  accepted_.clear();
  mail_refusal_.reset();
  ready_ = false;
  on_fail_ = [this](SessionFailure f) {
    txn_.failure = std::move(f);
    CompleteTransaction();
  };
  auto local_failure = [this](FailureKind kind, Reply reply) {
    ready_ = bev_ != nullptr;  // nothing was sent: the connection stays usable
    txn_.failure = SessionFailure{Stage::kMailFrom, kind, std::move(reply), {}};
    CompleteTransaction();
  };
  if (message_.smtputf8 && !caps_.smtputf8) {
    return local_failure(FailureKind::kSmtpUtf8Unavailable,
                         Synthesized(553, "5.6.7", "SMTPUTF8 needed and not offered by peer"));
  }
  size_t size = message_.body ? message_.body->size() : 0;
  if (caps_.size.value_or(0) > 0 && size > *caps_.size) {
    return local_failure(
        FailureKind::kMessageTooBig,
        Synthesized(552, "5.3.4",
                    "message size " + std::to_string(size) + " exceeds the peer's limit " +
                        std::to_string(*caps_.size)));
  }
  auto mail = MailFromCommand(message_, caps_);
  if (!mail.ok()) {
    return local_failure(FailureKind::kBadAddress,
                         Synthesized(553, "5.1.7", "bad sender address syntax"));
  }

  auto steps = std::make_shared<std::vector<Step>>();
  const auto& policy = config_.connection;
  if (needs_rset_) {
    steps->push_back(
        {"RSET\r\n", Stage::kRset, policy.mail_from_timeout, [](const Reply&) { return true; }});
    needs_rset_ = false;
  }
  steps->push_back({*mail, Stage::kMailFrom, policy.mail_from_timeout, [this](const Reply& r) {
                      if (!r.positive()) mail_refusal_ = r;
                      return r.positive();
                    }});
  size_t sendable = 0;
  for (size_t i = 0; i < recipients.size(); ++i) {
    auto rcpt = RcptToCommand(recipients[i], caps_);
    if (!rcpt.ok()) {
      txn_.recipients[i].rcpt = Synthesized(553, "5.1.3", "bad recipient address syntax");
      continue;
    }
    ++sendable;
    steps->push_back({*rcpt, Stage::kRcptTo, policy.rcpt_to_timeout, [this, i](const Reply& r) {
                        txn_.recipients[i].rcpt = r;
                        if (r.positive()) accepted_.push_back(i);
                        return true;
                      }});
  }
  if (sendable == 0) {
    ready_ = true;
    return CompleteTransaction();
  }
  steps->push_back({"DATA\r\n", Stage::kData, policy.data_timeout, [this](const Reply& r) {
                      OnDataReply(r);
                      return true;
                    }});
  if (caps_.pipelining) {
    // RFC 2920: MAIL, RCPTs and DATA in one write; every reply is still checked in order.
    std::string batch;
    for (const Step& s : *steps) batch += s.command;
    Write(batch);
    for (size_t i = 0; i < steps->size(); ++i) {
      Expect((*steps)[i].stage, (*steps)[i].timeout,
             [steps, i](Reply r) { (*steps)[i].on_reply(r); });
    }
    return;
  }
  RunSteps(steps, 0);
}

void SmtpSession::RunSteps(std::shared_ptr<std::vector<Step>> steps, size_t from) {
  const Step& step = (*steps)[from];
  if (step.stage == Stage::kData && (mail_refusal_ || accepted_.empty())) {
    // Nothing to send: leave the DATA step out, clean the transaction state with RSET later.
    needs_rset_ = true;
    ready_ = true;
    if (mail_refusal_) {
      txn_.failure = SessionFailure{Stage::kMailFrom, FailureKind::kReply, mail_refusal_, {}};
    }
    return CompleteTransaction();
  }
  Write(step.command);
  Expect(step.stage, step.timeout, [this, steps, from](Reply r) {
    bool go_on = (*steps)[from].on_reply(r);
    if (from + 1 >= steps->size()) return;
    if (!go_on && (*steps)[from].stage == Stage::kMailFrom) {
      ready_ = true;
      txn_.failure = SessionFailure{Stage::kMailFrom, FailureKind::kReply, mail_refusal_, {}};
      return CompleteTransaction();
    }
    RunSteps(steps, from + 1);
  });
}

void SmtpSession::OnDataReply(const Reply& reply) {
  bool can_send = !mail_refusal_ && !accepted_.empty();
  if (reply.code == 354 && can_send) {
    streaming_ = true;
    body_pos_ = 0;
    stuffer_ = DotStuffer();
    return WriteBodyChunk();
  }
  needs_rset_ = true;
  if (mail_refusal_) {
    txn_.failure = SessionFailure{Stage::kMailFrom, FailureKind::kReply, mail_refusal_, {}};
  } else if (can_send) {
    txn_.failure = SessionFailure{Stage::kData, FailureKind::kReply, reply, {}};
  }
  if (reply.code == 354) {
    // DATA was accepted although nothing may be sent (RFC 2920 §3.1): end it empty at once and
    // ignore the verdict on that empty message.
    Write(".\r\n");
    Expect(Stage::kData, config_.connection.data_timeout, [this](Reply) {
      ready_ = true;
      CompleteTransaction();
    });
    return;
  }
  ready_ = true;
  CompleteTransaction();
}

void SmtpSession::WriteBodyChunk() {
  if (bev_ == nullptr) return;
  evbuffer* out = bufferevent_get_output(bev_);
  auto emit = [out](std::string_view piece) { evbuffer_add(out, piece.data(), piece.size()); };
  ArmTimer(Stage::kData, config_.connection.data_timeout);
  const std::string empty;
  const std::string& body = message_.body ? *message_.body : empty;
  if (body_pos_ < body.size()) {
    size_t n = std::min(kBodyChunk, body.size() - body_pos_);
    stuffer_.Append(std::string_view(body).substr(body_pos_, n), emit);
    body_pos_ += n;
    // OnWrite() asks for the next chunk once the output drains; the final dot goes out with
    // the last chunk (a separate tiny write would wait on Nagle + delayed ACK).
    if (body_pos_ < body.size()) return;
  }
  stuffer_.Finish(emit);
  streaming_ = false;
  ExpectFinalReplies();
}

void SmtpSession::ExpectFinalReplies() {
  auto timeout = config_.connection.data_timeout;
  if (config_.protocol == RelayProtocol::kLmtp) {
    // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
    for (size_t k = 0; k < accepted_.size(); ++k) {
      size_t idx = accepted_[k];
      bool last = k + 1 == accepted_.size();
      Expect(Stage::kDataDone, timeout, [this, idx, last](Reply r) {
        txn_.recipients[idx].data = std::move(r);
        if (last) {
          ready_ = true;
          CompleteTransaction();
        }
      });
    }
    return;
  }
  Expect(Stage::kDataDone, timeout, [this](Reply r) {
    for (size_t idx : accepted_) txn_.recipients[idx].data = r;
    ready_ = true;
    CompleteTransaction();
  });
}

void SmtpSession::CompleteTransaction() {
  on_fail_ = nullptr;
  if (txn_.failure && txn_.failure->stage == Stage::kMailFrom) {
    // After a refused MAIL the RCPT answers (typically 503) say nothing about the recipients.
    for (auto& r : txn_.recipients) {
      if (r.rcpt && r.rcpt->code != 553) r.rcpt.reset();
    }
  }
  auto done = std::move(txn_done_);
  txn_done_ = nullptr;
  TransactionResult result = std::move(txn_);
  txn_ = TransactionResult();
  PostToOwner([done, result = std::move(result)]() mutable { done(std::move(result)); });
}

// ---- RSET and QUIT -----------------------------------------------------------------------------

void SmtpSession::Reset(OpenCallback done) {
  ready_ = false;
  SetOpenCallback(std::move(done));
  if (bev_ == nullptr) {
    return Fail(Stage::kRset, FailureKind::kClosed, "connection already closed");
  }
  Write("RSET\r\n");
  needs_rset_ = false;
  Expect(Stage::kRset, config_.connection.mail_from_timeout, [this](Reply r) {
    if (!r.positive()) return Fail(Stage::kRset, FailureKind::kReply, {}, std::move(r));
    OpenSucceeded();
  });
}

void SmtpSession::Quit(DoneCallback done) {
  ready_ = false;
  on_fail_ = [this, done](SessionFailure) { PostToOwner(done); };
  if (bev_ == nullptr) return Fail(Stage::kQuit, FailureKind::kClosed);
  Write("QUIT\r\n");
  Expect(Stage::kQuit, std::min(kQuitTimeout, config_.connection.ehlo_timeout),
         [this](Reply) { Fail(Stage::kQuit, FailureKind::kClosed); });
}

}  // namespace outpost::transport::smtp
