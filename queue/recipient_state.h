#pragma once

#include <optional>
#include <string_view>

namespace outpost::queue {

// A recipient's state (DESIGN.md §2). The values equal proto::RecipientState.
//   scheduled  due or waiting for its first/next attempt
//   deferred   a temporary failure happened; waits for the retry
//   delivered  accepted by the next hop or the mailbox (terminal)
//   failed     permanent failure or expired (terminal until replayed)
//   held       stopped by an operator until released
//   cancelled  stopped by an operator for good (terminal)
enum class RecipientState {
  kScheduled = 1,
  kDeferred = 2,
  kDelivered = 3,
  kFailed = 4,
  kHeld = 5,
  kCancelled = 6,
};

inline constexpr RecipientState kAllRecipientStates[] = {
    RecipientState::kScheduled, RecipientState::kDeferred, RecipientState::kDelivered,
    RecipientState::kFailed,    RecipientState::kHeld,     RecipientState::kCancelled};

std::string_view RecipientStateName(RecipientState s);  // "scheduled", ...
std::optional<RecipientState> ParseRecipientState(std::string_view name);
std::optional<RecipientState> RecipientStateFromProto(int value);

// The transition table. A "transition" to the same state is legal only where it means
// something (deferred -> deferred: another temporary failure; scheduled -> scheduled: a
// reschedule such as RetryNow or a notice sent).
//
//   from \ to   sched  defer  deliv  fail  held  cancel
//   scheduled     x      x      x     x     x      x
//   deferred      x      x      x     x     x      x
//   held          x      x      .     .     .      x
//   failed        x      .      .     .     .      .      (replay)
//   delivered     .      .      .     .     .      .
//   cancelled     .      .      .     .     .      .
bool IsLegalTransition(RecipientState from, RecipientState to);

// Waiting for delivery: indexed in the due index.
inline bool IsPending(RecipientState s) {
  return s == RecipientState::kScheduled || s == RecipientState::kDeferred;
}
// Not finished: scheduled, deferred or held.
inline bool IsActive(RecipientState s) { return IsPending(s) || s == RecipientState::kHeld; }
// The body must be kept (failed recipients may be replayed).
inline bool NeedsBody(RecipientState s) { return IsActive(s) || s == RecipientState::kFailed; }

}  // namespace outpost::queue
