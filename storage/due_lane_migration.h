#pragma once
// Schema 1 -> 2: every due key gains its lane byte (storage/keys.h, DueLane).
//
// Schema 1 wrote `queue | 0x00 | due (8) | msg (8) | idx (4)`; schema 2 writes
// `queue | 0x00 | lane (1) | due (8) | msg (8) | idx (4)`. The two are told apart by length
// (a queue name never contains 0x00), so the migration is restartable: it converts the keys
// still in the old form, in batches (each one atomic: old key deleted, new key put), and the
// last batch also records schema 2. A crash in between leaves schema 1 with some keys
// converted; the next open converts the rest.
//
// The lane comes from the recipient record (retry_num), like every writer of due keys does. A
// key whose record is gone is dropped (the scheduler drops such stale keys too); a record that
// does not decode gets the first-attempt lane (the scheduler then quarantines it as usual).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace outpost::storage {

struct DueLaneMigrationCounts {
  uint64_t converted = 0;
  uint64_t dropped = 0;  // no recipient record
};

// The parts of a schema-1 due key; nullopt for anything else (a schema-2 key included).
std::optional<DueEntry> ParseSchema1DueKey(std::string_view key);
// The schema-1 form of a due key (tests build old stores with it).
std::string Schema1DueKey(std::string_view queue, int64_t due_unix_ms, RecipientKey k);

// Runs on a read-write store whose schema is 1 (`stored_schema` is its meta "schema" value),
// before anything else uses it. Blocking (it runs at open).
StatusOr<DueLaneMigrationCounts> MigrateDueLanes(Store& store, std::string_view stored_schema,
                                                 size_t keys_per_batch = 4096);

}  // namespace outpost::storage
