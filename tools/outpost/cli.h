#pragma once

#include <ostream>
#include <span>
#include <string>
#include <string_view>

namespace outpost::cli {

// Exit statuses of every command (DESIGN.md §6).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Where a command writes. Results go to `out`, errors and warnings to `err`.
struct Io {
  std::ostream& out;
  std::ostream& err;
};

// One command group ("config", "route", later "queue", "inject", "passwd"): `args` are the
// words after the group name. Returns the exit status.
using CommandFn = int (*)(std::span<const std::string> args, Io& io);

struct CommandGroup {
  std::string_view name;
  std::string_view usage;  // one or more "outpost <name> ..." lines
  CommandFn run;
};

// The dispatch table (cli.cc). To add a group: write <group>_command.cc defining its
// CommandFn, declare it below, and add one row to kCommandGroups.
std::span<const CommandGroup> CommandGroups();

int RunConfigCommand(std::span<const std::string> args, Io& io);
int RunRouteCommand(std::span<const std::string> args, Io& io);
int RunQueueCommand(std::span<const std::string> args, Io& io);
int RunInjectCommand(std::span<const std::string> args, Io& io);
int RunPasswdCommand(std::span<const std::string> args, Io& io);

// Runs the CLI: `args` excludes the program name.
int RunCli(std::span<const std::string> args, Io& io);

}  // namespace outpost::cli
