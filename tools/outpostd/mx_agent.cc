#include "tools/outpostd/mx_agent.h"

#include <string>
#include <utility>
#include <variant>

#include "common/logging.h"
#include "storage/keys.h"

namespace outpost::daemon {

using transport::DeliveryRequest;
using transport::DeliveryResult;
using transport::ErrorClass;
using transport::MxRoute;
using transport::SmtpReply;

DeliveryResult PlanFailureResult(const DeliveryRequest& request,
                                 const transport::dns::MxPlan& plan) {
  const auto& f = *plan.failure;
  const auto& route = std::get<MxRoute>(request.route);
  DeliveryResult result;
  for (size_t i = 0; i < request.recipients.size(); ++i) {
    transport::RecipientOutcome o;
    o.kind = f.kind;
    o.error = f.error;
    o.reply = f.reply;
    o.host = route.domain;
    result.outcomes.push_back(std::move(o));
  }
  result.hosts_tried = plan.skipped;
  if (result.hosts_tried.empty()) {
    result.hosts_tried.push_back(transport::HostAttempt{route.domain, "", f.error, f.reply, 0});
  }
  return result;
}

void MxAgent::Deliver(DeliveryRequest request, DoneCallback done) {
  const auto* mx = std::get_if<MxRoute>(&request.route);
  if (mx == nullptr) {
    // A wiring bug, reported as data: a temporary `config` failure, posted by the deliverer.
    deliverer_.Deliver(std::move(request), {}, std::move(done));
    return;
  }
  std::string domain = mx->domain;
  auto options = transport::dns::MxPlanOptionsFor(*mx, options_.self, options_.port);
  auto shared = std::make_shared<DeliveryRequest>(std::move(request));
  std::weak_ptr<bool> alive = alive_;
  planner_.Plan(domain, std::move(options),
                [this, alive, shared, done = std::move(done)](transport::dns::MxPlan plan) {
                  if (alive.expired()) return;
                  if (!plan.ok()) {
                    OUTPOST_LOG_INFO("mx.plan_failed",
                                     {"id", storage::FormatMessageId(shared->message.id)},
                                     {"domain", std::get<MxRoute>(shared->route).domain},
                                     {"reply", plan.failure->reply.text});
                    done(PlanFailureResult(*shared, plan));
                    return;
                  }
                  auto skipped = std::move(plan.skipped);
                  deliverer_.Deliver(std::move(*shared), std::move(plan.hosts),
                                     [skipped = std::move(skipped), done](DeliveryResult result) {
                                       // Hosts dropped for lack of an address come first in the
                                       // record.
                                       result.hosts_tried.insert(result.hosts_tried.begin(),
                                                                 skipped.begin(), skipped.end());
                                       done(std::move(result));
                                     });
                });
}

}  // namespace outpost::daemon
