#pragma once

#include <memory>

#include "transport/api/delivery.h"
#include "transport/dns/mx_planner.h"
#include "transport/dns/mx_resolver.h"
#include "transport/smtp/smtp_deliverer.h"

namespace outpost::daemon {

// The DeliveryAgent of Mx routes: MX plan for the recipients' domain (MxResolver: MX, then
// the hosts' addresses, null MX / NXDOMAIN / self checks) -> SmtpDeliverer over the planned
// hosts in order. A plan that cannot be made gives every recipient the planner's classified
// outcome (e.g. permanent 556 5.1.10 for a null MX, temporary `dns` for SERVFAIL).
//
// Loop thread only. `planner` and `deliverer` are not owned and outlive the agent. `done`
// runs exactly once, on the loop thread, never inside Deliver() (unless the agent, planner or
// deliverer is destroyed first; then it never runs).
class MxAgent final : public transport::DeliveryAgent {
 public:
  struct Options {
    transport::dns::MxSelfIdentity self;  // our names and listener addresses
    uint16_t port = 25;                   // SMTP port of every MX target
  };
  MxAgent(transport::dns::MxResolver& planner, transport::smtp::SmtpDeliverer& deliverer,
          Options options)
      : planner_(planner), deliverer_(deliverer), options_(std::move(options)) {}

  void Deliver(transport::DeliveryRequest request, DoneCallback done) override;

 private:
  transport::dns::MxResolver& planner_;
  transport::smtp::SmtpDeliverer& deliverer_;
  const Options options_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Every recipient gets the plan failure; the attempt record lists the skipped hosts, or the
// domain itself when nothing was tried.
transport::DeliveryResult PlanFailureResult(const transport::DeliveryRequest& request,
                                            const transport::dns::MxPlan& plan);

}  // namespace outpost::daemon
