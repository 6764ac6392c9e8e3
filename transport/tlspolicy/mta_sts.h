#pragma once

// MTA-STS (RFC 8461) as pure functions: the `_mta-sts` TXT record, the policy file, and the
// MX pattern rules. Hostile input (a policy server is just another peer) gives a Status, never
// a crash; ParseMtaStsPolicy is fuzzed (tests/transport/tlspolicy/mta_sts_policy_fuzz.cc).

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace outpost::transport::tlspolicy {

// RFC 8461 §3.2: max_age is at most 31557600 s (about a year).
inline constexpr std::chrono::seconds kMtaStsMaxAge{31557600};
// The policy body limit senders should enforce (RFC 8461 §3.3 suggests 64 KB).
inline constexpr size_t kMtaStsMaxPolicyBytes = 64 * 1024;

// `_mta-sts.<domain>` TXT: "v=STSv1; id=20240101T000000;".
struct MtaStsTxt {
  std::string id;  // 1-32 alphanumerics; a change means "fetch the policy again"
};

// Takes every TXT string at `_mta-sts.<domain>` (dns::DnsResult::txt). Records not beginning
// with "v=STSv1" are discarded; exactly one must remain and be well formed (RFC 8461 §3.1),
// else NotFound (no record) or InvalidArgument (several, or malformed): either way the domain
// has no usable MTA-STS policy announcement.
StatusOr<MtaStsTxt> ParseMtaStsTxt(const std::vector<std::string>& txt_records);

enum class MtaStsMode { kEnforce, kTesting, kNone };
std::string_view MtaStsModeName(MtaStsMode mode);

struct MtaStsPolicy {
  MtaStsMode mode = MtaStsMode::kNone;
  std::vector<std::string> mx;  // patterns, lower case: "mx.example.org" or "*.example.org"
  std::chrono::seconds max_age{0};
  friend bool operator==(const MtaStsPolicy&, const MtaStsPolicy&) = default;
};

// Parses the policy file (RFC 8461 §3.2). Lines end in CRLF or LF; "key: value" with optional
// whitespace; unknown keys are ignored; for keys other than `mx` the first occurrence wins.
// Required: `version: STSv1`, `mode`, `max_age` (1-10 digits; larger than kMtaStsMaxAge is
// clamped to it), and at least one `mx` unless mode is none. Bodies over kMtaStsMaxPolicyBytes,
// NUL bytes and malformed mx patterns are InvalidArgument.
StatusOr<MtaStsPolicy> ParseMtaStsPolicy(std::string_view body);

// The canonical text of a policy (CRLF lines), which ParseMtaStsPolicy reads back unchanged and
// TLS-RPT reports as `policy-string` (one entry per line, see MtaStsPolicyLines).
std::string FormatMtaStsPolicy(const MtaStsPolicy& policy);
std::vector<std::string> MtaStsPolicyLines(const MtaStsPolicy& policy);

// RFC 8461 §4.1: "mx.example.org" matches itself; "*.example.org" matches exactly one extra
// leftmost label ("a.example.org", not "example.org" nor "a.b.example.org"). Case-insensitive,
// trailing dots ignored.
bool MxPatternMatches(std::string_view pattern, std::string_view host);
// True when some `mx` pattern of `policy` matches `host`.
bool PolicyAllowsMx(const MtaStsPolicy& policy, std::string_view host);

// "https://mta-sts.<domain>/.well-known/mta-sts.txt" parts.
std::string MtaStsPolicyHost(std::string_view domain);
inline constexpr std::string_view kMtaStsPolicyPath = "/.well-known/mta-sts.txt";

}  // namespace outpost::transport::tlspolicy
