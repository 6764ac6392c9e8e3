#include "tools/outpostd/resolver_host_lookup.h"

#include <cctype>
#include <string_view>
#include <utility>

#include "transport/dns/mx_planner.h"
#include "transport/smtp/tls_client.h"

namespace outpost::daemon {

using transport::dns::DnsOutcome;
using transport::dns::DnsResult;
using transport::dns::DnsType;

struct ResolverHostLookup::Job {
  std::string host;
  std::vector<DnsType> types;  // still to ask, front first
  std::vector<std::string> addresses;
  std::string last_error;
  Callback done;
};

namespace {

bool IsLocalhost(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() != 9) return false;
  for (size_t i = 0; i < 9; ++i) {
    if (std::tolower(static_cast<unsigned char>(host[i])) != "localhost"[i]) return false;
  }
  return true;
}

}  // namespace

void ResolverHostLookup::Lookup(const std::string& host, transport::IpLookupStrategy strategy,
                                Callback done) {
  auto job = std::make_shared<Job>();
  job->host = host;
  job->done = std::move(done);
  auto types = transport::dns::AddressTypesFor(strategy);
  bool literal = transport::smtp::IsIpLiteral(host);
  if (!literal && !IsLocalhost(host)) {
    job->types = std::move(types);
    Next(std::move(job));
    return;
  }
  if (literal) {
    job->addresses = {host};
  } else {
    for (DnsType t : types) job->addresses.push_back(t == DnsType::kA ? "127.0.0.1" : "::1");
  }
  std::weak_ptr<bool> alive = alive_;
  dispatcher_.Post([alive, job]() {
    if (!alive.expired()) Finish(*job);
  });
}

void ResolverHostLookup::Finish(Job& job) {
  if (job.addresses.empty()) {
    job.done(Status::NotFound(job.host + ": " +
                              (job.last_error.empty() ? "no address" : job.last_error)));
  } else {
    job.done(std::move(job.addresses));
  }
}

// Asks the remaining address types one after the other (the order is the preference order).
void ResolverHostLookup::Next(std::shared_ptr<Job> job) {
  if (job->types.empty()) {
    Finish(*job);  // always inside a resolver callback here, so never inside Lookup()
    return;
  }
  DnsType type = job->types.front();
  job->types.erase(job->types.begin());
  std::weak_ptr<bool> alive = alive_;
  resolver_.Lookup(job->host, type, [this, alive, job](DnsResult r) {
    if (alive.expired()) return;
    if (r.outcome == DnsOutcome::kAnswer) {
      job->addresses.insert(job->addresses.end(), r.addresses.begin(), r.addresses.end());
    } else if (r.outcome != DnsOutcome::kNoData || job->last_error.empty()) {
      job->last_error = std::string(transport::dns::DnsOutcomeName(r.outcome)) +
                        (r.detail.empty() ? "" : " " + r.detail);
    }
    Next(job);
  });
}

}  // namespace outpost::daemon
