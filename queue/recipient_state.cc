#include "queue/recipient_state.h"

namespace outpost::queue {

std::string_view RecipientStateName(RecipientState s) {
  switch (s) {
    case RecipientState::kScheduled:
      return "scheduled";
    case RecipientState::kDeferred:
      return "deferred";
    case RecipientState::kDelivered:
      return "delivered";
    case RecipientState::kFailed:
      return "failed";
    case RecipientState::kHeld:
      return "held";
    case RecipientState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<RecipientState> ParseRecipientState(std::string_view name) {
  for (RecipientState s : kAllRecipientStates) {
    if (RecipientStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::optional<RecipientState> RecipientStateFromProto(int value) {
  if (value < 1 || value > 6) return std::nullopt;
  return static_cast<RecipientState>(value);
}

bool IsLegalTransition(RecipientState from, RecipientState to) {
  using S = RecipientState;
  switch (from) {
    case S::kScheduled:
    case S::kDeferred:
      return true;
    case S::kHeld:
      return to == S::kScheduled || to == S::kDeferred || to == S::kCancelled;
    case S::kFailed:
      return to == S::kScheduled;
    case S::kDelivered:
    case S::kCancelled:
      return false;
  }
  return false;
}

}  // namespace outpost::queue
