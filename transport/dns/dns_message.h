#pragma once

// DNS wire format, as pure functions: query bytes out, answer bytes in. No sockets, no clock,
// so every branch is unit-tested with hand-built packets and fuzzed (tests/transport/dns/).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace outpost::transport::dns {

// The record types Outpost asks for. CNAME and SOA only appear inside answers.
enum class DnsType : uint16_t {
  kA = 1,
  kCname = 5,
  kSoa = 6,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kTlsa = 52,
};
std::string_view DnsTypeName(DnsType type);

struct MxRecord {
  uint16_t preference = 0;
  std::string exchange;  // lower case, no trailing dot; "" is the root (null MX, RFC 7505)
  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

struct TlsaRecord {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::string data;  // raw association data bytes
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

// How a lookup ended, as the MX planner and DANE/MTA-STS need to tell it apart.
enum class DnsOutcome {
  kAnswer,    // NOERROR with records of the asked type (after following CNAMEs)
  kNoData,    // NOERROR, name exists, no records of that type
  kNxDomain,  // the name does not exist: permanent
  kTempFail,  // SERVFAIL, REFUSED, timeout, garbage...: try again later
};
std::string_view DnsOutcomeName(DnsOutcome outcome);

// The answer to one (name, type) question, already interpreted. Only the vector matching the
// asked type is filled.
struct DnsResult {
  DnsOutcome outcome = DnsOutcome::kTempFail;
  std::string detail;          // why, for kTempFail/kNxDomain ("SERVFAIL", "timeout", ...)
  bool authenticated = false;  // the AD bit of the answer (only meaningful from a validating,
                               // trusted resolver; recorded for DANE/MTA-STS)
  uint32_t ttl_seconds = 0;    // how long this result may be cached (0 = do not cache)
  std::string canonical_name;  // the name after following CNAMEs (lower case, no dot)
  std::vector<MxRecord> mx;
  std::vector<std::string> addresses;  // A / AAAA as text ("192.0.2.1", "2001:db8::1")
  std::vector<std::string> txt;        // one string per TXT record (its strings joined)
  std::vector<TlsaRecord> tlsa;

  static DnsResult TempFail(std::string detail) {
    DnsResult r;
    r.detail = std::move(detail);
    return r;
  }
};

// Builds a standard recursive query (RD and AD set so a validating resolver reports
// authenticity, RFC 6840 §5.7; EDNS0 OPT advertising 1232 bytes). `name` may end with a dot.
// InvalidArgument for names that cannot go on the wire (empty labels, labels over 63 bytes,
// over 255 bytes, spaces, backslashes, control characters).
StatusOr<std::string> BuildDnsQuery(std::string_view name, DnsType type, uint16_t id);

// Parses a response to the question (name, type) and interprets it: follows the CNAME chain
// from `name` (at most 16 links), collects the records of `type` for the final name, and maps
// the RCODE (NXDOMAIN -> kNxDomain; SERVFAIL, REFUSED, NOTIMP, FORMERR -> kTempFail). The TTL
// is the smallest TTL used; for kNoData/kNxDomain it is the SOA negative TTL when an SOA is in
// the authority section, else 0. Corruption for anything that is not a well-formed DNS response
// to that question (truncated, bad compression pointers, wrong question, not a response).
// Total: never crashes, never reads out of bounds, for any input.
StatusOr<DnsResult> ParseDnsResponse(std::span<const uint8_t> packet, std::string_view name,
                                     DnsType type);

// Lower case, without a trailing dot: the form names are compared in.
std::string NormalizeDnsName(std::string_view name);

}  // namespace outpost::transport::dns
