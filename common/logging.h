#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace outpost {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// One key=value pair of a structured log line. Values are formatted at the call site so the
// logger never sees anything but text. Never pass secrets: the logger has no way to redact.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <std::integral I>
  LogField(std::string_view k, I v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v);
  std::string_view key;
  std::string value;
};

// Where formatted lines go. The default writes to stderr; tests install a capturing sink.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // Thread-safe. `line` has no trailing newline.
  virtual void Write(LogLevel level, std::string_view line) = 0;
};

// Installs `sink` (not owned; nullptr restores stderr). Not thread-safe against Log(): call at
// startup or in tests before threads run.
void SetLogSink(LogSink* sink);
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
std::string_view LogLevelName(LogLevel level);

// Formats "<RFC3339 UTC time> <level> <event> k=v k2=\"v with spaces\"" and writes it.
// Values with spaces, quotes, '=' or control characters are quoted and escaped, so a peer's
// reply text can never forge another field or another line.
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// The formatting part of Log(), exposed for tests.
std::string FormatLogLine(LogLevel level, int64_t unix_ms, std::string_view event,
                          std::initializer_list<LogField> fields);

#define OUTPOST_LOG_INFO(event, ...) ::outpost::Log(::outpost::LogLevel::kInfo, event, {__VA_ARGS__})
#define OUTPOST_LOG_WARN(event, ...) \
  ::outpost::Log(::outpost::LogLevel::kWarning, event, {__VA_ARGS__})
#define OUTPOST_LOG_ERROR(event, ...) \
  ::outpost::Log(::outpost::LogLevel::kError, event, {__VA_ARGS__})
#define OUTPOST_LOG_DEBUG(event, ...) \
  ::outpost::Log(::outpost::LogLevel::kDebug, event, {__VA_ARGS__})

}  // namespace outpost
