#include "transport/server/smtp_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "common/logging.h"
#include "transport/server/password_hash.h"
#include "transport/server/received_header.h"

namespace outpost::smtp_server {
namespace {

constexpr int kMaxAuthFailures = 3;
constexpr Millis kClosePoll{10};
constexpr int kMaxClosePolls = 200;  // give a client 2 s to read our last reply and hang up
// Replies to pipelined commands are not produced faster than the client reads them.
constexpr size_t kMaxPendingOutput = 256 * 1024;
// Like Postfix's smtpd_hard_error_limit: a client that keeps getting 5xx is cut off.
constexpr int kMaxErrors = 20;

// Client EHLO names go into log lines; they are validated tokens already, but keep them short.
std::string Clip(std::string_view s) { return std::string(s.substr(0, 100)); }

}  // namespace

SmtpSession::SmtpSession(const SessionContext& ctx, evutil_socket_t fd, Peer peer,
                         std::function<void(SmtpSession*)> on_finished,
                         std::optional<SmtpReply> reject)
    : ctx_(ctx),
      opts_(*ctx.options),
      peer_(std::move(peer)),
      on_finished_(std::move(on_finished)),
      reject_(std::move(reject)),
      fd_(fd),
      alive_(std::make_shared<SmtpSession*>(this)) {
  bev_ = bufferevent_socket_new(ctx_.dispatcher->base(), fd, BEV_OPT_CLOSE_ON_FREE);
  timer_ = ctx_.dispatcher->CreateTimer([this] { OnTimeout(); });
  close_timer_ = ctx_.dispatcher->CreateTimer([this] { PollClose(); });
}

SmtpSession::~SmtpSession() {
  alive_.reset();
  // At most one password check is running; it only posts back through the weak token.
  if (auth_thread_.joinable()) auth_thread_.join();
  if (bev_ != nullptr) {
    bufferevent_free(bev_);
  } else {
    evutil_closesocket(fd_);
  }
}

void SmtpSession::Start() {
  if (bev_ == nullptr) {
    Finish();
    return;
  }
  bufferevent_setcb(bev_, &SmtpSession::OnReadCb, &SmtpSession::OnWriteCb, &SmtpSession::OnEventCb,
                    this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  if (reject_) {
    OUTPOST_LOG_WARN("smtp_reject_connection", {"listener", opts_.name},
                     {"client", peer_.ip.ToString()}, {"reply", reject_->text});
    Send(*reject_);
    CloseAfterFlush();
    return;
  }
  OUTPOST_LOG_DEBUG("smtp_connect", {"listener", opts_.name}, {"client", peer_.ip.ToString()},
                    {"port", peer_.port});
  Send(Reply(220, "", opts_.hostname + " ESMTP Outpost"));
  ArmTimer();
}

void SmtpSession::OnReadCb(bufferevent*, void* arg) {
  static_cast<SmtpSession*>(arg)->ProcessInput();
}

void SmtpSession::OnWriteCb(bufferevent*, void* arg) {
  auto* self = static_cast<SmtpSession*>(arg);
  // Output drained: resume a command batch that was paused for a slow reader.
  if (self->paused_for_output_) {
    self->paused_for_output_ = false;
    bufferevent_enable(self->bev_, EV_READ);
    self->ProcessInput();
  }
}

void SmtpSession::OnEventCb(bufferevent*, short what, void* arg) {
  auto* self = static_cast<SmtpSession*>(arg);
  if ((what & BEV_EVENT_CONNECTED) != 0) {
    if (self->phase_ == Phase::kTlsHandshake) self->OnTlsEstablished();
    return;
  }
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) == 0) return;
  if (self->phase_ == Phase::kTlsHandshake) {
    OUTPOST_LOG_WARN("smtp_tls_failed", {"listener", self->opts_.name},
                     {"client", self->peer_.ip.ToString()});
  } else if (self->phase_ != Phase::kClosing && self->InTransaction()) {
    OUTPOST_LOG_INFO("smtp_lost_connection", {"listener", self->opts_.name},
                     {"client", self->peer_.ip.ToString()});
  }
  self->Finish();
}

