#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::storage {

// The on-disk schema this build reads and writes (meta key "schema", proto SchemaInfo).
// Bump only for a change an older build cannot read safely; add a migration when you do.
//   1: due keys queue | 0x00 | due | msg | idx
//   2: due keys queue | 0x00 | lane | due | msg | idx (storage/due_lane_migration.h converts 1)
inline constexpr uint32_t kSchemaVersion = 2;
// The oldest schema a read-write open migrates from.
inline constexpr uint32_t kOldestMigratableSchema = 1;

// Decides whether a store whose meta "schema" value is `stored` (nullopt = absent) may be
// opened by this build, and returns its version (kSchemaVersion for a new store): older than
// kSchemaVersion means it must be migrated first. Absent is fine only for an empty (new)
// store. Pure; unit-tested.
StatusOr<uint32_t> CheckSchema(const std::optional<std::string>& stored, bool store_is_empty,
                               std::string_view path);

// The value to store for a new database.
std::string EncodeSchemaInfo(int64_t created_unix_ms);
// `stored` (a readable SchemaInfo) with its version set to kSchemaVersion; creation kept.
std::string UpgradedSchemaInfo(std::string_view stored);

}  // namespace outpost::storage
