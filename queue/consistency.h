#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace outpost::queue {

struct ConsistencyReport {
  uint64_t messages = 0;
  uint64_t recipients = 0;
  uint64_t bodies = 0;
  uint64_t due_keys = 0;
  uint64_t failed_keys = 0;
  uint64_t done_keys = 0;
  uint64_t quarantined = 0;  // records in the quarantine CF
  uint64_t problem_count = 0;
  std::vector<std::string> problems;  // the first 100, human-readable
  bool ok() const { return problem_count == 0; }
};

// Walks the whole store and checks that every record decodes, every index key belongs to a
// record in the matching state (and every such record has its key), message bookkeeping
// (active/body users/stored recipients, body presence, active marker) matches its recipients,
// and the meta counters equal a recount. O(store size) time and O(index keys) memory: for
// tests, `outpost queue check` and after a crash, never on the hot path. Read-only.
StatusOr<ConsistencyReport> CheckConsistency(const storage::Store& store);

}  // namespace outpost::queue
