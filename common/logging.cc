#include "common/logging.h"

#include "common/time_format.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace outpost {
namespace {

std::atomic<LogSink*> g_sink{nullptr};
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_stderr_mu;

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void AppendValue(std::string& out, std::string_view v) {
  if (!NeedsQuoting(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  value = buf;
}

void SetLogSink(LogSink* sink) { g_sink.store(sink); }
void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }
LogLevel MinLogLevel() { return static_cast<LogLevel>(g_min_level.load()); }

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

std::string FormatLogLine(LogLevel level, int64_t unix_ms, std::string_view event,
                          std::initializer_list<LogField> fields) {
  std::string out;
  out.reserve(128);
  out.append(FormatRfc3339Ms(unix_ms));
  out.push_back(' ');
  out.append(LogLevelName(level));
  out.push_back(' ');
  AppendValue(out, event);
  for (const auto& f : fields) {
    out.push_back(' ');
    out.append(f.key);
    out.push_back('=');
    AppendValue(out, f.value);
  }
  return out;
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  // Log timestamps are the one place allowed to read the real clock directly: a log line
  // records when it was written, whatever clock the code under test runs on.
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string line = FormatLogLine(level, now_ms, event, fields);
  if (LogSink* sink = g_sink.load()) {
    sink->Write(level, line);
    return;
  }
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_stderr_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace outpost
