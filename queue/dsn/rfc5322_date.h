#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace outpost::dsn {

// Parses an RFC 5322 date-time ("Thu, 01 Jan 2026 00:00:00 +0000"), tolerating what real
// reports contain: a missing day of week or seconds, comments ("(UTC)"), obsolete zone names
// (GMT, UT, EST...) and two-digit years. Returns Unix milliseconds, or nullopt when the text
// is not a date. Pure and total: any input is safe.
std::optional<int64_t> ParseRfc5322Date(std::string_view text);

}  // namespace outpost::dsn
