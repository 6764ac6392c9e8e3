#pragma once

// Reads RFC 3464 delivery status notifications: ours and typical ones from other MTAs
// (Postfix, Exim, Sendmail, large providers). Pure and total: bytes in, StatusOr out; any
// input is safe. Used by scheduler and end-to-end tests, and to recognise bounces.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "queue/dsn/dsn_types.h"
#include "queue/dsn/field_codec.h"
#include "queue/dsn/mime_reader.h"

namespace outpost::dsn {

// An address field: type lower-cased ("rfc822", "utf-8"), address decoded (RFC 6533
// "\x{HEX}" escapes of utf-8 addresses resolved; one pair of enclosing <> removed).
struct DsnAddress {
  std::string type;
  std::string address;
};

struct ParsedRecipient {
  std::optional<DsnAddress> original_recipient;
  DsnAddress final_recipient;
  DsnAction action = DsnAction::kFailed;
  std::string status;  // first token of Status ("5.1.1"); may be malformed in others' reports
  std::optional<TypedValue> remote_mta;       // {"dns", "mx.example.net"}
  std::optional<TypedValue> diagnostic_code;  // {"smtp", "550 5.1.1 user unknown"}
  std::optional<int64_t> last_attempt_unix_ms;
  std::optional<int64_t> will_retry_until_unix_ms;
  std::vector<HeaderField> fields;  // every field of the group, unfolded, in order
};

struct ParsedDsn {
  std::vector<HeaderField> headers;  // the top-level message header
  std::string human_readable;        // decoded first part when it is text/*, else ""
  std::string status_content_type;   // "message/delivery-status" or the global variant
  std::optional<TypedValue> reporting_mta;
  std::string original_envelope_id;  // "" when absent
  std::optional<int64_t> arrival_unix_ms;
  std::vector<HeaderField> per_message_fields;
  std::vector<ParsedRecipient> recipients;  // at least one
  std::string returned_content_type;        // "" when nothing was returned
  std::string returned_content;             // decoded bytes of the returned message or headers
};

// InvalidArgument when the message holds no multipart/report with a delivery-status part,
// when that part has no recipient group, or a group lacks Final-Recipient or a known Action.
// A multipart/report nested in another multipart (some gateways wrap reports) is found.
StatusOr<ParsedDsn> ParseDsn(std::string_view message);

}  // namespace outpost::dsn
