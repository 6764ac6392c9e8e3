#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "transport/dns/mx_planner.h"
#include "transport/dns/resolver.h"

namespace outpost::transport::dns {

// Makes the delivery plan of a domain: one MX lookup, then the A/AAAA lookups of every
// candidate host at once, then AssignAddresses(). Loop thread only.
//
//   MxResolver planner(resolver, seed);
//   planner.Plan("example.org", MxPlanOptionsFor(route, self), [](MxPlan plan) {
//     if (!plan.ok()) { /* plan.failure->kind / error / reply for every recipient */ }
//     /* else try plan.hosts in order; plan.skipped go into the attempt record */
//   });
class MxResolver {
 public:
  using Callback = std::function<void(MxPlan)>;

  // `resolver` is not owned and must outlive this. `seed` drives the equal-preference shuffle.
  MxResolver(Resolver& resolver, uint64_t seed);
  ~MxResolver();
  MxResolver(const MxResolver&) = delete;
  MxResolver& operator=(const MxResolver&) = delete;

  // Calls `done` exactly once, on the loop thread, never from inside Plan(), unless this
  // MxResolver is destroyed first (then never).
  void Plan(std::string_view domain, MxPlanOptions options, Callback done);

  size_t InFlightForTest() const { return jobs_.size(); }

 private:
  struct Job {
    std::string domain;
    MxPlanOptions options;
    Callback done;
    MxCandidates candidates;
    std::vector<HostAddressAnswers> answers;
    size_t outstanding = 0;
  };
  void OnMx(uint64_t id, DnsResult result);
  void OnAddress(uint64_t id, size_t host, size_t slot, DnsResult result);
  void Finish(uint64_t id, MxPlan plan);
  // Wraps a member continuation so it is dropped if this object is gone.
  template <typename F>
  Resolver::Callback Guard(F f);

  Resolver& resolver_;
  std::mt19937_64 rng_;
  std::map<uint64_t, Job> jobs_;
  uint64_t next_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::dns
