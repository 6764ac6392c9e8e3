#include "transport/tlspolicy/tls_rpt.h"

#include <cstdio>

#include "common/time_format.h"

namespace outpost::transport::tlspolicy {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWsp(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// Splits on `delim`, trimming whitespace around each part.
std::vector<std::string_view> Split(std::string_view s, char delim) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = s.find(delim);
    parts.push_back(Trim(s.substr(0, at)));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return parts;
}

StatusOr<TlsRptRecord> ParseOneRecord(std::string_view record) {
  std::vector<std::string_view> fields = Split(record, ';');
  // fields[0] is "v=TLSRPTv1"; a trailing ';' leaves one empty last field.
  if (fields.size() > 1 && fields.back().empty()) fields.pop_back();
  TlsRptRecord out;
  bool have_rua = false;
  for (size_t i = 1; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    size_t eq = f.find('=');
    if (f.empty() || eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("TLS-RPT TXT: malformed field '" + std::string(f) + "'");
    }
    if (f.substr(0, eq) != "rua") continue;  // extensions are ignored
    if (have_rua) return Status::InvalidArgument("TLS-RPT TXT: duplicate rua");
    have_rua = true;
    for (std::string_view uri : Split(f.substr(eq + 1), ',')) {
      bool printable = !uri.empty();
      for (char c : uri) printable = printable && c > 0x20 && c < 0x7f;
      if (!printable) return Status::InvalidArgument("TLS-RPT TXT: malformed rua URI");
      if (StartsWithNoCase(uri, "mailto:") || StartsWithNoCase(uri, "https://")) {
        out.rua.emplace_back(uri);
      }
    }
  }
  if (!have_rua) return Status::InvalidArgument("TLS-RPT TXT: no rua field");
  if (out.rua.empty()) return Status::InvalidArgument("TLS-RPT TXT: no mailto: or https: rua");
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void AppendField(std::string& out, std::string_view key, std::string_view value, bool comma) {
  if (comma) out += ",";
  AppendJsonString(out, key);
  out += ":";
  AppendJsonString(out, value);
}

void AppendStringArray(std::string& out, std::string_view key,
                       const std::vector<std::string>& values) {
  out += ",";
  AppendJsonString(out, key);
  out += ":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(out, values[i]);
  }
  out += "]";
}

void AppendFailure(std::string& out, const TlsRptFailure& f, uint64_t count) {
  out += "{";
  AppendField(out, "result-type", TlsRptResultTypeName(f.result_type), false);
  // Optional fields appear only when known (RFC 8460 §4.4 marks them optional).
  if (!f.sending_mta_ip.empty()) AppendField(out, "sending-mta-ip", f.sending_mta_ip, true);
  if (!f.receiving_mx_hostname.empty()) {
    AppendField(out, "receiving-mx-hostname", f.receiving_mx_hostname, true);
  }
  if (!f.receiving_mx_helo.empty())
    AppendField(out, "receiving-mx-helo", f.receiving_mx_helo, true);
  if (!f.receiving_ip.empty()) AppendField(out, "receiving-ip", f.receiving_ip, true);
  out += ",\"failed-session-count\":" + std::to_string(count);
  if (!f.additional_information.empty()) {
    AppendField(out, "additional-information", f.additional_information, true);
  }
  if (!f.failure_reason_code.empty()) {
    AppendField(out, "failure-reason-code", f.failure_reason_code, true);
  }
  out += "}";
}

}  // namespace

StatusOr<TlsRptRecord> ParseTlsRptTxt(const std::vector<std::string>& txt_records) {
  const std::string* found = nullptr;
  for (const auto& r : txt_records) {
    if (r.rfind("v=TLSRPTv1", 0) != 0) continue;
    if (r.size() > 10 && r[10] != ';' && !IsWsp(r[10])) continue;  // "v=TLSRPTv10" is not ours
    if (found != nullptr) return Status::InvalidArgument("TLS-RPT TXT: more than one record");
    found = &r;
  }
  if (found == nullptr) return Status::NotFound("no v=TLSRPTv1 TXT record");
  return ParseOneRecord(*found);
}

std::string_view TlsRptPolicyTypeName(TlsRptPolicyType t) {
  switch (t) {
    case TlsRptPolicyType::kSts:
      return "sts";
    case TlsRptPolicyType::kTlsa:
      return "tlsa";
    case TlsRptPolicyType::kNoPolicyFound:
      return "no-policy-found";
  }
  return "no-policy-found";
}

