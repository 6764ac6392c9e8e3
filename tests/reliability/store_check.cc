// outpost_store_check DATA_DIR: runs queue::CheckConsistency on a data directory and prints
// the report as one JSON object. The crash-loop and fault scripts call it after the daemon
// stopped (or while it runs: the store is opened as a RocksDB secondary, read-only).
// Exit status: 0 consistent, 1 problems found, 2 the store could not be opened or read.
#include <cstdio>
#include <string>

#include "queue/consistency.h"
#include "storage/store.h"

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: outpost_store_check DATA_DIR\n");
    return 2;
  }
  auto store = outpost::storage::Store::OpenReadOnly(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "outpost_store_check: %s\n", store.status().ToString().c_str());
    return 2;
  }
  auto report = outpost::queue::CheckConsistency(**store);
  if (!report.ok()) {
    std::fprintf(stderr, "outpost_store_check: %s\n", report.status().ToString().c_str());
    return 2;
  }
  const auto& r = *report;
  std::printf(
      "{\"ok\": %s, \"messages\": %llu, \"recipients\": %llu, \"bodies\": %llu, "
      "\"dueKeys\": %llu, \"failedKeys\": %llu, \"doneKeys\": %llu, \"quarantined\": %llu, "
      "\"problemCount\": %llu, \"problems\": [",
      r.ok() ? "true" : "false", static_cast<unsigned long long>(r.messages),
      static_cast<unsigned long long>(r.recipients), static_cast<unsigned long long>(r.bodies),
      static_cast<unsigned long long>(r.due_keys), static_cast<unsigned long long>(r.failed_keys),
      static_cast<unsigned long long>(r.done_keys), static_cast<unsigned long long>(r.quarantined),
      static_cast<unsigned long long>(r.problem_count));
  for (size_t i = 0; i < r.problems.size(); ++i) {
    std::printf("%s%s", i ? ", " : "", JsonString(r.problems[i]).c_str());
  }
  std::printf("]}\n");
  return r.ok() ? 0 : 1;
}
