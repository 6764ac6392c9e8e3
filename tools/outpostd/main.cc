// outpostd: the Outpost mail delivery daemon. Runs in the foreground and logs to stderr.
//   outpostd --config FILE
// Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot start, 2 usage error.

#include <cstdio>
#include <cstring>
#include <string>

#include "common/libevent_dispatcher.h"
#include "common/logging.h"
#include "tools/outpostd/daemon.h"

namespace {

constexpr char kUsage[] = "usage: outpostd --config FILE\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config = arg.substr(std::strlen("--config="));
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
  auto daemon = outpost::daemon::Daemon::Create(config, dispatcher);
  if (!daemon.ok()) {
    std::fprintf(stderr, "outpostd: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  if (auto st = (*daemon)->Start(); !st.ok()) {
    std::fprintf(stderr, "outpostd: %s\n", st.ToString().c_str());
    return 1;
  }
  dispatcher.Run();
  return 0;
}
