#include "tools/outpostd/reloadable_agent.h"

#include <utility>

namespace outpost::daemon {

void ReloadableAgent::Deliver(transport::DeliveryRequest request, DoneCallback done) {
  std::shared_ptr<transport::DeliveryAgent> agent = current_;
  transport::DeliveryAgent* raw = agent.get();
  // Captures the dispatcher, not `this`: a completion may arrive after this object is gone.
  Dispatcher& dispatcher = dispatcher_;
  raw->Deliver(std::move(request), [&dispatcher, agent = std::move(agent), done = std::move(done)](
                                       transport::DeliveryResult result) mutable {
    done(std::move(result));
    // This callback lives inside `agent`: hand the last reference to the loop so
    // a replaced agent is destroyed after the callback has returned.
    dispatcher.Post([keep = agent]() {});
  });
}

}  // namespace outpost::daemon
