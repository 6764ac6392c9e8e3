#pragma once

#include <cstdint>
#include <string>

namespace outpost {

// "2026-01-01T00:00:00.123Z" (RFC 3339, UTC, milliseconds).
std::string FormatRfc3339Ms(int64_t unix_ms);
// "2026-01-01T00:00:00Z" (RFC 3339, UTC, seconds) for JSON output.
std::string FormatRfc3339(int64_t unix_ms);
// "Thu, 01 Jan 2026 00:00:00 +0000" (RFC 5322 date-time) for Date:, Received: and DSN fields.
std::string FormatRfc5322Date(int64_t unix_ms);

}  // namespace outpost
