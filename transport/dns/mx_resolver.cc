#include "transport/dns/mx_resolver.h"

namespace outpost::transport::dns {

MxResolver::MxResolver(Resolver& resolver, uint64_t seed) : resolver_(resolver), rng_(seed) {}

MxResolver::~MxResolver() = default;

template <typename F>
Resolver::Callback MxResolver::Guard(F f) {
  return [alive = std::weak_ptr<bool>(alive_), f = std::move(f)](DnsResult r) mutable {
    if (alive.lock()) f(std::move(r));
  };
}

void MxResolver::Plan(std::string_view domain, MxPlanOptions options, Callback done) {
  const uint64_t id = next_id_++;
  Job& job = jobs_[id];
  job.domain = NormalizeDnsName(domain);
  job.options = std::move(options);
  job.done = std::move(done);
  resolver_.Lookup(job.domain, DnsType::kMx,
                   Guard([this, id](DnsResult r) { OnMx(id, std::move(r)); }));
}

void MxResolver::OnMx(uint64_t id, DnsResult result) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.candidates = SelectMxHosts(job.domain, result, job.options, rng_);
  if (job.candidates.failure) {
    Finish(id, AssignAddresses(job.candidates, {}, job.options));
    return;
  }
  const std::vector<DnsType> types = AddressTypesFor(job.options.ip_lookup);
  job.answers.assign(job.candidates.hosts.size(), HostAddressAnswers(types.size()));
  job.outstanding = job.candidates.hosts.size() * types.size();
  // Copy the names first: a lookup never completes inline, but keep the loop independent of
  // `job` staying put.
  std::vector<std::string> names;
  for (const MxCandidate& c : job.candidates.hosts) names.push_back(c.name);
  for (size_t host = 0; host < names.size(); ++host) {
    for (size_t slot = 0; slot < types.size(); ++slot) {
      resolver_.Lookup(names[host], types[slot], Guard([this, id, host, slot](DnsResult r) {
                         OnAddress(id, host, slot, std::move(r));
                       }));
    }
  }
}

void MxResolver::OnAddress(uint64_t id, size_t host, size_t slot, DnsResult result) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.answers[host][slot] = std::move(result);
  if (--job.outstanding > 0) return;
  Finish(id, AssignAddresses(job.candidates, job.answers, job.options));
}

void MxResolver::Finish(uint64_t id, MxPlan plan) {
  auto it = jobs_.find(id);
  Callback done = std::move(it->second.done);
  jobs_.erase(it);
  done(std::move(plan));
}

}  // namespace outpost::transport::dns
