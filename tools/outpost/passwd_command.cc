// `outpost passwd`: reads a password and prints the hash for a listener user
// (listeners[].users[].passwordHash). From a terminal it prompts twice without echo; from a
// pipe it reads one line.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "tools/outpost/args.h"
#include "tools/outpost/cli.h"
#include "transport/server/password_hash.h"

namespace outpost::cli {
namespace {

constexpr const char* kUsage =
    "usage: outpost passwd [--iterations N]\n"
    "       (reads the password from stdin when it is not a terminal, else prompts)\n";

// Restores the terminal's echo on every path.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
    }
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

bool ReadLine(std::istream& in, std::string* out) {
  if (!std::getline(in, *out)) return false;
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return true;
}

}  // namespace

int RunPasswdCommand(std::span<const std::string> args, Io& io) {
  auto parsed = Args::Parse(args, {"iterations"}, {});
  if (!parsed.ok() || !parsed->positional().empty()) {
    if (!parsed.ok()) io.err << "outpost passwd: " << parsed.status().message() << "\n";
    io.err << kUsage;
    return kExitUsage;
  }
  int iterations = smtp_server::kDefaultPbkdf2Iterations;
  if (auto it = parsed->Get("iterations")) {
    iterations = std::atoi(it->c_str());
    if (iterations < 1000) {
      io.err << "outpost passwd: --iterations must be at least 1000\n" << kUsage;
      return kExitUsage;
    }
  }
  std::string password;
  // Prompt only when a person is typing on this process's own terminal.
  const bool tty = isatty(STDIN_FILENO) == 1 && io.err.rdbuf() == std::cerr.rdbuf();
  if (tty) {
    std::string again;
    {
      EchoOff off;
      io.err << "Password: " << std::flush;
      bool ok = ReadLine(std::cin, &password);
      io.err << "\nAgain: " << std::flush;
      ok = ok && ReadLine(std::cin, &again);
      io.err << "\n";
      if (!ok) {
        io.err << "outpost passwd: no password read\n";
        return kExitFailure;
      }
    }
    if (password != again) {
      io.err << "outpost passwd: the passwords differ\n";
      return kExitFailure;
    }
  } else if (!ReadLine(std::cin, &password)) {
    io.err << "outpost passwd: no password on stdin\n";
    return kExitFailure;
  }
  if (password.empty()) {
    io.err << "outpost passwd: the password is empty\n";
    return kExitFailure;
  }
  auto hash = smtp_server::MakePasswordHash(password, iterations);
  if (!hash.ok()) {
    io.err << "outpost passwd: " << hash.status().message() << "\n";
    return kExitFailure;
  }
  io.out << *hash << "\n";
  return kExitOk;
}

}  // namespace outpost::cli