void SmtpSession::ProcessInput() {
  if (processing_ || phase_ == Phase::kFinished) return;
  processing_ = true;
  while (true) {
    evbuffer* in = bufferevent_get_input(bev_);  // bev_ changes at STARTTLS
    if (phase_ == Phase::kClosing) {
      evbuffer_drain(in, evbuffer_get_length(in));
      break;
    }
    if (phase_ == Phase::kData) {
      if (!ProcessData()) break;
      continue;
    }
    bool sasl = phase_ == Phase::kSasl;
    if (phase_ != Phase::kCommand && !sasl) break;
    if (evbuffer_get_length(bufferevent_get_output(bev_)) > kMaxPendingOutput) {
      // The client pipelines faster than it reads our replies: stop reading until it catches
      // up, so neither buffer grows without bound.
      paused_for_output_ = true;
      bufferevent_disable(bev_, EV_READ);
      break;
    }
    size_t len = std::min(evbuffer_get_length(in), kMaxAuthLine);
    if (len == 0) break;
    const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in, len));
    CommandLineReader::Result r = line_reader_.Next(std::string_view(data, len), sasl);
    std::string line(r.line);
    evbuffer_drain(in, r.consumed);
    if (r.kind == CommandLineReader::Result::Kind::kNeedMore) {
      if (r.consumed == 0) break;
      continue;
    }
    if (r.kind == CommandLineReader::Result::Kind::kTooLong) {
      if (sasl) {
        sasl_ = SaslExchange();  // an overlong response aborts the exchange
        phase_ = Phase::kCommand;
      }
      Send(Reply(500, "5.5.2", "Error: line too long"));
      continue;
    }
    HandleLine(std::move(line));
  }
  processing_ = false;
  ArmTimer();
}

bool SmtpSession::ProcessData() {
  evbuffer* in = bufferevent_get_input(bev_);
  while (!data_reader_->done() && evbuffer_get_length(in) > 0) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) < 1) break;
    size_t used = data_reader_->Consume(
        std::string_view(static_cast<const char*>(chunk.iov_base), chunk.iov_len));
    evbuffer_drain(in, used);
  }
  if (!data_reader_->done()) return false;
  FinishData();
  return true;
}

void SmtpSession::HandleLine(std::string line) {
  if (phase_ == Phase::kSasl) {
    ApplySaslStep(sasl_.Respond(line));
    return;
  }
  ParsedCommand parsed = ParseCommand(line);
  if (auto* refusal = std::get_if<SmtpReply>(&parsed)) {
    Send(*refusal);
    return;
  }
  HandleCommand(std::move(std::get<SmtpCommand>(parsed)));
}

