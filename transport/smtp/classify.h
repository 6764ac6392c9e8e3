#pragma once

// The one place that decides what a session failure or a reply means for a delivery attempt
// (DESIGN.md §4): which host to try next, temporary vs permanent, and the ErrorClass that goes
// into last_error. Pure functions over data, table-tested in classify_test.cc.

#include <string>

#include "transport/api/delivery.h"
#include "transport/smtp/session.h"

namespace outpost::transport::smtp {

enum class NextStep {
  kNextAddress,     // connect failure: the host's next address (then the next host)
  kNextHost,        // this host will not do: the next host gets the remaining recipients
  kRetryPlaintext,  // startTls optional and the handshake itself failed: same address, no TLS
  kFinal,           // the failure is the verdict for the recipients it covers
};
const char* NextStepName(NextStep step);

struct FailureContext {
  TlsMode starttls = TlsMode::kOptional;
  bool implicit_tls = false;
  bool has_credentials = false;
  bool plaintext_retried = false;  // this address was already retried without TLS
};

struct FailureVerdict {
  NextStep next = NextStep::kNextHost;
  // The outcome for the covered recipients when next == kFinal; otherwise what they get if no
  // later host does better (kPermFail only for "SMTPUTF8 not offered", 5.6.7).
  OutcomeKind kind = OutcomeKind::kTempFail;
  ErrorClass error = ErrorClass::kConnection;
  SmtpReply reply;  // the peer's reply, or a synthesized one ("451 4.4.1 connect failed: ...")
  bool mark_host_down = false;      // the address refused or did not answer the TCP connect
  bool possible_duplicate = false;  // lost after the final dot: the peer may have the message
};

FailureVerdict ClassifyFailure(const SessionFailure& failure, const FailureContext& context);

struct RecipientVerdict {
  enum class Kind {
    kDelivered,
    kTempFail,
    kPermFail,
    kFollowUp,    // refused as "too many recipients": send in a follow-up transaction
    kUnresolved,  // no verdict for this recipient: the transaction failure decides
  };
  Kind kind = Kind::kUnresolved;
  ErrorClass error = ErrorClass::kNone;
  SmtpReply reply;
};

RecipientVerdict ClassifyRecipient(const RecipientReply& reply);

// 452 4.5.3 / "too many recipients" (and a 552 saying so, RFC 5321 §4.5.3.1.10).
bool IsTooManyRecipients(const Reply& reply);

}  // namespace outpost::transport::smtp
