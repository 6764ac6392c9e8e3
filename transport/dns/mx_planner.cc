#include "transport/dns/mx_planner.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace outpost::transport::dns {
namespace {

MxPlanFailure Failure(OutcomeKind kind, int code, std::string enhanced, std::string text) {
  MxPlanFailure f;
  f.kind = kind;
  f.error = ErrorClass::kDns;
  f.reply = SmtpReply{code, std::move(enhanced), std::move(text)};
  return f;
}

MxPlanFailure LoopsBack(std::string_view domain) {
  return Failure(OutcomeKind::kPermFail, 550, "5.4.6",
                 "mail for " + std::string(domain) + " loops back to myself");
}

bool IsSelfName(const std::string& host, const MxSelfIdentity& self) {
  return std::any_of(self.names.begin(), self.names.end(),
                     [&](const std::string& n) { return NormalizeDnsName(n) == host; });
}

// Compares IP literals by value ("::1" == "0:0:0:0:0:0:0:1").
bool SameAddress(const std::string& a, const std::string& b) {
  unsigned char ba[16] = {}, bb[16] = {};
  int fa = a.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  int fb = b.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (fa != fb) return false;
  if (inet_pton(fa, a.c_str(), ba) != 1 || inet_pton(fb, b.c_str(), bb) != 1) return a == b;
  return std::memcmp(ba, bb, fa == AF_INET ? 4 : 16) == 0;
}

bool IsSelfEndpoint(const std::string& address, uint16_t port, const MxSelfIdentity& self) {
  return std::any_of(self.endpoints.begin(), self.endpoints.end(),
                     [&](const MxSelfIdentity::Endpoint& e) {
                       return (e.port == 0 || e.port == port) && SameAddress(e.address, address);
                     });
}

// Keeps only the candidates strictly more preferred than `preference`.
void DropFromPreference(std::vector<MxCandidate>* hosts, uint16_t preference) {
  std::erase_if(*hosts, [&](const MxCandidate& c) { return c.preference >= preference; });
}

}  // namespace

MxCandidates SelectMxHosts(std::string_view domain, const DnsResult& mx_answer,
                           const MxPlanOptions& options, std::mt19937_64& rng) {
  MxCandidates out;
  const std::string name = NormalizeDnsName(domain);
  out.authenticated = mx_answer.authenticated;
  switch (mx_answer.outcome) {
    case DnsOutcome::kNxDomain:
      out.failure = Failure(OutcomeKind::kPermFail, 550, "5.1.2",
                            "domain " + name + " does not exist (NXDOMAIN)");
      return out;
    case DnsOutcome::kTempFail:
      out.failure = Failure(OutcomeKind::kTempFail, 451, "4.4.3",
                            "MX lookup for " + name + " failed: " + mx_answer.detail);
      return out;
    case DnsOutcome::kNoData:
      out.implicit_mx = true;
      out.hosts.push_back(MxCandidate{name, 0});
      break;
    case DnsOutcome::kAnswer: {
      const auto& mx = mx_answer.mx;
      if (mx.size() == 1 && mx[0].exchange.empty()) {
        out.failure = Failure(OutcomeKind::kPermFail, 556, "5.1.10",
                              "domain " + name + " does not accept mail (null MX)");
        return out;
      }
      for (const MxRecord& r : mx) {
        if (!r.exchange.empty()) out.hosts.push_back(MxCandidate{r.exchange, r.preference});
      }
      if (out.hosts.empty()) {  // several null MX entries and nothing else
        out.failure = Failure(OutcomeKind::kPermFail, 556, "5.1.10",
                              "domain " + name + " does not accept mail (null MX)");
        return out;
      }
      break;
    }
  }

  std::stable_sort(
      out.hosts.begin(), out.hosts.end(),
      [](const MxCandidate& a, const MxCandidate& b) { return a.preference < b.preference; });
  for (auto first = out.hosts.begin(); first != out.hosts.end();) {
    auto last = std::find_if(first, out.hosts.end(), [&](const MxCandidate& c) {
      return c.preference != first->preference;
    });
    std::shuffle(first, last, rng);
    first = last;
  }

  for (const MxCandidate& c : out.hosts) {
    if (IsSelfName(c.name, options.self)) {
      DropFromPreference(&out.hosts, c.preference);
      if (out.hosts.empty()) out.failure = LoopsBack(name);
      break;  // hosts are sorted: the first self entry has the best preference of ours
    }
  }
  if (out.hosts.size() > options.max_mx_hosts) out.hosts.resize(options.max_mx_hosts);
  if (out.hosts.empty() && !out.failure) {
    out.failure = Failure(OutcomeKind::kTempFail, 451, "4.4.3",
                          "no MX host of " + name + " may be tried (maxMxHosts is 0)");
  }
  return out;
}

