#pragma once

// Vocabulary of delivery status notifications (RFC 3461 / RFC 3464), shared by the composer,
// the parser and the decision helpers. Pure data: no I/O, no clock (callers pass times).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::dsn {

// Why a report is being sent. One report covers one event (DESIGN.md §4).
enum class DsnEvent { kFailure, kDelay, kSuccess };

// RFC 3464 §2.3.3 Action values.
enum class DsnAction { kFailed, kDelayed, kDelivered, kRelayed, kExpanded };

// "failed", "delayed", "delivered", "relayed", "expanded".
std::string_view DsnActionName(DsnAction a);
// Case-insensitive; nullopt for anything else.
std::optional<DsnAction> ParseDsnAction(std::string_view s);
// The event an action belongs to: failed -> failure, delayed -> delay, the rest -> success.
DsnEvent EventOfAction(DsnAction a);

// The RET parameter of MAIL FROM (RFC 3461 §4.3).
enum class DsnRet { kUnspecified, kFull, kHeaders };

// NOTIFY flags of one recipient (RFC 3461 §4.1); none set means "not specified".
// Mirrors transport::NotifyFlags so queue/dsn stays independent of the transport API.
struct NotifyFlags {
  bool never = false, success = false, failure = false, delay = false;
  bool specified() const { return never || success || failure || delay; }
};

// The message a report is about. `raw` is borrowed: it must stay alive during Compose().
struct OriginalMessage {
  uint64_t id = 0;
  std::string return_path;  // envelope sender without <>; "" is the null sender
  // ENVID as received in MAIL FROM (xtext); decoded for Original-Envelope-Id. "" = none.
  std::string envid;
  DsnRet ret = DsnRet::kUnspecified;
  int64_t arrival_unix_ms = 0;
  std::string_view raw;  // the stored message, CRLF line endings
};

// What happened to one recipient, as the report shall say it.
struct RecipientReport {
  std::string final_recipient;  // envelope address as used in RCPT TO, without <>
  // ORCPT parameter as received ("rfc822;a+2Bb@example.org", xtext); "" = none.
  std::string original_recipient;
  DsnAction action = DsnAction::kFailed;
  // The Status field when set (policy may say more than the peer did, e.g. 4.4.7 when a
  // recipient expired). Empty or malformed -> reply_enhanced, else synthesized from
  // smtp_code's class (2.0.0 / 4.0.0 / 5.0.0), else from the action when there was no reply.
  std::string status;
  std::string reply_enhanced;  // enhanced code of the last reply ("5.1.1"), "" = none
  int smtp_code = 0;           // last reply code; 0 when no reply was received
  std::string reply_text;      // last reply text (untrusted peer text; may span lines)
  std::string remote_mta;      // host that gave the reply; "" when none (e.g. DNS failure)
  std::optional<int64_t> last_attempt_unix_ms;
  std::optional<int64_t> will_retry_until_unix_ms;  // only written for Action: delayed
};

}  // namespace outpost::dsn
