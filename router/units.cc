#include "router/units.h"

#include <charconv>
#include <limits>
#include <string>

namespace outpost::router {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Splits "50MB" into 50 and "MB". False when there is no leading number.
bool SplitNumber(std::string_view text, uint64_t* number, std::string_view* unit) {
  text = Trim(text);
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *number);
  if (ec != std::errc() || p == text.data()) return false;
  *unit = Trim(text.substr(p - text.data()));
  return true;
}

std::optional<uint64_t> Scaled(uint64_t n, uint64_t factor) {
  if (factor != 0 && n > std::numeric_limits<uint64_t>::max() / factor) return std::nullopt;
  return n * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  if (!SplitNumber(text, &n, &unit)) return std::nullopt;
  uint64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else if (unit == "w") {
    factor = 7 * 86'400'000ULL;
  } else {
    return std::nullopt;
  }
  auto ms = Scaled(n, factor);
  if (!ms || *ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(*ms));
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  if (!SplitNumber(text, &n, &unit)) return std::nullopt;
  std::string u;
  for (char c : unit) u.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  if (u.empty() || u == "B") return n;
  if (u == "K" || u == "KB") return Scaled(n, 1024);
  if (u == "M" || u == "MB") return Scaled(n, 1024 * 1024);
  if (u == "G" || u == "GB") return Scaled(n, 1024ULL * 1024 * 1024);
  return std::nullopt;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  struct Unit {
    int64_t factor;
    const char* suffix;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"},
                 Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.factor == 0) return std::to_string(ms / u.factor) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace outpost::router
