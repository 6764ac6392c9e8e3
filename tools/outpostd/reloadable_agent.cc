#include "tools/outpostd/reloadable_agent.h"

#include <algorithm>
#include <utility>

namespace outpost::daemon {

ReloadableAgent::ReloadableAgent(Dispatcher& dispatcher,
                                 std::unique_ptr<transport::DeliveryAgent> agent)
    : dispatcher_(dispatcher), current_(std::make_shared<Slot>()) {
  current_->agent = std::move(agent);
}

void ReloadableAgent::Replace(std::unique_ptr<transport::DeliveryAgent> agent) {
  auto fresh = std::make_shared<Slot>();
  fresh->agent = std::move(agent);
  std::shared_ptr<Slot> old = std::exchange(current_, std::move(fresh));
  if (old->in_flight > 0) {
    retired_.push_back(std::move(old));
  } else {
    dispatcher_.Post([old]() {});  // not from inside a callback of its own, but be uniform
  }
}

void ReloadableAgent::Deliver(transport::DeliveryRequest request, DoneCallback done) {
  std::shared_ptr<Slot> slot = current_;
  ++slot->in_flight;
  // The callback lives inside the slot's agent: a weak reference avoids a cycle, and a slot
  // that is gone means this object is gone too (then there is nothing to account).
  std::weak_ptr<Slot> weak = slot;
  slot->agent->Deliver(std::move(request),
                       [this, weak, done = std::move(done)](transport::DeliveryResult r) {
                         std::shared_ptr<Slot> s = weak.lock();
                         done(std::move(r));
                         if (s) Completed(s);
                       });
}

void ReloadableAgent::Completed(const std::shared_ptr<Slot>& slot) {
  if (--slot->in_flight > 0 || slot == current_) return;
  auto it = std::find(retired_.begin(), retired_.end(), slot);
  if (it == retired_.end()) return;
  // Hand the last reference to the loop: we are inside this agent's callback right now.
  dispatcher_.Post([keep = std::move(*it)]() {});
  retired_.erase(it);
}

}  // namespace outpost::daemon
