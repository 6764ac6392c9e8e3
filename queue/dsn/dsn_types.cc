#include "queue/dsn/dsn_types.h"

#include <array>

#include "queue/dsn/field_codec.h"

namespace outpost::dsn {
namespace {

constexpr std::array<std::string_view, 5> kActionNames = {"failed", "delayed", "delivered",
                                                          "relayed", "expanded"};

}  // namespace

std::string_view DsnActionName(DsnAction a) { return kActionNames[static_cast<size_t>(a)]; }

std::optional<DsnAction> ParseDsnAction(std::string_view s) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (EqualsIgnoreCase(s, kActionNames[i])) return static_cast<DsnAction>(i);
  }
  return std::nullopt;
}

DsnEvent EventOfAction(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed:
      return DsnEvent::kFailure;
    case DsnAction::kDelayed:
      return DsnEvent::kDelay;
    case DsnAction::kDelivered:
    case DsnAction::kRelayed:
    case DsnAction::kExpanded:
      return DsnEvent::kSuccess;
  }
  return DsnEvent::kFailure;
}

}  // namespace outpost::dsn
