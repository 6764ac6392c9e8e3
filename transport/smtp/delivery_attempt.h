#pragma once

// One delivery of one message to an ordered host list: limiter permit -> per host/address a
// session (pooled or new) -> transactions of <= 100 recipients -> outcomes. Every failure goes
// through ClassifyFailure()/ClassifyRecipient(); this class only follows their verdicts.
// Internal to SmtpDeliverer; loop thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/api/delivery.h"
#include "transport/smtp/classify.h"
#include "transport/smtp/destination_limiter.h"
#include "transport/smtp/session.h"
#include "transport/tlspolicy/host_tls_evaluator.h"

namespace outpost::transport::smtp {

class SmtpDeliverer;

class DeliveryAttempt {
 public:
  DeliveryAttempt(SmtpDeliverer& owner, DeliveryRequest request, std::vector<TargetHost> hosts,
                  DeliveryAgent::DoneCallback done);
  ~DeliveryAttempt();
  void Start();

 private:
  void TryNext();
  bool ResolvePolicies(const TargetHost& host, const std::string& ip, ConnectionPolicy* conn,
                       TlsPolicy* tls);
  // DANE / MTA-STS for the current host (Mx routes with a tls_policy): looked up once per
  // host, then TryNext() again; a host the policy rules out is skipped here.
  void EvaluateHostTls(const TargetHost& host, const TlsPolicy& tls);
  void SkipHostForPolicy();
  // Under a DANE / MTA-STS requirement a TLS failure is that policy's (last_error dane /
  // mta-sts), and counts for TLS-RPT.
  void ApplyHostTlsToFailure(const SessionFailure& failure, FailureVerdict* verdict);
  const tlspolicy::HostTlsEvaluation* CurrentHostTls() const;
  void OpenSession(bool allow_pooled);
  void OnOpened(std::optional<SessionFailure> failure);
  void RunTransaction();
  void OnTransaction(TransactionResult result);
  void Follow(const FailureVerdict& verdict);
  void LeaveSession();
  void RecordHost(ErrorClass error, const SmtpReply& reply);
  void NoteFailure(const FailureVerdict& verdict);
  void SetOutcome(size_t idx, OutcomeKind kind, ErrorClass error, const SmtpReply& reply);
  void FailAllPending(OutcomeKind kind, ErrorClass error, const SmtpReply& reply);
  void Finish();
  FailureContext Context() const;

  SmtpDeliverer& owner_;
  DeliveryRequest request_;
  std::vector<TargetHost> hosts_;
  DeliveryAgent::DoneCallback done_;

  // Route parameters (RelayRoute, or MX defaults).
  RelayProtocol protocol_ = RelayProtocol::kSmtp;
  bool implicit_tls_ = false;
  bool route_allow_invalid_certs_ = false;
  std::string auth_username_, auth_secret_;

  DestinationLimiter::Permit permit_;
  std::vector<size_t> pending_;  // recipients without an outcome, in request order
  std::vector<std::optional<RecipientOutcome>> outcomes_;
  DeliveryResult result_;

  size_t host_idx_ = 0;
  size_t addr_idx_ = 0;
  bool plaintext_only_ = false;

  // The address being worked on.
  SessionConfig config_;
  std::string pool_key_;
  std::string down_key_;
  std::unique_ptr<SmtpSession> session_;
  bool reused_ = false;
  MonotonicTime host_started_;
  std::vector<size_t> chunk_;
  SmtpReply last_reply_;

  // What the remaining recipients get if no host delivers: the furthest stage reached.
  ErrorClass furthest_ = ErrorClass::kNone;
  SmtpReply furthest_reply_;
  std::string furthest_host_, furthest_ip_;
  bool only_permanent_failures_ = true;  // e.g. every host lacks SMTPUTF8 -> 5.6.7
  bool any_failure_ = false;

  // The TLS policy verdict of hosts_[host_tls_idx_].
  std::optional<tlspolicy::HostTlsEvaluation> host_tls_;
  size_t host_tls_idx_ = SIZE_MAX;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::smtp
