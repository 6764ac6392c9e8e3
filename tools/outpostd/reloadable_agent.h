#pragma once

#include <memory>
#include <vector>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"

namespace outpost::daemon {

// A DeliveryAgent whose implementation can be replaced at run time (SIGHUP: a Maildir agent
// built for the new localDomains/local.users/maildirRoot). The scheduler holds this one
// pointer for its whole life. A replaced agent is kept until its deliveries in flight have
// completed, then destroyed on the loop (never inside its own callback).
//
// Loop thread only. `dispatcher` outlives this object. Destroying this object destroys every
// agent it holds (their pending callbacks then never run, as the agents' contracts say).
class ReloadableAgent final : public transport::DeliveryAgent {
 public:
  ReloadableAgent(Dispatcher& dispatcher, std::unique_ptr<transport::DeliveryAgent> agent);

  void Replace(std::unique_ptr<transport::DeliveryAgent> agent);
  void Deliver(transport::DeliveryRequest request, DoneCallback done) override;

  size_t retired_count_for_test() const { return retired_.size(); }

 private:
  struct Slot {
    std::unique_ptr<transport::DeliveryAgent> agent;
    size_t in_flight = 0;
  };
  void Completed(const std::shared_ptr<Slot>& slot);

  Dispatcher& dispatcher_;
  std::shared_ptr<Slot> current_;
  std::vector<std::shared_ptr<Slot>> retired_;  // replaced, deliveries still in flight
};

}  // namespace outpost::daemon
