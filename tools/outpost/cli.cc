#include "tools/outpost/cli.h"

#include <array>

namespace outpost::cli {
namespace {

constexpr std::array kCommandGroups = {
    CommandGroup{"config",
                 "outpost config check FILE\n"
                 "outpost config import-legacy FILE.toml",
                 RunConfigCommand},
    CommandGroup{"route",
                 "outpost route explain --config F --rcpt A [--sender S] [--retry-num N]\n"
                 "                      [--last-error E] [--source S] [--mx H] [--remote-ip IP]"
                 " [--json]",
                 RunRouteCommand},
    CommandGroup{"queue",
                 "outpost queue list|show|stats|retry|replay|hold|release|cancel|suspend|resume"
                 " ... [--json]\n"
                 "      (outpost queue --help for the options)",
                 RunQueueCommand},
    CommandGroup{"inject", "outpost inject --from A --to B [--to C] [FILE|-] [--json]",
                 RunInjectCommand},
    CommandGroup{"passwd", "outpost passwd   (prints a listener user's passwordHash)",
                 RunPasswdCommand},
};

void PrintUsage(std::ostream& os) {
  os << "usage:\n";
  for (const CommandGroup& g : kCommandGroups) {
    std::string_view u = g.usage;
    while (!u.empty()) {
      size_t nl = u.find('\n');
      os << "  " << u.substr(0, nl) << "\n";
      if (nl == std::string_view::npos) break;
      u.remove_prefix(nl + 1);
    }
  }
}

}  // namespace

std::span<const CommandGroup> CommandGroups() { return kCommandGroups; }

int RunCli(std::span<const std::string> args, Io& io) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintUsage(args.empty() ? io.err : io.out);
    return args.empty() ? kExitUsage : kExitOk;
  }
  for (const CommandGroup& g : kCommandGroups) {
    if (g.name == args[0]) return g.run(args.subspan(1), io);
  }
  io.err << "outpost: unknown command '" << args[0] << "'\n";
  PrintUsage(io.err);
  return kExitUsage;
}

}  // namespace outpost::cli
