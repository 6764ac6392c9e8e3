#pragma once

// Builders for the SMTP/LMTP commands the client sends. Pure functions: envelope data in,
// one CRLF-terminated command line out. Envelope values that could break the line structure
// (CR, LF, NUL, '<', '>', spaces, other controls) are refused, never sent.

#include <string>
#include <string_view>

#include "common/status.h"
#include "transport/api/delivery.h"
#include "transport/smtp/capabilities.h"

namespace outpost::transport::smtp {

// RFC 3461 §4 xtext: printable ASCII except '+' and '=' as is, everything else as "+HH".
std::string XtextEncode(std::string_view raw);

// "EHLO name\r\n", "HELO name\r\n" or "LHLO name\r\n".
std::string GreetingCommand(std::string_view verb, std::string_view name);

// MAIL FROM:<path> with SIZE (when offered), BODY=8BITMIME (8-bit message, offered),
// SMTPUTF8 (message needs it; the caller checks it is offered), RET/ENVID (only with DSN).
StatusOr<std::string> MailFromCommand(const DeliveryMessage& message, const Capabilities& caps);

// RCPT TO:<addr> with NOTIFY and ORCPT only when the peer offers DSN.
StatusOr<std::string> RcptToCommand(const DeliveryRecipient& rcpt, const Capabilities& caps);

// Checks an envelope address for characters that must never reach the wire.
Status ValidateEnvelopeAddress(std::string_view address);

}  // namespace outpost::transport::smtp