std::string_view TlsRptResultTypeName(TlsRptResultType t) {
  switch (t) {
    case TlsRptResultType::kStartTlsNotSupported:
      return "starttls-not-supported";
    case TlsRptResultType::kCertificateHostMismatch:
      return "certificate-host-mismatch";
    case TlsRptResultType::kCertificateExpired:
      return "certificate-expired";
    case TlsRptResultType::kCertificateNotTrusted:
      return "certificate-not-trusted";
    case TlsRptResultType::kValidationFailure:
      return "validation-failure";
    case TlsRptResultType::kTlsaInvalid:
      return "tlsa-invalid";
    case TlsRptResultType::kDnssecInvalid:
      return "dnssec-invalid";
    case TlsRptResultType::kDaneRequired:
      return "dane-required";
    case TlsRptResultType::kStsPolicyFetchError:
      return "sts-policy-fetch-error";
    case TlsRptResultType::kStsPolicyInvalid:
      return "sts-policy-invalid";
    case TlsRptResultType::kStsWebpkiInvalid:
      return "sts-webpki-invalid";
  }
  return "validation-failure";
}

void TlsRptCollector::RecordSuccess(const TlsRptPolicy& policy) {
  ++domains_[policy.policy_domain][policy].successful_sessions;
}

void TlsRptCollector::RecordFailure(const TlsRptPolicy& policy, const TlsRptFailure& failure) {
  TlsRptPolicyStats& stats = domains_[policy.policy_domain][policy];
  ++stats.failed_sessions;
  ++stats.failures[failure];
}

void TlsRptCollector::Merge(const TlsRptCollector& other) {
  for (const auto& [domain, policies] : other.domains_) {
    auto& mine = domains_[domain];
    for (const auto& [policy, stats] : policies) {
      TlsRptPolicyStats& s = mine[policy];
      s.successful_sessions += stats.successful_sessions;
      s.failed_sessions += stats.failed_sessions;
      for (const auto& [failure, count] : stats.failures) s.failures[failure] += count;
    }
  }
}

const std::map<TlsRptPolicy, TlsRptPolicyStats>& TlsRptCollector::ForDomain(
    std::string_view domain) const {
  static const std::map<TlsRptPolicy, TlsRptPolicyStats> kEmpty;
  auto it = domains_.find(domain);
  return it == domains_.end() ? kEmpty : it->second;
}

std::vector<std::string> TlsRptCollector::Domains() const {
  std::vector<std::string> out;
  for (const auto& [domain, policies] : domains_) out.push_back(domain);
  return out;
}

std::string BuildTlsRptReportJson(const TlsRptReportInfo& info,
                                  const std::map<TlsRptPolicy, TlsRptPolicyStats>& policies) {
  std::string out = "{";
  AppendField(out, "organization-name", info.organization_name, false);
  out += ",\"date-range\":{";
  AppendField(out, "start-datetime", FormatRfc3339(info.start_unix_ms), false);
  AppendField(out, "end-datetime", FormatRfc3339(info.end_unix_ms), true);
  out += "}";
  AppendField(out, "contact-info", info.contact_info, true);
  AppendField(out, "report-id", info.report_id, true);
  out += ",\"policies\":[";
  bool first = true;
  for (const auto& [policy, stats] : policies) {
    if (!first) out += ",";
    first = false;
    out += "{\"policy\":{";
    AppendField(out, "policy-type", TlsRptPolicyTypeName(policy.type), false);
    if (!policy.policy_strings.empty()) {
      AppendStringArray(out, "policy-string", policy.policy_strings);
    }
    AppendField(out, "policy-domain", policy.policy_domain, true);
    if (!policy.mx_hosts.empty()) AppendStringArray(out, "mx-host", policy.mx_hosts);
    out += "},\"summary\":{\"total-successful-session-count\":" +
           std::to_string(stats.successful_sessions) +
           ",\"total-failure-session-count\":" + std::to_string(stats.failed_sessions) + "}";
    if (!stats.failures.empty()) {
      out += ",\"failure-details\":[";
      bool first_failure = true;
      for (const auto& [failure, count] : stats.failures) {
        if (!first_failure) out += ",";
        first_failure = false;
        AppendFailure(out, failure, count);
      }
      out += "]";
    }
    out += "}";
  }
  out += "]}";
  return out;
}

std::string TlsRptReportId(int64_t start_unix_ms, std::string_view domain, uint64_t serial,
                           std::string_view reporter_host) {
  std::string day = FormatRfc3339(start_unix_ms).substr(0, 10);
  return day + "." + std::string(domain) + "." + std::to_string(serial) + "@" +
         std::string(reporter_host);
}

}  // namespace outpost::transport::tlspolicy
