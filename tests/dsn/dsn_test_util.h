#pragma once

// Shared fixtures for the DSN tests and the fuzz target.

#include <string>
#include <string_view>

namespace outpost::dsn::testing_util {

// Describes the first way `message` breaks RFC 5322 line rules (a bare CR or LF, a line over
// 998 octets, no final CRLF), or "" when it follows them.
inline std::string LineProblem(std::string_view message) {
  size_t start = 0;
  while (start < message.size()) {
    size_t lf = message.find('\n', start);
    if (lf == std::string_view::npos) return "unterminated last line";
    if (lf == start || message[lf - 1] != '\r') return "bare LF at " + std::to_string(lf);
    std::string_view line = message.substr(start, lf - 1 - start);
    if (line.find('\r') != std::string_view::npos) return "bare CR at " + std::to_string(start);
    if (line.size() > 998) return "line of " + std::to_string(line.size()) + " octets";
    start = lf + 1;
  }
  return "";
}

}  // namespace outpost::dsn::testing_util