std::vector<DnsType> AddressTypesFor(IpLookupStrategy strategy) {
  switch (strategy) {
    case IpLookupStrategy::kV4ThenV6:
      return {DnsType::kA, DnsType::kAaaa};
    case IpLookupStrategy::kV6ThenV4:
      return {DnsType::kAaaa, DnsType::kA};
    case IpLookupStrategy::kV4Only:
      return {DnsType::kA};
    case IpLookupStrategy::kV6Only:
      return {DnsType::kAaaa};
  }
  return {DnsType::kA};
}

MxPlan AssignAddresses(const MxCandidates& candidates,
                       const std::vector<HostAddressAnswers>& answers,
                       const MxPlanOptions& options) {
  MxPlan plan;
  if (candidates.failure) {
    plan.failure = candidates.failure;
    return plan;
  }
  std::vector<MxCandidate> hosts = candidates.hosts;
  std::vector<std::vector<std::string>> addresses(hosts.size());
  std::vector<std::string> errors(hosts.size());
  std::vector<bool> secure(hosts.size(), candidates.authenticated);
  bool any_temporary = false;
  std::optional<uint16_t> self_preference;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const HostAddressAnswers empty;
    const HostAddressAnswers& host_answers = i < answers.size() ? answers[i] : empty;
    if (host_answers.empty()) {
      errors[i] = "no address lookup";
      any_temporary = true;
    }
    for (const DnsResult& a : host_answers) {
      if (a.outcome == DnsOutcome::kAnswer) {
        addresses[i].insert(addresses[i].end(), a.addresses.begin(), a.addresses.end());
        if (!a.authenticated) secure[i] = false;
        continue;
      }
      if (a.outcome == DnsOutcome::kTempFail) any_temporary = true;
      if (!errors[i].empty()) errors[i] += "; ";
      errors[i] += a.detail.empty() ? std::string(DnsOutcomeName(a.outcome)) : a.detail;
    }
    for (const std::string& addr : addresses[i]) {
      if (IsSelfEndpoint(addr, options.port, options.self) &&
          (!self_preference || hosts[i].preference < *self_preference)) {
        self_preference = hosts[i].preference;
      }
    }
  }

  for (size_t i = 0; i < hosts.size(); ++i) {
    if (self_preference && hosts[i].preference >= *self_preference) continue;
    if (addresses[i].empty()) {
      HostAttempt skipped;
      skipped.host = hosts[i].name;
      skipped.error = ErrorClass::kDns;
      skipped.reply = SmtpReply{0, "", "no address for " + hosts[i].name + ": " + errors[i]};
      plan.skipped.push_back(std::move(skipped));
      continue;
    }
    TargetHost target;
    target.name = hosts[i].name;
    target.port = options.port;
    target.addresses = std::move(addresses[i]);
    target.dnssec_secure = secure[i];
    const size_t cap = std::max<uint32_t>(1, options.max_multihomed);
    if (target.addresses.size() > cap) target.addresses.resize(cap);
    plan.hosts.push_back(std::move(target));
  }
  if (!plan.hosts.empty()) return plan;

  const std::string domain = candidates.hosts.empty() ? "" : candidates.hosts.front().name;
  const bool nothing_before_self =
      self_preference.has_value() &&
      std::none_of(hosts.begin(), hosts.end(),
                   [&](const MxCandidate& c) { return c.preference < *self_preference; });
  if (nothing_before_self) {
    plan.failure = LoopsBack(domain);
  } else if (candidates.implicit_mx && !any_temporary) {
    plan.failure = Failure(OutcomeKind::kPermFail, 550, "5.1.2",
                           "domain " + domain + " has no MX and no address records");
  } else {
    plan.failure = Failure(OutcomeKind::kTempFail, 451, "4.4.3",
                           candidates.implicit_mx ? "address lookup for " + domain + " failed"
                                                  : "no usable address for any MX host");
  }
  if (!plan.skipped.empty()) {
    plan.failure->reply.text += " (" + plan.skipped.front().reply.text + ")";
  }
  return plan;
}

}  // namespace outpost::transport::dns

namespace outpost::transport::dns {

MxPlanOptions MxPlanOptionsFor(const MxRoute& route, MxSelfIdentity self, uint16_t port) {
  MxPlanOptions o;
  o.max_mx_hosts = route.max_mx_hosts;
  o.max_multihomed = route.max_multihomed;
  o.ip_lookup = route.ip_lookup;
  o.port = port;
  o.self = std::move(self);
  return o;
}

}  // namespace outpost::transport::dns
