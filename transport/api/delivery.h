#pragma once

// The contract between the scheduler and the delivery agents (Local/Maildir, SMTP, LMTP).
// Agents turn one DeliveryRequest into one DeliveryResult with an outcome per recipient.
// They never touch the store; the scheduler applies the result durably.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outpost::transport {

// The `last_error` classes of DESIGN.md §4, in the order an attempt progresses. When several
// hosts are tried, the attempt's class is the furthest stage any host reached
// (FurthestStage()): dns < connection < tls/dane/mta-sts < unexpected-reply.
enum class ErrorClass {
  kNone = 0,
  kDns,
  kConnection,
  kTls,
  kDane,
  kMtaSts,
  kUnexpectedReply,
  kRate,
  kConcurrency,
  kIo,
  kConfig,
};
// "none", "dns", "unexpected-reply", "connection", "tls", "dane", "mta-sts", "rate",
// "concurrency", "io", "config".
std::string_view ErrorClassName(ErrorClass c);
std::optional<ErrorClass> ParseErrorClass(std::string_view name);
// The class of the stage that got further; ties keep `a`.
ErrorClass FurthestStage(ErrorClass a, ErrorClass b);

// An SMTP reply (or a synthesized one for non-SMTP failures, e.g. 451 4.4.1 "connect failed").
struct SmtpReply {
  int code = 0;           // 0 when no reply was received
  std::string enhanced;   // "5.1.1", or empty
  std::string text;       // reply text, lines joined by "\n", bounded in size
};

enum class OutcomeKind { kDelivered, kTempFail, kPermFail };

struct RecipientOutcome {
  OutcomeKind kind = OutcomeKind::kTempFail;
  ErrorClass error = ErrorClass::kNone;  // kNone when delivered
  SmtpReply reply;
  std::string host;  // host name that gave the verdict ("" for Local)
  std::string ip;    // its address ("" for Local)
  // For success DSNs (RFC 3461): true when the next hop accepted NOTIFY (it offers DSN), so no
  // success DSN is ours to send; false when it does not (we say "relayed").
  bool dsn_passed_on = false;
  // "delivered" for Local/LMTP final delivery, "relayed" for an SMTP hop.
  bool final_delivery = false;
};

// One host/IP tried during the attempt, for the attempt history and logs.
struct HostAttempt {
  std::string host;
  std::string ip;
  ErrorClass error = ErrorClass::kNone;
  SmtpReply reply;
  int64_t duration_ms = 0;
};

struct DeliveryResult {
  std::vector<RecipientOutcome> outcomes;  // same order and size as DeliveryRequest::recipients
  std::vector<HostAttempt> hosts_tried;
  // True when the connection was lost or timed out after the final dot: the peer may already
  // have the message, so a retry may duplicate it.
  bool possible_duplicate = false;
};

// DSN NOTIFY flags (RFC 3461); none set means "not specified".
struct NotifyFlags {
  bool never = false, success = false, failure = false, delay = false;
  bool specified() const { return never || success || failure || delay; }
};

struct DeliveryRecipient {
  std::string address;  // as given in RCPT TO, without angle brackets
  std::string orcpt;    // ORCPT parameter value ("rfc822;addr"), may be empty
  NotifyFlags notify;
};

enum class DsnRet { kUnspecified, kFull, kHeaders };

struct DeliveryMessage {
  uint64_t id = 0;
  std::string return_path;  // "" for the null sender <>
  // The message exactly as stored: CRLF line endings, not dot-stuffed. Shared, never copied.
  std::shared_ptr<const std::string> body;
  bool smtputf8 = false;     // needs SMTPUTF8 (non-ASCII envelope)
  bool eight_bit = false;    // BODY=8BITMIME
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;
  // A TLS-RPT report (source 'report'): RFC 8460 §5.3.1 says it must be delivered despite
  // TLS policy failures and not counted in the next report, so DANE/MTA-STS are not applied.
  bool tls_report = false;
};

// Connection strategy resolved for one host/IP (DESIGN.md §3 connectionStrategies).
struct ConnectionPolicy {
  std::string strategy_name;
  std::string source_ip;     // "" = let the kernel choose
  std::string ehlo_hostname; // never empty when handed to a session
  std::chrono::milliseconds connect_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds greeting_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds ehlo_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds mail_from_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds rcpt_to_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};
};

