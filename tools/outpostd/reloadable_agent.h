#pragma once

#include <memory>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"

namespace outpost::daemon {

// A DeliveryAgent whose implementation can be replaced at run time (SIGHUP: a Maildir agent
// built for the new localDomains/local.users/maildirRoot). The scheduler holds this one
// pointer for its whole life; each delivery keeps the agent it started on alive until its
// `done` has run, so replacing never cuts a delivery short.
//
// Loop thread only. `dispatcher` outlives this object. The agent that is replaced is destroyed
// on the loop after its last delivery completed, never inside its own callback.
class ReloadableAgent final : public transport::DeliveryAgent {
 public:
  ReloadableAgent(Dispatcher& dispatcher, std::shared_ptr<transport::DeliveryAgent> agent)
      : dispatcher_(dispatcher), current_(std::move(agent)) {}

  void Replace(std::shared_ptr<transport::DeliveryAgent> agent) { current_ = std::move(agent); }
  void Deliver(transport::DeliveryRequest request, DoneCallback done) override;

 private:
  Dispatcher& dispatcher_;
  std::shared_ptr<transport::DeliveryAgent> current_;
};

}  // namespace outpost::daemon
