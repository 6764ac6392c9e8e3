#include "transport/smtp/delivery_attempt.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/logging.h"
#include "transport/smtp/smtp_deliverer.h"

namespace outpost::transport::smtp {
namespace {

std::string HexId(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ReplyLine(const SmtpReply& r) {
  std::string out = std::to_string(r.code);
  if (!r.enhanced.empty()) out += " " + r.enhanced;
  if (!r.text.empty()) out += " " + r.text;
  return out;
}

}  // namespace

DeliveryAttempt::DeliveryAttempt(SmtpDeliverer& owner, DeliveryRequest request,
                                 std::vector<TargetHost> hosts, DeliveryAgent::DoneCallback done)
    : owner_(owner),
      request_(std::move(request)),
      hosts_(std::move(hosts)),
      done_(std::move(done)) {
  if (const auto* relay = std::get_if<RelayRoute>(&request_.route)) {
    protocol_ = relay->protocol;
    implicit_tls_ = relay->implicit_tls;
    route_allow_invalid_certs_ = relay->allow_invalid_certs;
    auth_username_ = relay->auth_username;
    auth_secret_ = relay->auth_secret;
  }
  outcomes_.resize(request_.recipients.size());
  for (size_t i = 0; i < request_.recipients.size(); ++i) pending_.push_back(i);
}

DeliveryAttempt::~DeliveryAttempt() { *alive_ = false; }

void DeliveryAttempt::Start() {
  std::string key;
  uint32_t limit;
  if (const auto* relay = std::get_if<RelayRoute>(&request_.route)) {
    key = "relay:" + request_.route_name;
    limit = relay->concurrency == 0 ? 10 : relay->concurrency;
  } else if (const auto* mx = std::get_if<MxRoute>(&request_.route)) {
    key = "mx:" + Lower(mx->domain);
    limit = owner_.options_.mx_concurrency;
  } else {
    SmtpReply r{451, "4.3.5", "SMTP delivery asked for a non-SMTP route"};
    FailAllPending(OutcomeKind::kTempFail, ErrorClass::kConfig, r);
    return Finish();
  }
  owner_.limiter_.Acquire(key, limit, [this](DestinationLimiter::Permit permit) {
    permit_ = std::move(permit);
    TryNext();
  });
}

FailureContext DeliveryAttempt::Context() const {
  FailureContext c;
  c.starttls = config_.starttls;
  c.implicit_tls = implicit_tls_;
  c.has_credentials = !auth_username_.empty();
  c.plaintext_retried = plaintext_only_;
  return c;
}

bool DeliveryAttempt::ResolvePolicies(const TargetHost& host, const std::string& ip,
                                      ConnectionPolicy* conn, TlsPolicy* tls) {
  if (request_.policy == nullptr) return true;  // built-in defaults
  HostContext ctx{host.name, ip, ""};
  std::string error;
  bool ok = request_.policy->ConnectionFor(ctx, conn, &error) &&
            request_.policy->TlsFor(ctx, tls, &error);
  if (ok) return true;
  // Operator error: never a silent fallback, never a bounce (DESIGN.md §3).
  OUTPOST_LOG_ERROR("smtp.config_error", {"msg", HexId(request_.message.id)},
                    {"route", request_.route_name}, {"host", host.name}, {"error", error});
  SmtpReply r{451, "4.3.5", "configuration error: " + error};
  result_.hosts_tried.push_back(HostAttempt{host.name, ip, ErrorClass::kConfig, r, 0});
  FailAllPending(OutcomeKind::kTempFail, ErrorClass::kConfig, r);
  return false;
}

void DeliveryAttempt::TryNext() {
  if (pending_.empty()) return Finish();
  while (host_idx_ < hosts_.size() && addr_idx_ >= hosts_[host_idx_].addresses.size()) {
    ++host_idx_;
    addr_idx_ = 0;
    plaintext_only_ = false;
  }
  if (host_idx_ >= hosts_.size()) return Finish();
  const TargetHost& host = hosts_[host_idx_];
  const std::string& ip = host.addresses[addr_idx_];

  ConnectionPolicy conn;
  TlsPolicy tls;
  if (!ResolvePolicies(host, ip, &conn, &tls)) return Finish();
  if (conn.ehlo_hostname.empty()) conn.ehlo_hostname = owner_.options_.default_ehlo_hostname;
  const bool mx_route = std::holds_alternative<MxRoute>(request_.route);
  if (!mx_route && (tls.dane == TlsMode::kRequire || tls.mta_sts == TlsMode::kRequire)) {
    // DANE and MTA-STS never apply to a configured relay: requiring them there is an operator
    // error, reported as one instead of silently delivering without them.
    std::string key = "tlsStrategies." + tls.strategy_name +
                      (tls.dane == TlsMode::kRequire ? ".dane" : ".mtaSts");
    OUTPOST_LOG_ERROR("smtp.config_error", {"msg", HexId(request_.message.id)},
                      {"route", request_.route_name}, {"key", key});
    SmtpReply r{451, "4.3.5",
                "configuration error: " + key + " is 'require', which relay route '" +
                    request_.route_name + "' cannot satisfy (DANE and MTA-STS apply to Mx routes)"};
    result_.hosts_tried.push_back(HostAttempt{host.name, ip, ErrorClass::kConfig, r, 0});
    FailAllPending(OutcomeKind::kTempFail, ErrorClass::kConfig, r);
    return Finish();
  }
  if (mx_route && owner_.options_.tls_policy != nullptr && !request_.message.tls_report &&
      host_tls_idx_ != host_idx_) {
    return EvaluateHostTls(host, tls);
  }

  config_ = SessionConfig();
  config_.host_name = host.name;
  config_.address = ip;
  config_.port = host.port;
  config_.protocol = protocol_;
  config_.implicit_tls = implicit_tls_;
  config_.starttls = tls.starttls;
  config_.allow_invalid_certs = route_allow_invalid_certs_ || tls.allow_invalid_certs;
  config_.plaintext_only = plaintext_only_;
  config_.connection = conn;
  config_.tls_timeout = tls.tls_timeout;
  config_.auth_username = auth_username_;
  config_.auth_secret = auth_secret_;
  std::string tls_tag;
  if (const auto* e = CurrentHostTls()) {
    using Auth = tlspolicy::HostTlsRequirement::Authentication;
    const auto& req = e->requirement;
    if (req.tls_required) {
      config_.starttls = TlsMode::kRequire;  // never plaintext to this host
      config_.plaintext_only = false;
    }
    if (req.authentication == Auth::kDane) {
      config_.dane_tlsa = req.dane_records;
      config_.dane_names = req.dane_reference_names;
      config_.allow_invalid_certs = false;
    } else if (req.authentication == Auth::kWebPki) {
      config_.allow_invalid_certs = false;
    }
    tls_tag = tlspolicy::RequirementTag(req);
  }

  down_key_ = ip + "|" + std::to_string(host.port);
  host_started_ = owner_.dispatcher_.clock().MonotonicNow();
  if (!request_.probe && owner_.down_hosts_.IsDown(down_key_)) {
    SmtpReply r{451, "4.4.1", "host marked down"};
    RecordHost(ErrorClass::kConnection, r);
    FailureVerdict v;
    v.next = NextStep::kNextAddress;
    v.error = ErrorClass::kConnection;
    v.reply = r;
    NoteFailure(v);
    ++addr_idx_;
    return TryNext();
  }
  pool_key_ = PoolKey(PoolKeyParts{
      request_.route_name, host.name, ip, host.port, conn.source_ip, conn.ehlo_hostname,
      tls.strategy_name, conn.strategy_name, auth_username_ + '\0' + auth_secret_,
      std::to_string(static_cast<int>(protocol_)) + (implicit_tls_ ? "i" : "-") +
          (config_.allow_invalid_certs ? "a" : "v") + (config_.plaintext_only ? "p" : "t") +
          std::to_string(static_cast<int>(config_.starttls)) + tls_tag});
  OpenSession(true);
}

const tlspolicy::HostTlsEvaluation* DeliveryAttempt::CurrentHostTls() const {
  if (!host_tls_ || host_tls_idx_ != host_idx_) return nullptr;
  return &*host_tls_;
}

void DeliveryAttempt::EvaluateHostTls(const TargetHost& host, const TlsPolicy& tls) {
  const auto& mx = std::get<MxRoute>(request_.route);
  owner_.options_.tls_policy->Evaluate(
      mx.domain, host, tls,
      [this, alive = alive_, idx = host_idx_](tlspolicy::HostTlsEvaluation e) {
        if (!*alive) return;
        host_tls_ = std::move(e);
        host_tls_idx_ = idx;
        if (host_tls_->requirement.action != tlspolicy::HostTlsRequirement::Action::kProceed) {
          return SkipHostForPolicy();
        }
        TryNext();
      });
}

void DeliveryAttempt::SkipHostForPolicy() {
  const TargetHost& host = hosts_[host_idx_];
  const auto& req = host_tls_->requirement;
  const bool permanent = req.action == tlspolicy::HostTlsRequirement::Action::kFail;
  SmtpReply r{permanent ? 550 : 451, permanent ? "5.7.5" : "4.7.5", req.reason};
  config_ = SessionConfig();
  config_.host_name = host.name;
  config_.address = host.addresses.empty() ? "" : host.addresses.front();
  host_started_ = owner_.dispatcher_.clock().MonotonicNow();
  OUTPOST_LOG_INFO("smtp.host_skipped_by_tls_policy", {"msg", HexId(request_.message.id)},
                   {"host", host.name}, {"error", ErrorClassName(req.error)},
                   {"reason", req.reason});
  RecordHost(req.error, r);
  FailureVerdict v;
  v.next = NextStep::kNextHost;
  v.kind = permanent ? OutcomeKind::kPermFail : OutcomeKind::kTempFail;
  v.error = req.error;
  v.reply = r;
  NoteFailure(v);
  owner_.options_.tls_policy->RecordFailure(
      *host_tls_,
      tlspolicy::TlsRptResultForBlockedHost(host_tls_->dane, host_tls_->sts_decision), host.name,
      config_.address, req.reason);
  Follow(v);
  TryNext();
}

void DeliveryAttempt::ApplyHostTlsToFailure(const SessionFailure& failure,
                                            FailureVerdict* verdict) {
  const auto* e = CurrentHostTls();
  if (e == nullptr) return;
  using Auth = tlspolicy::HostTlsRequirement::Authentication;
  using tlspolicy::TlsRptResultType;
  std::optional<TlsRptResultType> type;
  switch (failure.kind) {
    case FailureKind::kStartTlsUnavailable:
      type = TlsRptResultType::kStartTlsNotSupported;
      break;
    case FailureKind::kDaneVerify:
    case FailureKind::kTlsHandshake:
      type = TlsRptResultType::kValidationFailure;
      break;
    case FailureKind::kTlsVerify:
      type = failure.detail.find("hostname mismatch") != std::string::npos
                 ? TlsRptResultType::kCertificateHostMismatch
             : failure.detail.find("expired") != std::string::npos
                 ? TlsRptResultType::kCertificateExpired
                 : TlsRptResultType::kCertificateNotTrusted;
      break;
    default:
      return;  // not a TLS failure: nothing for TLS-RPT, last_error stays as classified
  }
  const auto& req = e->requirement;
  if (req.tls_required && verdict->error == ErrorClass::kTls) {
    verdict->error = req.authentication == Auth::kWebPki ? ErrorClass::kMtaSts : ErrorClass::kDane;
    verdict->reply.enhanced = "4.7.5";
  }
  owner_.options_.tls_policy->RecordFailure(*e, *type, config_.host_name, config_.address,
                                            failure.detail);
}

void DeliveryAttempt::OpenSession(bool allow_pooled) {
  session_ = allow_pooled ? owner_.pool_.Acquire(pool_key_) : nullptr;
  reused_ = session_ != nullptr;
  auto cb = [this](std::optional<SessionFailure> f) { OnOpened(std::move(f)); };
  if (reused_) {
    session_->Reset(cb);  // RSET between messages, and proof the connection still works
    return;
  }
  session_ = std::make_unique<SmtpSession>(owner_.dispatcher_, owner_.tls_, config_);
  session_->Open(cb);
}

void DeliveryAttempt::OnOpened(std::optional<SessionFailure> failure) {
  if (!failure) {
    owner_.down_hosts_.MarkUp(down_key_);
    if (const auto* e = CurrentHostTls()) {
      owner_.options_.tls_policy->RecordSessionReady(*e, config_.host_name, config_.address);
      if (!reused_ && e->requirement.tls_required) {
        OUTPOST_LOG_INFO("smtp.tls_policy_applied", {"msg", HexId(request_.message.id)},
                         {"host", config_.host_name}, {"ip", config_.address},
                         {"policy", tlspolicy::TlsRptPolicyTypeName(e->rpt_policy.type)},
                         {"reason", e->requirement.reason});
      }
    }
    return RunTransaction();
  }
  if (reused_) {
    // A pooled connection that went stale is not the host's fault: open a fresh one.
    session_.reset();
    return OpenSession(false);
  }
  FailureVerdict v = ClassifyFailure(*failure, Context());
  ApplyHostTlsToFailure(*failure, &v);
  OUTPOST_LOG_INFO("smtp.session_failed", {"msg", HexId(request_.message.id)},
                   {"host", config_.host_name}, {"ip", config_.address},
                   {"stage", StageName(failure->stage)}, {"kind", FailureKindName(failure->kind)},
                   {"next", NextStepName(v.next)}, {"reply", ReplyLine(v.reply)});
  if (v.mark_host_down) owner_.down_hosts_.MarkDown(down_key_);
  RecordHost(v.error, v.reply);
  NoteFailure(v);
  session_.reset();
  if (v.next == NextStep::kFinal) {
    for (size_t idx : pending_) SetOutcome(idx, v.kind, v.error, v.reply);
    pending_.clear();
    return Finish();
  }
  Follow(v);
  TryNext();
}

void DeliveryAttempt::Follow(const FailureVerdict& v) {
  switch (v.next) {
    case NextStep::kNextAddress:
      ++addr_idx_;
      break;
    case NextStep::kNextHost:
      ++host_idx_;
      addr_idx_ = 0;
      plaintext_only_ = false;
      break;
    case NextStep::kRetryPlaintext:
      plaintext_only_ = true;
      break;
    case NextStep::kFinal:
      break;
  }
}

void DeliveryAttempt::RunTransaction() {
  size_t n = std::min(pending_.size(), SmtpSession::kMaxRecipientsPerTransaction);
  chunk_.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
  std::vector<DeliveryRecipient> rcpts;
  rcpts.reserve(n);
  for (size_t idx : chunk_) rcpts.push_back(request_.recipients[idx]);
  session_->SendMessage(request_.message, std::move(rcpts),
                        [this](TransactionResult r) { OnTransaction(std::move(r)); });
}

void DeliveryAttempt::OnTransaction(TransactionResult result) {
  std::vector<size_t> unresolved, follow_up;
  bool progress = false;
  for (size_t k = 0; k < chunk_.size(); ++k) {
    size_t idx = chunk_[k];
    RecipientVerdict v = ClassifyRecipient(result.recipients[k]);
    switch (v.kind) {
      case RecipientVerdict::Kind::kDelivered:
        SetOutcome(idx, OutcomeKind::kDelivered, ErrorClass::kNone, v.reply);
        last_reply_ = v.reply;
        progress = true;
        break;
      case RecipientVerdict::Kind::kTempFail:
      case RecipientVerdict::Kind::kPermFail:
        SetOutcome(idx,
                   v.kind == RecipientVerdict::Kind::kPermFail ? OutcomeKind::kPermFail
                                                               : OutcomeKind::kTempFail,
                   v.error, v.reply);
        last_reply_ = v.reply;
        progress = true;
        break;
      case RecipientVerdict::Kind::kFollowUp:
        follow_up.push_back(idx);
        last_reply_ = v.reply;
        break;
      case RecipientVerdict::Kind::kUnresolved:
        unresolved.push_back(idx);
        break;
    }
  }
  if (!follow_up.empty() && !progress && !result.failure) {
    // Nothing at all went through: a follow-up would only repeat this, so defer them.
    for (size_t idx : follow_up) {
      SetOutcome(idx, OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply, last_reply_);
    }
    follow_up.clear();
  }
  std::optional<FailureVerdict> verdict;
  if (result.failure) {
    verdict = ClassifyFailure(*result.failure, Context());
    OUTPOST_LOG_INFO("smtp.transaction_failed", {"msg", HexId(request_.message.id)},
                     {"host", config_.host_name}, {"ip", config_.address},
                     {"stage", StageName(result.failure->stage)},
                     {"kind", FailureKindName(result.failure->kind)},
                     {"next", NextStepName(verdict->next)}, {"reply", ReplyLine(verdict->reply)});
    if (verdict->possible_duplicate) {
      result_.possible_duplicate = true;
      OUTPOST_LOG_WARN("smtp.possible_duplicate", {"msg", HexId(request_.message.id)},
                       {"host", config_.host_name}, {"ip", config_.address},
                       {"reason", result.failure->detail});
    }
    if (verdict->next == NextStep::kFinal) {
      for (size_t idx : unresolved) SetOutcome(idx, verdict->kind, verdict->error, verdict->reply);
      unresolved.clear();
    } else {
      NoteFailure(*verdict);
    }
  }
  // Whatever is left: the rest of the chunk and the recipients not sent yet, in request order.
  std::vector<size_t> rest;
  for (size_t idx : pending_) {
    if (!outcomes_[idx]) rest.push_back(idx);
  }
  pending_ = std::move(rest);

  if (verdict && verdict->next != NextStep::kFinal) {
    RecordHost(verdict->error, verdict->reply);
    LeaveSession();
    Follow(*verdict);
    return TryNext();
  }
  if (pending_.empty()) {
    RecordHost(verdict ? verdict->error : ErrorClass::kNone,
               verdict ? verdict->reply : last_reply_);
    LeaveSession();
    return Finish();
  }
  if (session_->ready()) return RunTransaction();  // follow-up transaction, same connection
  // The connection ended with a verdict (e.g. lost after the dot): the recipients not yet sent
  // go over a new connection to the same address.
  RecordHost(verdict ? verdict->error : ErrorClass::kNone, verdict ? verdict->reply : last_reply_);
  LeaveSession();
  TryNext();
}

void DeliveryAttempt::LeaveSession() {
  if (!session_) return;
  if (session_->ready()) {
    owner_.pool_.Release(pool_key_, std::move(session_));
  } else {
    session_.reset();
  }
}

void DeliveryAttempt::RecordHost(ErrorClass error, const SmtpReply& reply) {
  auto elapsed = owner_.dispatcher_.clock().MonotonicNow() - host_started_;
  result_.hosts_tried.push_back(HostAttempt{
      config_.host_name.empty() ? hosts_[host_idx_].name : config_.host_name,
      config_.address.empty() ? hosts_[host_idx_].addresses[addr_idx_] : config_.address, error,
      reply, std::chrono::duration_cast<Millis>(elapsed).count()});
}

void DeliveryAttempt::NoteFailure(const FailureVerdict& v) {
  any_failure_ = true;
  if (v.kind != OutcomeKind::kPermFail) only_permanent_failures_ = false;
  ErrorClass before = furthest_;
  furthest_ = FurthestStage(furthest_, v.error);
  // Keep the reply of the furthest stage; at equal stage the latest host's reply.
  if (furthest_ != before || v.error == furthest_) {
    furthest_reply_ = v.reply;
    furthest_host_ = config_.host_name;
    furthest_ip_ = config_.address;
  }
}

void DeliveryAttempt::SetOutcome(size_t idx, OutcomeKind kind, ErrorClass error,
                                 const SmtpReply& reply) {
  RecipientOutcome o;
  o.kind = kind;
  o.error = kind == OutcomeKind::kDelivered ? ErrorClass::kNone : error;
  o.reply = reply;
  o.host = config_.host_name;
  o.ip = config_.address;
  if (kind == OutcomeKind::kDelivered) {
    o.final_delivery = protocol_ == RelayProtocol::kLmtp;
    o.dsn_passed_on = session_ && session_->capabilities().dsn && !o.final_delivery;
  }
  outcomes_[idx] = std::move(o);
}

void DeliveryAttempt::FailAllPending(OutcomeKind kind, ErrorClass error, const SmtpReply& reply) {
  for (size_t idx : pending_) SetOutcome(idx, kind, error, reply);
  pending_.clear();
}

void DeliveryAttempt::Finish() {
  LeaveSession();
  permit_.reset();
  if (!pending_.empty()) {
    SmtpReply reply = furthest_reply_;
    ErrorClass error = furthest_;
    OutcomeKind kind = OutcomeKind::kTempFail;
    if (!any_failure_) {
      reply = SmtpReply{451, "4.4.4", "no host to deliver to"};
      error = ErrorClass::kDns;
    } else if (only_permanent_failures_) {
      kind = OutcomeKind::kPermFail;  // e.g. no host offers SMTPUTF8: 5.6.7 (RFC 6531 §3.2)
    }
    for (size_t idx : pending_) {
      RecipientOutcome o;
      o.kind = kind;
      o.error = error;
      o.reply = reply;
      o.host = furthest_host_;
      o.ip = furthest_ip_;
      outcomes_[idx] = std::move(o);
    }
    pending_.clear();
  }
  for (auto& o : outcomes_) result_.outcomes.push_back(std::move(*o));
  auto done = std::move(done_);
  DeliveryResult result = std::move(result_);
  owner_.dispatcher_.Post(
      [done, result = std::move(result)]() mutable { done(std::move(result)); });
  owner_.Finished(this);  // deferred delete: `this` stays valid until the current callback ends
}

}  // namespace outpost::transport::smtp
