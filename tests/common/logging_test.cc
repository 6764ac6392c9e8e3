#include "common/logging.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace outpost {
namespace {

class CapturingSink : public LogSink {
 public:
  void Write(LogLevel, std::string_view line) override {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

TEST(Logging, FormatsTimestampLevelEventAndFields) {
  std::string line = FormatLogLine(LogLevel::kInfo, 1767225600123, "delivery",
                                   {{"queue_id", "00000000000000ab"}, {"retry_num", 2}});
  EXPECT_EQ(line, "2026-01-01T00:00:00.123Z info delivery queue_id=00000000000000ab retry_num=2");
}

TEST(Logging, QuotesAndEscapesHostileValuesSoNoFieldCanBeForged) {
  std::string line = FormatLogLine(LogLevel::kWarning, 0, "reply",
                                   {{"text", "550 no\r\nstatus=sent x=\"y\""}});
  EXPECT_EQ(line,
            "1970-01-01T00:00:00.000Z warning reply "
            "text=\"550 no\\r\\nstatus=sent x=\\\"y\\\"\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Logging, SinkReceivesLinesAtOrAboveMinLevel) {
  CapturingSink sink;
  SetLogSink(&sink);
  SetMinLogLevel(LogLevel::kInfo);
  OUTPOST_LOG_DEBUG("hidden");
  OUTPOST_LOG_INFO("shown", {"k", "v"});
  SetLogSink(nullptr);
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_NE(sink.lines[0].find("info shown k=v"), std::string::npos);
}

}  // namespace
}  // namespace outpost

#include "common/time_format.h"

namespace outpost {
namespace {

TEST(TimeFormat, Rfc3339AndRfc5322) {
  EXPECT_EQ(FormatRfc3339(1767225600123), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Ms(1767225600123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc5322Date(1767225600123), "Thu, 01 Jan 2026 00:00:00 +0000");
}

}  // namespace
}  // namespace outpost
