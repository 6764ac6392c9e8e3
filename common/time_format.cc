#include "common/time_format.h"

#include <ctime>

namespace outpost {
namespace {

std::tm ToUtc(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  if (unix_ms < 0 && unix_ms % 1000 != 0) --secs;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string FormatRfc3339Ms(int64_t unix_ms) {
  std::tm tm = ToUtc(unix_ms);
  char buf[64];
  int ms = static_cast<int>(((unix_ms % 1000) + 1000) % 1000);
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  char frac[8];
  frac[0] = '.';
  frac[1] = static_cast<char>('0' + ms / 100);
  frac[2] = static_cast<char>('0' + (ms / 10) % 10);
  frac[3] = static_cast<char>('0' + ms % 10);
  out.append(frac, 4);
  out.push_back('Z');
  return out;
}

std::string FormatRfc3339(int64_t unix_ms) {
  std::tm tm = ToUtc(unix_ms);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string FormatRfc5322Date(int64_t unix_ms) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = ToUtc(unix_ms);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), " %d ", &tm);
  std::string out = kDays[tm.tm_wday];
  out.push_back(',');
  out.append(buf, n);
  out.append(kMonths[tm.tm_mon]);
  n = std::strftime(buf, sizeof(buf), " %Y %H:%M:%S +0000", &tm);
  out.append(buf, n);
  return out;
}

}  // namespace outpost
