#include "transport/tlspolicy/dane_policy.h"

#include <utility>

namespace outpost::transport::tlspolicy {
namespace {

constexpr uint8_t kUsageDaneTa = 2;
constexpr uint8_t kUsageDaneEe = 3;

DaneDecision Make(DaneVerdict verdict, std::string reason) {
  DaneDecision d;
  d.verdict = verdict;
  d.reason = std::move(reason);
  return d;
}

// Under `dane: require` every "DANE does not apply" becomes a permanent failure.
DaneDecision NoDaneOrFail(TlsMode mode, std::string reason) {
  if (mode == TlsMode::kRequire) {
    return Make(DaneVerdict::kFail, "DANE required: " + reason);
  }
  return Make(DaneVerdict::kNoDane, std::move(reason));
}

}  // namespace

std::string_view TlsaUsabilityName(TlsaUsability u) {
  switch (u) {
    case TlsaUsability::kUsable:
      return "usable";
    case TlsaUsability::kPkixUsage:
      return "pkix-usage";
    case TlsaUsability::kUnknownUsage:
      return "unknown-usage";
    case TlsaUsability::kUnknownSelector:
      return "unknown-selector";
    case TlsaUsability::kUnknownMatching:
      return "unknown-matching-type";
    case TlsaUsability::kBadDataLength:
      return "bad-data-length";
  }
  return "unknown";
}

TlsaUsability ClassifyTlsa(const TlsaRecord& record) {
  if (record.usage == 0 || record.usage == 1) return TlsaUsability::kPkixUsage;
  if (record.usage != kUsageDaneTa && record.usage != kUsageDaneEe) {
    return TlsaUsability::kUnknownUsage;
  }
  if (record.selector > 1) return TlsaUsability::kUnknownSelector;
  switch (record.matching_type) {
    case 0:
      if (record.data.empty()) return TlsaUsability::kBadDataLength;
      return TlsaUsability::kUsable;
    case 1:
      return record.data.size() == 32 ? TlsaUsability::kUsable : TlsaUsability::kBadDataLength;
    case 2:
      return record.data.size() == 64 ? TlsaUsability::kUsable : TlsaUsability::kBadDataLength;
    default:
      return TlsaUsability::kUnknownMatching;
  }
}

std::vector<TlsaRecord> UsableTlsaRecords(const std::vector<TlsaRecord>& records) {
  std::vector<TlsaRecord> usable;
  for (const auto& r : records) {
    if (ClassifyTlsa(r) == TlsaUsability::kUsable) usable.push_back(r);
  }
  return usable;
}

std::string TlsaToString(const TlsaRecord& record) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
                    std::to_string(record.matching_type) + " ";
  for (unsigned char c : record.data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

std::string TlsaQueryName(std::string_view mx_host, uint16_t port) {
  // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, falsely) on "_" + std::string&&.
  std::string name = "_";
  name += std::to_string(port);
  name += "._tcp.";
  name += dns::NormalizeDnsName(mx_host);
  return name;
}

std::string_view DaneVerdictName(DaneVerdict v) {
  switch (v) {
    case DaneVerdict::kNoDane:
      return "no-dane";
    case DaneVerdict::kAuthenticate:
      return "authenticate";
    case DaneVerdict::kTlsOnly:
      return "tls-only";
    case DaneVerdict::kDefer:
      return "defer";
    case DaneVerdict::kFail:
      return "fail";
  }
  return "unknown";
}

DaneDecision DecideDane(TlsMode mode, std::string_view mx_host, bool mx_secure,
                        const dns::DnsResult& tlsa) {
  if (mode == TlsMode::kDisable) return Make(DaneVerdict::kNoDane, "DANE disabled");
  if (!mx_secure) return NoDaneOrFail(mode, "MX not DNSSEC-authenticated");
  switch (tlsa.outcome) {
    case dns::DnsOutcome::kTempFail:
      // A bogus RRset reaches us as SERVFAIL (or a refused connection): indistinguishable from
      // a resolver outage, and both must defer so an attacker cannot downgrade by breaking DNS.
      return Make(DaneVerdict::kDefer, "TLSA lookup failed: " + tlsa.detail);
    case dns::DnsOutcome::kNoData:
    case dns::DnsOutcome::kNxDomain:
      if (!tlsa.authenticated) {
        // An unauthenticated denial could be forged, but then so could an insecure answer;
        // either way DANE does not apply to this host.
        return NoDaneOrFail(mode, "no authenticated TLSA denial");
      }
      return NoDaneOrFail(mode, "no TLSA records (authenticated denial)");
    case dns::DnsOutcome::kAnswer:
      break;
  }
  if (!tlsa.authenticated) return NoDaneOrFail(mode, "TLSA answer not DNSSEC-authenticated");
  DaneDecision d;
  d.records = UsableTlsaRecords(tlsa.tlsa);
  if (d.records.empty()) {
    if (mode == TlsMode::kRequire) {
      return Make(DaneVerdict::kFail, "DANE required: no usable TLSA records");
    }
    return Make(DaneVerdict::kTlsOnly, "TLSA records present, none usable");
  }
  d.verdict = DaneVerdict::kAuthenticate;
  d.reason = std::to_string(d.records.size()) + " usable TLSA record(s)";
  // The TLSA base domain: a DANE-TA chain must name it (RFC 7672 §3.2.2). A caller that
  // followed an MX host CNAME adds the expanded name to reference_names itself.
  d.reference_names.push_back(dns::NormalizeDnsName(mx_host));
  return d;
}

void DaneLookup::Lookup(std::string_view mx_host, uint16_t port, bool mx_secure, TlsMode mode,
                        Callback done) {
  std::string host(mx_host);
  if (mode == TlsMode::kDisable || !mx_secure) {
    DaneDecision d = DecideDane(mode, host, mx_secure, dns::DnsResult{});
    dispatcher_.Post([alive = alive_, d = std::move(d), done = std::move(done)]() mutable {
      if (*alive) done(std::move(d));
    });
    return;
  }
  resolver_.Lookup(TlsaQueryName(host, port), dns::DnsType::kTlsa,
                   [alive = alive_, host, mode, done = std::move(done)](dns::DnsResult r) {
                     if (!*alive) return;
                     done(DecideDane(mode, host, /*mx_secure=*/true, r));
                   });
}

}  // namespace outpost::transport::tlspolicy