enum class TlsMode { kDisable, kOptional, kRequire };

// TLS strategy resolved for one host (DESIGN.md §3 tlsStrategies).
struct TlsPolicy {
  std::string strategy_name;
  TlsMode starttls = TlsMode::kOptional;
  TlsMode dane = TlsMode::kOptional;
  TlsMode mta_sts = TlsMode::kOptional;
  bool allow_invalid_certs = false;
  std::chrono::milliseconds tls_timeout{std::chrono::minutes(3)};
  std::chrono::milliseconds mta_sts_timeout{std::chrono::minutes(5)};
};

// Where the transport stands when it asks for a per-host policy: the router's `mx`,
// `remote_ip` and `local_ip` variables.
struct HostContext {
  std::string mx;         // host name, no trailing dot
  std::string remote_ip;  // "" until an address is chosen
  std::string local_ip;   // "" unless a source IP is bound
};

// Evaluates the connection and TLS strategy expressions for a host. Implemented by the
// scheduler over the router. Called on the loop thread; must not block.
class HostPolicySource {
 public:
  virtual ~HostPolicySource() = default;
  // An error string (e.g. an unknown strategy name) makes that host's attempt a temporary
  // failure with ErrorClass::kConfig.
  virtual bool ConnectionFor(const HostContext& host, ConnectionPolicy* out,
                             std::string* error) = 0;
  virtual bool TlsFor(const HostContext& host, TlsPolicy* out, std::string* error) = 0;
};

// Route shapes the agents understand (DESIGN.md §3 routes), already validated by the router.
struct LocalRoute {};

enum class IpLookupStrategy { kV4ThenV6, kV6ThenV4, kV4Only, kV6Only };

struct MxRoute {
  std::string domain;  // recipient domain of this transaction
  uint32_t max_mx_hosts = 5;
  uint32_t max_multihomed = 2;
  IpLookupStrategy ip_lookup = IpLookupStrategy::kV4ThenV6;
};

enum class RelayProtocol { kSmtp, kLmtp };

struct RelayRoute {
  std::string address;  // host name or IP literal
  uint16_t port = 25;
  RelayProtocol protocol = RelayProtocol::kSmtp;
  bool implicit_tls = false;
  bool allow_invalid_certs = false;
  std::string auth_username;  // empty = no AUTH
  std::string auth_secret;    // resolved secret; never logged
  uint32_t concurrency = 10;
};

// One host of an ordered delivery plan: the MX planner's output for Mx routes, the relay
// host for Relay routes. Addresses are already resolved and ordered by ipLookupStrategy and
// capped at maxMultihomed; the SMTP client tries them in order (next address on connect
// failure), then moves to the next host (DESIGN.md §4 failover rules).
struct TargetHost {
  std::string name;                    // host name, no trailing dot (or an IP literal)
  std::vector<std::string> addresses;  // IPv4/IPv6 literals
  uint16_t port = 25;
  // Mx routes: the MX answer and every address answer used for this host were DNSSEC-
  // authenticated (AD bit from the validating resolver): DANE may apply (RFC 7672 §2.2).
  bool dnssec_secure = false;
};

struct DeliveryRequest {
  std::string route_name;
  std::variant<LocalRoute, MxRoute, RelayRoute> route;
  DeliveryMessage message;
  std::vector<DeliveryRecipient> recipients;  // all share this route (and domain for Mx)
  HostPolicySource* policy = nullptr;         // not owned; outlives the delivery
  // The scheduler's probe of a destination it had marked down and whose down period ended:
  // connect for real even to hosts the transport still remembers as down (its own memory may
  // outlast the scheduler's, and a probe answered from memory would keep a destination that
  // came back marked down for another, doubled, period).
  bool probe = false;
};

// A delivery agent. Deliver() is called on the loop thread; `done` is called exactly once, on
// the loop thread, never from inside Deliver() itself (always posted), even on early errors.
class DeliveryAgent {
 public:
  using DoneCallback = std::function<void(DeliveryResult)>;
  virtual ~DeliveryAgent() = default;
  virtual void Deliver(DeliveryRequest request, DoneCallback done) = 0;
};

}  // namespace outpost::transport
