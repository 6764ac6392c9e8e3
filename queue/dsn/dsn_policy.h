#pragma once

// Pure decisions: is a DSN due for this recipient and event, which Action does a success
// report carry, and how several recipients of one message are grouped into reports.
// (RFC 3461 §4.1, RFC 5321 §4.5.5/§6.1, DESIGN.md §4.)

#include <optional>
#include <string_view>
#include <vector>

#include "queue/dsn/dsn_types.h"

namespace outpost::dsn {

// How a successful delivery ended, as reported by the delivery agent.
enum class SuccessPath {
  kPassedOnToDsnHop,   // an SMTP hop that offers DSN accepted NOTIFY: it reports, not us
  kRelayedWithoutDsn,  // an SMTP hop without DSN: we say "relayed"
  kFinalDelivery,      // Local (Maildir) or LMTP: we say "delivered"
};

// Maps the agent's two flags (RecipientOutcome::dsn_passed_on / final_delivery) to a path.
// Final delivery wins: an LMTP server delivers, whatever it advertises.
SuccessPath SuccessPathOf(bool dsn_passed_on, bool final_delivery);

// Whether the sender asked for (or policy implies) a report of `event`:
//   - never for the null return path (no bounce of a bounce, RFC 5321 §6.1);
//   - NOTIFY=NEVER: none;
//   - NOTIFY unspecified: failure and delay yes, success no;
//   - otherwise the matching flag.
bool DsnRequested(const NotifyFlags& notify, DsnEvent event, std::string_view return_path);

// The Action of the report that is due, or nullopt when no report is sent. `path` matters for
// kSuccess only (kPassedOnToDsnHop -> none, kRelayedWithoutDsn -> relayed,
// kFinalDelivery -> delivered); failure -> failed, delay -> delayed.
std::optional<DsnAction> DueDsnAction(const NotifyFlags& notify, DsnEvent event,
                                      std::string_view return_path,
                                      SuccessPath path = SuccessPath::kFinalDelivery);

// One report to compose: an event and the recipients it covers, in input order.
struct DsnGroup {
  DsnEvent event = DsnEvent::kFailure;
  std::vector<RecipientReport> recipients;
};

// Groups recipient reports of one message into one report per event (by each report's
// Action), ordered failure, delay, success; empty events are left out.
std::vector<DsnGroup> GroupByEvent(std::vector<RecipientReport> reports);

}  // namespace outpost::dsn
