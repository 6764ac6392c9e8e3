// outpostd: the Outpost mail delivery daemon. Runs in the foreground and logs to stderr.
//   outpostd --config FILE [--ingest-threads N]
// --ingest-threads: event-loop threads for the SMTP listeners' sessions (default 1; 0 runs
// them on the main loop with the scheduler and the SMTP client; see IngestLoops).
// Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot start or when the queue
// store failed for good (a supervisor restart recovers), 2 usage error.

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "common/libevent_dispatcher.h"
#include "common/logging.h"
#include "tools/outpostd/daemon.h"

namespace {

constexpr char kUsage[] = "usage: outpostd --config FILE [--ingest-threads N]\n";
constexpr size_t kMaxIngestThreads = 64;

// A whole decimal number 0..kMaxIngestThreads, or nothing.
std::optional<size_t> ParseThreads(const std::string& s) {
  if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  size_t n = std::stoul(s);
  if (n > kMaxIngestThreads) return std::nullopt;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config;
  outpost::daemon::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config = arg.substr(std::strlen("--config="));
    } else if (arg == "--ingest-threads" && i + 1 < argc) {
      auto n = ParseThreads(argv[++i]);
      if (!n) {
        std::fprintf(stderr, "outpostd: --ingest-threads takes 0..%zu, not '%s'\n%s",
                     kMaxIngestThreads, argv[i], kUsage);
        return 2;
      }
      options.ingest_threads = *n;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "outpostd: unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (config.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  outpost::LibeventDispatcher dispatcher;
  auto daemon = outpost::daemon::Daemon::Create(config, dispatcher, options);
  if (!daemon.ok()) {
    std::fprintf(stderr, "outpostd: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  if (auto st = (*daemon)->Start(); !st.ok()) {
    std::fprintf(stderr, "outpostd: %s\n", st.ToString().c_str());
    return 1;
  }
  dispatcher.Run();
  if (const auto& failure = (*daemon)->failure(); !failure.ok()) {
    std::fprintf(stderr, "outpostd: stopped: queue store failed: %s\n", failure.ToString().c_str());
    return 1;
  }
  return 0;
}
