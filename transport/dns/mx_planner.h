#pragma once

// MX planning (RFC 5321 §5.1, RFC 7505, DESIGN.md §4), as pure functions over DNS results.
// MxResolver runs the lookups; these decide. Two stages because the self check by address
// needs the hosts' addresses:
//   SelectMxHosts:   MX answer -> ordered candidate hosts (or a classified failure)
//   AssignAddresses: candidates + their A/AAAA answers -> ordered TargetHosts

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "transport/api/delivery.h"
#include "transport/dns/dns_message.h"

namespace outpost::transport::dns {

// Who "we" are, to avoid sending mail to ourselves through our own MX entry.
struct MxSelfIdentity {
  std::vector<std::string> names;  // our host names (server.hostname, ...), any case
  struct Endpoint {
    std::string address;  // IP literal of a listener
    uint16_t port = 0;    // its port; 0 matches any port
  };
  // A target matches when its address equals one of these and its port matches, so a test
  // peer on 127.0.0.1:2526 is not mistaken for our listener on 127.0.0.1:2525.
  std::vector<Endpoint> endpoints;
};

struct MxPlanOptions {
  uint32_t max_mx_hosts = 5;
  uint32_t max_multihomed = 2;
  IpLookupStrategy ip_lookup = IpLookupStrategy::kV4ThenV6;
  uint16_t port = 25;  // the SMTP port of every target (25; tests point it elsewhere)
  MxSelfIdentity self;
};

// A plan that cannot be made. `kind` is kPermFail or kTempFail; `reply` is the synthesized
// reply the recipients get (e.g. 556 5.1.10 for a null MX).
struct MxPlanFailure {
  OutcomeKind kind = OutcomeKind::kTempFail;
  ErrorClass error = ErrorClass::kDns;
  SmtpReply reply;
};

struct MxCandidate {
  std::string name;  // lower case, no trailing dot
  uint16_t preference = 0;
};

struct MxCandidates {
  std::vector<MxCandidate> hosts;  // in the order to try them
  bool implicit_mx = false;        // no MX records: the domain itself (RFC 5321 §5.1)
  bool authenticated = false;      // the MX answer (or its denial) carried the AD bit
  std::optional<MxPlanFailure> failure;
};

// Stage 1. From the MX answer for `domain`: NXDOMAIN -> permanent 5.1.2; temporary failure ->
// temporary `dns`; a lone null MX (`0 .`) -> permanent 556 5.1.10 (null MX entries in a mixed
// set are ignored as misconfiguration); NODATA -> the implicit MX (the domain itself).
// Sorts by preference, shuffles equal preferences with `rng`, drops our own host and every MX
// at its preference or worse (nothing left -> permanent 5.4.6), then keeps max_mx_hosts.
MxCandidates SelectMxHosts(std::string_view domain, const DnsResult& mx_answer,
                           const MxPlanOptions& options, std::mt19937_64& rng);

// Which address lookups a strategy needs, in preference order.
std::vector<DnsType> AddressTypesFor(IpLookupStrategy strategy);

// The address answers of one candidate, one per type of AddressTypesFor(), in that order.
using HostAddressAnswers = std::vector<DnsResult>;

struct MxPlan {
  std::vector<TargetHost> hosts;
  // Candidates dropped for lack of a usable address, with the DNS error (for the attempt
  // record; error is kDns, reply text says why).
  std::vector<HostAttempt> skipped;
  std::optional<MxPlanFailure> failure;
  bool ok() const { return !failure.has_value(); }
};

// Stage 2. `answers[i]` belongs to `candidates.hosts[i]`. Addresses are ordered by the
// strategy (v4ThenV6: A records first) and capped at max_multihomed (0 counts as 1). A candidate
// with no address is skipped. A host is dnssec_secure when the MX answer and each of its address
// answers that gave addresses were authenticated. A candidate whose address is one of our endpoints removes itself and
// every candidate at its preference or worse (nothing left -> permanent 5.4.6).
// No host left: implicit MX whose domain has no address -> permanent 5.1.2; otherwise
// temporary `dns` 4.4.3 (an MX host's DNS may be fixed before the message expires).
MxPlan AssignAddresses(const MxCandidates& candidates,
                       const std::vector<HostAddressAnswers>& answers,
                       const MxPlanOptions& options);

}  // namespace outpost::transport::dns

namespace outpost::transport::dns {

// The planner options of an Mx route.
MxPlanOptions MxPlanOptionsFor(const MxRoute& route, MxSelfIdentity self, uint16_t port = 25);

}  // namespace outpost::transport::dns
