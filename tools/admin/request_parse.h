#pragma once
// Pure parsers for what operators send to the admin API (query strings and JSON bodies):
// bytes in, StatusOr out, kInvalidArgument with a message that names the bad field.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "queue/types.h"
#include "tools/admin/json_writer.h"

namespace outpost::admin {

// A recipient filter as an operator gives it (replay's since/until are filter.failed_since /
// failed_until: they select recipients, not whole messages).
struct FilterSpec {
  queue::Filter filter;
};

// Filter fields, all strings: state, rcptDomain, sender, queue, olderThan (duration),
// error (last_error class), since / until (RFC 3339 or a duration meaning "that long ago").
// Unknown names are errors (a typo must not widen a bulk operation to everything).
StatusOr<FilterSpec> ParseFilterFields(const std::map<std::string, std::string>& fields,
                                       int64_t now_unix_ms);

// "2026-01-01T00:00:00Z", "2026-01-01T02:00:00.5+02:00" -> unix ms.
StatusOr<int64_t> ParseRfc3339(std::string_view text);
// RFC 3339, or a duration ("90m", "2d") meaning that long before `now_unix_ms`.
StatusOr<int64_t> ParseTimeArg(std::string_view text, int64_t now_unix_ms);
// A duration string ("2h") or integer milliseconds.
StatusOr<int64_t> ParseDurationMs(std::string_view text);

// The body must be one JSON object.
StatusOr<std::unique_ptr<rj::Document>> ParseJsonObject(std::string_view body);

// A string, integer or boolean as a string ("true"/"false"); nullopt for anything else.
std::optional<std::string> ScalarToString(const rj::Value& v);

// The members of a JSON object whose values are strings, numbers or booleans, as strings
// ("true"/"false" for booleans). Nested values are errors naming `where`.
StatusOr<std::map<std::string, std::string>> ScalarFields(const rj::Value& object,
                                                          std::string_view where);

// ["00000190a1b2c3d4", ...] -> ids (16 hex digits each).
StatusOr<std::vector<uint64_t>> ParseIds(const rj::Value& array);
StatusOr<uint64_t> ParseId(std::string_view text);

// RFC 5321-ish sanity for addresses given to inject: bounded, no spaces, angle brackets or
// control characters, a non-empty local part and domain. "" is allowed for `from` only.
Status CheckAddress(std::string_view address, bool allow_empty);

// LF, CR and CRLF line endings -> CRLF (DESIGN.md §5: API injections are stored with CRLF).
std::string ToCrlf(std::string_view text);

}  // namespace outpost::admin
