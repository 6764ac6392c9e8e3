#include "queue/dsn/rfc5322_date.h"

#include <array>
#include <string>
#include <vector>

#include "queue/dsn/field_codec.h"

namespace outpost::dsn {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[static_cast<size_t>(m - 1)];
}

// Parses 1..max_digits decimal digits; nullopt otherwise.
std::optional<int> Number(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<int> MonthNumber(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  std::string lower = AsciiLower(s);
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (lower == kMonths[i]) return static_cast<int>(i + 1);
  }
  return std::nullopt;
}

// Offset east of UTC in minutes.
std::optional<int> ZoneOffsetMinutes(std::string_view z) {
  if (z.size() == 5 && (z[0] == '+' || z[0] == '-')) {
    auto hh = Number(z.substr(1, 2), 2), mm = Number(z.substr(3, 2), 2);
    if (!hh || !mm || *mm > 59) return std::nullopt;
    int off = *hh * 60 + *mm;
    return z[0] == '-' ? -off : off;
  }
  struct Named {
    std::string_view name;
    int hours;
  };
  static constexpr std::array<Named, 12> kZones = {{{"ut", 0},
                                                    {"utc", 0},
                                                    {"gmt", 0},
                                                    {"z", 0},
                                                    {"est", -5},
                                                    {"edt", -4},
                                                    {"cst", -6},
                                                    {"cdt", -5},
                                                    {"mst", -7},
                                                    {"mdt", -6},
                                                    {"pst", -8},
                                                    {"pdt", -7}}};
  std::string lower = AsciiLower(z);
  for (const Named& n : kZones) {
    if (lower == n.name) return n.hours * 60;
  }
  // RFC 5322 §4.3: other alphabetic zones are treated as "-0000" (UTC, zone unknown).
  for (char c : lower) {
    if (c < 'a' || c > 'z') return std::nullopt;
  }
  return lower.empty() ? std::nullopt : std::optional<int>(0);
}

// Removes (possibly nested) comments and turns commas into spaces after the day name.
std::vector<std::string_view> Tokens(std::string_view text, std::string* storage) {
  storage->clear();
  int depth = 0;
  for (char c : text) {
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      storage->push_back(c == ',' || c == '\t' || c == '\r' || c == '\n' ? ' ' : c);
    }
  }
  std::vector<std::string_view> tokens;
  std::string_view s(*storage);
  while (!s.empty()) {
    size_t b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    size_t e = s.find(' ');
    tokens.push_back(s.substr(0, e));
    s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  }
  return tokens;
}

}  // namespace

std::optional<int64_t> ParseRfc5322Date(std::string_view text) {
  std::string storage;
  std::vector<std::string_view> t = Tokens(text, &storage);
  // An optional day name comes first ("Thu").
  if (!t.empty() && !t[0].empty() && (t[0][0] < '0' || t[0][0] > '9')) t.erase(t.begin());
  if (t.size() < 4) return std::nullopt;
  auto day = Number(t[0], 2);
  auto month = MonthNumber(t[1]);
  auto year = Number(t[2], 4);
  if (!day || !month || !year) return std::nullopt;
  int64_t y = *year;
  if (t[2].size() == 2) y += y < 50 ? 2000 : 1900;  // RFC 5322 §4.3
  if (t[2].size() == 3) y += 1900;
  if (y < 1900 || *day < 1 || *day > DaysInMonth(y, *month)) return std::nullopt;

  std::string_view time = t[3];
  std::array<int, 3> hms = {0, 0, 0};
  for (size_t part = 0; part < 3 && !time.empty(); ++part) {
    size_t colon = time.find(':');
    auto v = Number(time.substr(0, colon), 2);
    if (!v) return std::nullopt;
    hms[part] = *v;
    time.remove_prefix(colon == std::string_view::npos ? time.size() : colon + 1);
    if (colon != std::string_view::npos && time.empty()) return std::nullopt;
    if (part == 0 && colon == std::string_view::npos) return std::nullopt;  // "HH" alone
  }
  if (!time.empty() || hms[0] > 23 || hms[1] > 59 || hms[2] > 60) return std::nullopt;

  int offset = 0;  // a missing zone is read as UTC
  if (t.size() >= 5) {
    auto z = ZoneOffsetMinutes(t[4]);
    if (!z) return std::nullopt;
    offset = *z;
  }
  int64_t secs = DaysFromCivil(y, *month, *day) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2] -
                 static_cast<int64_t>(offset) * 60;
  return secs * 1000;
}

}  // namespace outpost::dsn