void SmtpSession::HandleCommand(SmtpCommand cmd) {
  switch (cmd.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
      HandleEhlo(cmd);
      return;
    case Verb::kMail:
      HandleMail(cmd);
      return;
    case Verb::kRcpt:
      HandleRcpt(cmd);
      return;
    case Verb::kData:
      HandleData();
      return;
    case Verb::kRset:
      ResetTransaction();
      Send(Reply(250, "2.0.0", "Ok"));
      return;
    case Verb::kNoop:
      Send(Reply(250, "2.0.0", "Ok"));
      return;
    case Verb::kQuit:
      Send(Reply(221, "2.0.0", "Bye"));
      CloseAfterFlush();
      return;
    case Verb::kVrfy:
      Send(Reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"));
      return;
    case Verb::kHelp:
      Send(Reply(214, "2.0.0",
                 "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH"));
      return;
    case Verb::kStartTls:
      HandleStartTls();
      return;
    case Verb::kAuth:
      HandleAuth(cmd);
      return;
  }
}

void SmtpSession::HandleEhlo(const SmtpCommand& cmd) {
  helo_ = cmd.argument;
  esmtp_ = cmd.verb == Verb::kEhlo;
  ResetTransaction();
  if (!esmtp_) {
    Send(Reply(250, "", opts_.hostname));
    return;
  }
  std::string text = opts_.hostname + "\nPIPELINING\nSIZE " +
                     std::to_string(opts_.max_message_size) +
                     "\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nDSN";
  if (ctx_.tls != nullptr && !tls_active_) text += "\nSTARTTLS";
  if (AuthOffered()) text += "\nAUTH PLAIN LOGIN";
  Send(Reply(250, "", text));
}

void SmtpSession::HandleMail(const SmtpCommand& cmd) {
  if (helo_.empty()) return Send(Reply(503, "5.5.1", "Error: send HELO/EHLO first"));
  if (txn_.active) return Send(Reply(503, "5.5.1", "Error: nested MAIL command"));
  if (opts_.require_auth && auth_user_.empty()) {
    return Send(Reply(530, "5.7.0", "Authentication required"));
  }
  if (ctx_.sink->BelowFreeSpaceWatermark()) {
    return Send(Reply(452, "4.3.1", "Insufficient system storage"));
  }
  if (cmd.mail.size && *cmd.mail.size > opts_.max_message_size) {
    return Send(Reply(552, "5.3.4", "Message size exceeds fixed limit"));
  }
  txn_.active = true;
  txn_.return_path = cmd.path.null_path ? "" : cmd.path.mailbox.ToString();
  txn_.params = cmd.mail;
  Send(Reply(250, "2.1.0", "Ok"));
}

void SmtpSession::HandleRcpt(const SmtpCommand& cmd) {
  if (!txn_.active) return Send(Reply(503, "5.5.1", "Error: need MAIL command"));
  if (txn_.recipients.size() >= static_cast<size_t>(opts_.max_recipients)) {
    return Send(Reply(452, "4.5.3", "Error: too many recipients"));
  }
  const Mailbox& rcpt = cmd.path.mailbox;
  if (!rcpt.IsAscii() && !txn_.params.smtputf8) {
    return Send(Reply(553, "5.6.7", "non-ASCII address needs SMTPUTF8"));
  }
  bool trusted = peer_.relay_network || !auth_user_.empty();
  std::string address = rcpt.ToString();
  switch (ctx_.policy->Decide(rcpt, trusted)) {
    case RcptDecision::kUnknownUser:
      return Send(
          Reply(550, "5.1.1", "<" + address + ">: Recipient address rejected: User unknown"));
    case RcptDecision::kRelayDenied:
      OUTPOST_LOG_INFO("smtp_relay_denied", {"listener", opts_.name},
                       {"client", peer_.ip.ToString()}, {"rcpt", address});
      return Send(Reply(554, "5.7.1", "<" + address + ">: Relay access denied"));
    case RcptDecision::kLocal:
    case RcptDecision::kRelay:
      break;
  }
  if (rcpt.domain.empty()) {
    // RCPT TO:<Postmaster> (RFC 5321 4.1.1.3): give it a routable local domain.
    address += "@" + (opts_.local_domains.empty() ? opts_.hostname : opts_.local_domains[0]);
  }
  txn_.recipients.push_back({std::move(address), cmd.rcpt.orcpt, cmd.rcpt.notify});
  Send(Reply(250, "2.1.5", "Ok"));
}

void SmtpSession::HandleData() {
  if (!txn_.active) return Send(Reply(503, "5.5.1", "Error: need MAIL command"));
  if (txn_.recipients.empty()) return Send(Reply(554, "5.5.1", "Error: no valid recipients"));
  DataReader::Limits limits;
  limits.max_size = opts_.max_message_size;
  limits.max_received_headers = opts_.max_received_headers;
  data_reader_ = std::make_unique<DataReader>(limits);
  phase_ = Phase::kData;
  Send(Reply(354, "", "End data with <CR><LF>.<CR><LF>"));
}

void SmtpSession::FinishData() {
  DataVerdict verdict = data_reader_->verdict();
  uint64_t size = data_reader_->size();
  std::string body = data_reader_->TakeBody();
  data_reader_.reset();
  phase_ = Phase::kCommand;
  if (verdict != DataVerdict::kAccepted) {
    SmtpReply reply = DataVerdictReply(verdict);
    OUTPOST_LOG_INFO("smtp_message_refused", {"listener", opts_.name},
                     {"client", peer_.ip.ToString()}, {"from", txn_.return_path}, {"size", size},
                     {"code", reply.code}, {"reply", reply.text});
    ResetTransaction();
    Send(reply);
    return;
  }
  Submit(std::move(body));
}

void SmtpSession::Submit(std::string body) {
  IngestedMessage m;
  m.return_path = txn_.return_path;
  m.recipients = txn_.recipients;
  m.source = auth_user_.empty() ? "unauthenticated" : "authenticated";
  m.auth_user = auth_user_;
  m.envid = txn_.params.envid;
  m.ret = txn_.params.ret;
  m.smtputf8 = txn_.params.smtputf8;
  m.eight_bit = txn_.params.body == BodyType::k8BitMime;
  m.client_ip = peer_.ip.ToString();
  m.client_port = peer_.port;
  m.helo = helo_;
  m.trace_id = NewTraceId();
  m.received_unix_ms = ctx_.dispatcher->clock().NowUnixMs();

  ReceivedInfo info;
  info.helo = helo_;
  info.client_ip = m.client_ip;
  info.hostname = opts_.hostname;
  info.esmtp = esmtp_;
  info.tls = tls_active_;
  info.authenticated = !auth_user_.empty();
  info.tls_details = tls_details_;
  info.trace_id = m.trace_id;
  if (m.recipients.size() == 1) info.single_recipient = m.recipients[0].address;
  info.unix_ms = m.received_unix_ms;
  m.body = FormatReceivedHeader(info) + body;

  phase_ = Phase::kSubmitting;
  bufferevent_disable(bev_, EV_READ);
  timer_->Disable();
  std::weak_ptr<SmtpSession*> weak = alive_;
  std::string trace_id = m.trace_id;
  ctx_.sink->Submit(std::move(m), [weak, trace_id](StatusOr<uint64_t> result) {
    auto token = weak.lock();
    if (!token) {
      OUTPOST_LOG_INFO("smtp_submit_after_disconnect", {"trace", trace_id},
                       {"ok", result.ok() ? "true" : "false"});
      return;
    }
    (*token)->OnSubmitted(std::move(result), trace_id);
  });
}

void SmtpSession::OnSubmitted(StatusOr<uint64_t> result, const std::string& trace_id) {
  if (phase_ != Phase::kSubmitting) return;
  phase_ = Phase::kCommand;
  size_t rcpts = txn_.recipients.size();
  std::string from = txn_.return_path;
  ResetTransaction();
  if (result.ok()) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016" PRIx64, *result);
    ++messages_;
    OUTPOST_LOG_INFO("smtp_message_accepted", {"listener", opts_.name}, {"queue_id", id},
                     {"trace", trace_id}, {"client", peer_.ip.ToString()}, {"from", from},
                     {"rcpts", rcpts});
    Send(Reply(250, "2.0.0", std::string("Ok: queued as ") + id));
  } else {
    OUTPOST_LOG_WARN("smtp_message_not_queued", {"listener", opts_.name}, {"trace", trace_id},
                     {"error", result.status().ToString()});
    if (result.status().Is(Status::Code::kNoSpace)) {
      Send(Reply(452, "4.3.1", "Insufficient system storage"));
    } else {
      Send(Reply(451, "4.3.0", "Error: queue file write error, try again later"));
    }
  }
  bufferevent_enable(bev_, EV_READ);
  // A synchronous completion returns into ProcessInput, which carries on by itself.
  if (!processing_) ProcessInput();
}

