#include "queue/dsn/dsn_policy.h"

#include <array>
#include <utility>

namespace outpost::dsn {

SuccessPath SuccessPathOf(bool dsn_passed_on, bool final_delivery) {
  if (final_delivery) return SuccessPath::kFinalDelivery;
  return dsn_passed_on ? SuccessPath::kPassedOnToDsnHop : SuccessPath::kRelayedWithoutDsn;
}

bool DsnRequested(const NotifyFlags& notify, DsnEvent event, std::string_view return_path) {
  if (return_path.empty() || notify.never) return false;
  if (!notify.specified()) return event != DsnEvent::kSuccess;
  switch (event) {
    case DsnEvent::kFailure:
      return notify.failure;
    case DsnEvent::kDelay:
      return notify.delay;
    case DsnEvent::kSuccess:
      return notify.success;
  }
  return false;
}

std::optional<DsnAction> DueDsnAction(const NotifyFlags& notify, DsnEvent event,
                                      std::string_view return_path, SuccessPath path) {
  if (!DsnRequested(notify, event, return_path)) return std::nullopt;
  switch (event) {
    case DsnEvent::kFailure:
      return DsnAction::kFailed;
    case DsnEvent::kDelay:
      return DsnAction::kDelayed;
    case DsnEvent::kSuccess:
      switch (path) {
        case SuccessPath::kPassedOnToDsnHop:
          return std::nullopt;
        case SuccessPath::kRelayedWithoutDsn:
          return DsnAction::kRelayed;
        case SuccessPath::kFinalDelivery:
          return DsnAction::kDelivered;
      }
  }
  return std::nullopt;
}

std::vector<DsnGroup> GroupByEvent(std::vector<RecipientReport> reports) {
  std::array<DsnGroup, 3> by_event = {DsnGroup{DsnEvent::kFailure, {}},
                                      DsnGroup{DsnEvent::kDelay, {}},
                                      DsnGroup{DsnEvent::kSuccess, {}}};
  for (RecipientReport& r : reports) {
    by_event[static_cast<size_t>(EventOfAction(r.action))].recipients.push_back(std::move(r));
  }
  std::vector<DsnGroup> out;
  for (DsnGroup& g : by_event) {
    if (!g.recipients.empty()) out.push_back(std::move(g));
  }
  return out;
}

}  // namespace outpost::dsn
