#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::storage {

// The on-disk schema this build reads and writes (meta key "schema", proto SchemaInfo).
// Bump only for a change an older build cannot read safely; add a migration when you do.
inline constexpr uint32_t kSchemaVersion = 1;

// Decides whether a store whose meta "schema" value is `stored` (nullopt = absent) may be
// opened by this build. Absent is fine only for an empty (new) store. Pure; unit-tested.
Status CheckSchema(const std::optional<std::string>& stored, bool store_is_empty,
                   std::string_view path);

// The value to store for a new database.
std::string EncodeSchemaInfo(int64_t created_unix_ms);

}  // namespace outpost::storage
