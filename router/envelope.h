#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace outpost::router {

// The variables an outbound expression can read (reference/stalwart.md §1.5). The numeric
// value is the slot an expression refers to once compiled.
enum class Variable : uint8_t {
  kRcpt,
  kRcptDomain,
  kRecipients,
  kSender,
  kSenderDomain,
  kPriority,
  kRetryNum,
  kNotifyNum,
  kExpiresIn,
  kLastStatus,
  kLastError,
  kQueueName,
  kQueueAge,
  kSource,
  kSize,
  kReceivedFromIp,
  kReceivedViaPort,
  kMx,        // HOST set only
  kRemoteIp,  // HOST set only
  kLocalIp,   // HOST set only
  kCount,
};

// Which variables an expression may use: route/schedule see the RCPT set, connection/tls the
// HOST set (RCPT set plus mx, remote_ip, local_ip).
enum class VariableSet { kRcpt, kHost };

std::string_view VariableName(Variable v);
std::optional<Variable> VariableByName(std::string_view name);
bool VariableAllowed(Variable v, VariableSet set);
// True for the variables whose value is always a string (rcpt, sender, mx, ...).
bool VariableIsString(Variable v);

// A bit per Variable; records which variables an evaluation read (for explanations).
using VariableMask = uint32_t;
constexpr VariableMask VariableBit(Variable v) { return VariableMask{1} << static_cast<int>(v); }

// What the expressions see for one recipient (and, for connection/tls, one host). Views only:
// the caller keeps the strings alive for the duration of the call. Defaults are those of a
// first attempt of a fresh recipient.
struct Envelope {
  std::string_view rcpt;         // lower-cased address
  std::string_view rcpt_domain;  // lower-cased domain
  std::span<const std::string> recipients;
  std::string_view sender;  // "" for the null sender
  std::string_view sender_domain;
  int64_t priority = 0;
  int64_t retry_num = 0;   // earlier attempts of this recipient (DESIGN.md §4)
  int64_t notify_num = 0;  // delay notices already sent
  int64_t expires_in = 0;  // seconds (Ttl) or attempts (Attempts) left
  std::string_view last_status = "Scheduled";
  std::string_view last_error = "none";
  std::string_view queue_name;
  int64_t queue_age = 0;  // seconds since the message was received
  std::string_view source = "unauthenticated";
  int64_t size = 0;
  std::string_view received_from_ip;
  int64_t received_via_port = 0;
  std::string_view mx;         // HOST set: host name without trailing dot, "" until chosen
  std::string_view remote_ip;  // HOST set: "" until chosen
  std::string_view local_ip;   // HOST set: "" unless a source IP is bound
};

// Splits "user@Example.ORG" into lower-cased address and domain (the part after the last '@';
// "" when there is none). Helper for callers building an Envelope.
struct SplitAddressResult {
  std::string address;
  std::string domain;
};
SplitAddressResult NormalizeAddress(std::string_view address);

}  // namespace outpost::router