void SmtpSession::HandleStartTls() {
  if (ctx_.tls == nullptr) return Send(Reply(502, "5.5.1", "Error: command not implemented"));
  if (tls_active_) return Send(Reply(503, "5.5.1", "Error: TLS already active"));
  Send(Reply(220, "2.0.0", "Ready to start TLS"));
  // CVE-2011-0411: whatever the client pipelined after STARTTLS arrived in plaintext and must
  // never be executed inside the TLS session.
  evbuffer* in = bufferevent_get_input(bev_);
  evbuffer_drain(in, evbuffer_get_length(in));
  SSL* ssl = SSL_new(ctx_.tls);
  bufferevent* tls = ssl == nullptr ? nullptr
                                    : bufferevent_openssl_filter_new(ctx_.dispatcher->base(), bev_,
                                                                     ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                                     BEV_OPT_CLOSE_ON_FREE);
  if (tls == nullptr) {
    OUTPOST_LOG_ERROR("smtp_tls_setup_failed", {"listener", opts_.name});
    Finish();
    return;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
  bev_ = tls;
  bufferevent_setcb(bev_, &SmtpSession::OnReadCb, &SmtpSession::OnWriteCb, &SmtpSession::OnEventCb,
                    this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  phase_ = Phase::kTlsHandshake;
}

void SmtpSession::OnTlsEstablished() {
  tls_active_ = true;
  phase_ = Phase::kCommand;
  if (SSL* ssl = bufferevent_openssl_get_ssl(bev_)) {
    tls_details_ =
        std::string("using ") + SSL_get_version(ssl) + " with cipher " + SSL_get_cipher_name(ssl);
  }
  // RFC 3207 4.2: forget everything learned from the client before TLS.
  helo_.clear();
  esmtp_ = false;
  auth_user_.clear();
  ResetTransaction();
  line_reader_ = CommandLineReader();
  ProcessInput();
}

bool SmtpSession::AuthOffered() const {
  return !opts_.users.empty() && (tls_active_ || opts_.allow_plaintext_auth);
}

void SmtpSession::HandleAuth(const SmtpCommand& cmd) {
  if (!AuthOffered()) {
    if (opts_.users.empty()) return Send(Reply(502, "5.5.1", "Error: AUTH not available"));
    return Send(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
  }
  if (!auth_user_.empty()) return Send(Reply(503, "5.5.1", "Error: already authenticated"));
  if (txn_.active) return Send(Reply(503, "5.5.1", "Error: MAIL transaction in progress"));
  ApplySaslStep(sasl_.Start(cmd.argument));
}

void SmtpSession::ApplySaslStep(SaslExchange::Step step) {
  switch (step.kind) {
    case SaslExchange::Step::Kind::kChallenge:
      phase_ = Phase::kSasl;
      return Send(step.reply);
    case SaslExchange::Step::Kind::kRefused:
      phase_ = Phase::kCommand;
      return Send(step.reply);
    case SaslExchange::Step::Kind::kCredentials:
      return CheckCredentials(std::move(step.user), std::move(step.password));
  }
}

void SmtpSession::CheckCredentials(std::string user, std::string password) {
  const ListenerUser* known = nullptr;
  for (const auto& u : opts_.users) {
    if (u.name == user) known = &u;
  }
  // An unknown user costs the same PBKDF2 work, so timing does not reveal which names exist.
  std::string hash = known != nullptr ? known->password_hash : opts_.users.front().password_hash;
  phase_ = Phase::kAuthChecking;
  bufferevent_disable(bev_, EV_READ);
  timer_->Disable();
  if (auth_thread_.joinable()) auth_thread_.join();
  std::weak_ptr<SmtpSession*> weak = alive_;
  LibeventDispatcher* dispatcher = ctx_.dispatcher;
  bool is_known = known != nullptr;
  auth_thread_ = std::thread([weak, dispatcher, user = std::move(user),
                              password = std::move(password), hash = std::move(hash), is_known] {
    StatusOr<bool> match = VerifyPassword(password, hash);
    bool ok = is_known && match.ok() && *match;
    dispatcher->Post([weak, user, ok] {
      if (auto token = weak.lock()) (*token)->OnCredentialsChecked(user, ok);
    });
  });
}

void SmtpSession::OnCredentialsChecked(const std::string& user, bool ok) {
  if (phase_ != Phase::kAuthChecking) return;
  phase_ = Phase::kCommand;
  bufferevent_enable(bev_, EV_READ);
  if (ok) {
    auth_user_ = user;
    OUTPOST_LOG_INFO("smtp_auth_ok", {"listener", opts_.name}, {"client", peer_.ip.ToString()},
                     {"user", Clip(user)});
    Send(Reply(235, "2.7.0", "Authentication successful"));
  } else {
    ++auth_failures_;
    OUTPOST_LOG_WARN("smtp_auth_failed", {"listener", opts_.name}, {"client", peer_.ip.ToString()},
                     {"user", Clip(user)});
    Send(Reply(535, "5.7.8", "Authentication credentials invalid"));
    if (auth_failures_ >= kMaxAuthFailures) {
      Send(Reply(421, "4.7.0", opts_.hostname + " Error: too many failed authentications"));
      CloseAfterFlush();
      return;
    }
  }
  ProcessInput();
}

void SmtpSession::Send(const SmtpReply& reply) {
  if (phase_ == Phase::kFinished) return;
  std::string wire = FormatReply(reply);
  bufferevent_write(bev_, wire.data(), wire.size());
  if (reply.code >= 500 && phase_ != Phase::kClosing && ++errors_ >= kMaxErrors) {
    OUTPOST_LOG_WARN("smtp_too_many_errors", {"listener", opts_.name},
                     {"client", peer_.ip.ToString()});
    wire = FormatReply(Reply(421, "4.7.0", opts_.hostname + " Error: too many errors"));
    bufferevent_write(bev_, wire.data(), wire.size());
    CloseAfterFlush();
  }
}

bool SmtpSession::InTransaction() const {
  return txn_.active || phase_ == Phase::kData || phase_ == Phase::kTlsHandshake ||
         phase_ == Phase::kSasl;
}

void SmtpSession::ArmTimer() {
  switch (phase_) {
    case Phase::kAuthChecking:
    case Phase::kSubmitting:
    case Phase::kClosing:
    case Phase::kFinished:
      timer_->Disable();
      return;
    default:
      timer_->Enable(InTransaction() ? opts_.command_timeout : opts_.idle_timeout);
  }
}

void SmtpSession::OnTimeout() {
  OUTPOST_LOG_INFO("smtp_timeout", {"listener", opts_.name}, {"client", peer_.ip.ToString()},
                   {"in_transaction", InTransaction() ? "true" : "false"});
  if (phase_ == Phase::kTlsHandshake) {
    Finish();
    return;
  }
  Send(Reply(421, "4.4.2", opts_.hostname + " Error: timeout exceeded"));
  CloseAfterFlush();
}

void SmtpSession::CloseAfterFlush() {
  if (phase_ == Phase::kClosing || phase_ == Phase::kFinished) return;
  phase_ = Phase::kClosing;
  timer_->Disable();
  close_polls_ = 0;
  // Keep reading (and dropping) until the client hangs up: closing a socket with unread input
  // sends a RST, which can destroy our last reply before the client reads it.
  evbuffer* in = bufferevent_get_input(bev_);
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_enable(bev_, EV_READ);
  PollClose();
}

size_t SmtpSession::pending_output() const {
  if (bev_ == nullptr) return 0;
  size_t pending = evbuffer_get_length(bufferevent_get_output(bev_));
  if (bufferevent* under = bufferevent_get_underlying(bev_)) {
    pending += evbuffer_get_length(bufferevent_get_output(under));
  }
  return pending;
}

void SmtpSession::PollClose() {
  if (phase_ != Phase::kClosing) return;
  if (pending_output() == 0 && !shut_down_write_) {
    shutdown(fd_, SHUT_WR);  // FIN after the last reply; the client sees EOF
    shut_down_write_ = true;
  }
  if (++close_polls_ > kMaxClosePolls) {
    Finish();
    return;
  }
  close_timer_->Enable(kClosePoll);
}

void SmtpSession::Finish() {
  if (phase_ == Phase::kFinished) return;
  phase_ = Phase::kFinished;
  timer_->Disable();
  close_timer_->Disable();
  if (bev_ != nullptr) {
    bufferevent_disable(bev_, EV_READ | EV_WRITE);
    bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
  }
  on_finished_(this);
}

std::string SmtpSession::NewTraceId() {
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v)) != 1) {
    v = (static_cast<uint64_t>(ctx_.dispatcher->clock().NowUnixMs()) << 16) ^ messages_;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

}  // namespace outpost::smtp_server
