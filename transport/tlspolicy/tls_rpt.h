#pragma once

// TLS-RPT (RFC 8460): the `_smtp._tls` TXT record, per-domain session counters, and the daily
// aggregate JSON report (§4). Delivering the report (HTTPS POST, or mail through our own queue
// with source 'report') is the daemon's job; this file only produces the bytes.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/status.h"

namespace outpost::transport::tlspolicy {

// `_smtp._tls.<domain>` TXT: "v=TLSRPTv1; rua=mailto:a@example.org,https://r.example/v1".
struct TlsRptRecord {
  std::vector<std::string> rua;  // "mailto:..." or "https://..." URIs, in record order
};
// From every TXT string at `_smtp._tls.<domain>`: records not starting with "v=TLSRPTv1" are
// discarded; exactly one must remain (RFC 8460 §3), with a rua of at least one mailto: or
// https: URI (other schemes are dropped). NotFound when none, InvalidArgument otherwise.
StatusOr<TlsRptRecord> ParseTlsRptTxt(const std::vector<std::string>& txt_records);

enum class TlsRptPolicyType { kSts, kTlsa, kNoPolicyFound };
std::string_view TlsRptPolicyTypeName(TlsRptPolicyType t);

// RFC 8460 §4.3.2.1-§4.3.2.3 result types.
enum class TlsRptResultType {
  kStartTlsNotSupported,
  kCertificateHostMismatch,
  kCertificateExpired,
  kCertificateNotTrusted,
  kValidationFailure,
  kTlsaInvalid,
  kDnssecInvalid,
  kDaneRequired,
  kStsPolicyFetchError,
  kStsPolicyInvalid,
  kStsWebpkiInvalid,
};
std::string_view TlsRptResultTypeName(TlsRptResultType t);

// The policy a session was evaluated against (§4.4 "policy").
struct TlsRptPolicy {
  TlsRptPolicyType type = TlsRptPolicyType::kNoPolicyFound;
  std::vector<std::string> policy_strings;  // TLSA records ("3 1 1 ab..") or STS policy lines
  std::string policy_domain;                // the recipient domain
  std::vector<std::string> mx_hosts;        // STS mx patterns (sts only)
  auto Key() const { return std::tie(type, policy_strings, policy_domain, mx_hosts); }
  friend bool operator<(const TlsRptPolicy& a, const TlsRptPolicy& b) { return a.Key() < b.Key(); }
};

// One failed session's details; identical details are aggregated into failed-session-count.
struct TlsRptFailure {
  TlsRptResultType result_type = TlsRptResultType::kValidationFailure;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::string additional_information;  // a URI, optional
  std::string failure_reason_code;     // free text, optional
  auto Key() const {
    return std::tie(result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
                    receiving_ip, additional_information, failure_reason_code);
  }
  friend bool operator<(const TlsRptFailure& a, const TlsRptFailure& b) {
    return a.Key() < b.Key();
  }
};

struct TlsRptPolicyStats {
  uint64_t successful_sessions = 0;
  uint64_t failed_sessions = 0;
  std::map<TlsRptFailure, uint64_t> failures;  // detail -> failed-session-count
};

// Counters for one reporting period, by policy domain then policy. Not thread-safe: one
// collector per loop thread (merge with Merge() when reporting).
class TlsRptCollector {
 public:
  void RecordSuccess(const TlsRptPolicy& policy);
  void RecordFailure(const TlsRptPolicy& policy, const TlsRptFailure& failure);
  void Merge(const TlsRptCollector& other);

  // The counters of `domain` (empty map if none), and every domain with counters.
  const std::map<TlsRptPolicy, TlsRptPolicyStats>& ForDomain(std::string_view domain) const;
  std::vector<std::string> Domains() const;
  // Forgets everything (after the period's reports were built).
  void Clear() { domains_.clear(); }

 private:
  std::map<std::string, std::map<TlsRptPolicy, TlsRptPolicyStats>, std::less<>> domains_;
};

// Report metadata (§4.4).
struct TlsRptReportInfo {
  std::string organization_name;
  std::string contact_info;
  std::string report_id;
  int64_t start_unix_ms = 0;  // the period, usually one UTC day
  int64_t end_unix_ms = 0;
};

// The JSON report for one policy domain (§4.4; `policies` is always an array). Field order
// follows the RFC's example; strings are escaped so peer-supplied text cannot break it.
std::string BuildTlsRptReportJson(const TlsRptReportInfo& info,
                                  const std::map<TlsRptPolicy, TlsRptPolicyStats>& policies);

// Report-ID of §4.4 style: "<start RFC3339>_<domain>@<organization host>" is common; we use
// "<yyyy-mm-dd>.<domain>.<serial>@<reporter>", unique per report.
std::string TlsRptReportId(int64_t start_unix_ms, std::string_view domain, uint64_t serial,
                           std::string_view reporter_host);

}  // namespace outpost::transport::tlspolicy
