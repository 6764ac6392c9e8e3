#include "transport/server/data_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace outpost::smtp_server {
namespace {

struct Fed {
  bool done = false;
  size_t consumed = 0;
  DataVerdict verdict = DataVerdict::kAccepted;
  std::string body;
};

// Feeds `in` in pieces of `chunk` bytes, as a network would.
Fed Feed(std::string_view in, size_t chunk = 1 << 20, uint64_t max_size = 1 << 20,
         int max_received = 50) {
  DataReader r({max_size, max_received});
  Fed f;
  while (f.consumed < in.size() && !r.done()) {
    std::string_view piece = in.substr(f.consumed, chunk);
    size_t used = r.Consume(piece);
    f.consumed += used;
    if (used < piece.size()) break;
  }
  f.done = r.done();
  if (f.done) f.verdict = r.verdict();
  f.body = r.TakeBody();
  return f;
}

TEST(DataReader, EndsOnlyAtCrLfDotCrLf) {
  for (size_t chunk : {1u, 2u, 3u, 7u, 1000u}) {
    Fed f = Feed("Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<a@b>\r\n", chunk);
    EXPECT_TRUE(f.done) << chunk;
    EXPECT_EQ(f.verdict, DataVerdict::kAccepted);
    EXPECT_EQ(f.body, "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(f.consumed, std::string("Subject: x\r\n\r\nhello\r\n.\r\n").size()) << chunk;
  }
}

TEST(DataReader, EmptyMessage) {
  Fed f = Feed(".\r\n");
  EXPECT_TRUE(f.done);
  EXPECT_EQ(f.body, "");
}

TEST(DataReader, DotUnstuffing) {
  Fed f = Feed("..leading\r\n...\r\n.x\r\nmid.dle\r\n..\r\n.\r\n");
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.verdict, DataVerdict::kAccepted);
  EXPECT_EQ(f.body, ".leading\r\n..\r\nx\r\nmid.dle\r\n.\r\n");
}

// SMTP smuggling (CVE-2023-51764 class): none of these end the data; each marks the message
// refused, and reading continues to the real CRLF.CRLF.
TEST(DataReader, SmugglingVariantsNeverEndTheData) {
  const char* tricks[] = {
      "a\n.\r\nMAIL FROM:<evil@x>\r\n",       // <LF>.<CR><LF>
      "a\r\n.\nMAIL FROM:<evil@x>\r\n",       // <CR><LF>.<LF>
      "a\n.\nMAIL FROM:<evil@x>\r\n",         // <LF>.<LF>
      "a\r.\rMAIL FROM:<evil@x>\r\n",         // <CR>.<CR>
      "a\r.\r\nMAIL FROM:<evil@x>\r\n",       // <CR>.<CR><LF>
      "a\r\n.\r.\r\nMAIL FROM:<evil@x>\r\n",  // .<CR> then garbage
      "a\nb\r\n",                             // plain bare LF
      "a\rb\r\n",                             // plain bare CR
  };
  for (const char* t : tricks) {
    std::string trick = t;
    std::string msg = trick + "tail\r\n.\r\nNEXT";
    for (size_t chunk : {1u, 3u, 1000u}) {
      Fed f = Feed(msg, chunk);
      ASSERT_TRUE(f.done) << t;
      EXPECT_EQ(f.verdict, DataVerdict::kBareLineEnding) << t;
      EXPECT_EQ(f.consumed, msg.size() - 4) << t << " chunk " << chunk;  // stops before NEXT
    }
  }
}

TEST(DataReader, BareLfRightAfterDotIsNotTheEnd) {
  Fed f = Feed(".\n");
  EXPECT_FALSE(f.done);
  // The line after ".\n" is not a new line either: ".\r\n" there is data.
  Fed g = Feed("x\r\n.\n.\r\n");
  EXPECT_FALSE(g.done);
  g = Feed("x\r\n.\n.\r\n.\r\n");
  EXPECT_TRUE(g.done);
  EXPECT_EQ(g.verdict, DataVerdict::kBareLineEnding);
}

TEST(DataReader, SizeLimitCountedWhileReading) {
  std::string big(5000, 'x');
  std::string msg = big + "\r\n.\r\nQUIT\r\n";
  Fed f = Feed(msg, 100, /*max_size=*/4096);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.verdict, DataVerdict::kTooBig);
  EXPECT_TRUE(f.body.empty());  // dropped, not kept
  EXPECT_EQ(f.consumed, msg.size() - 6);

  std::string exact(4094, 'y');
  Fed g = Feed(exact + "\r\n.\r\n", 100, 4096);
  EXPECT_EQ(g.verdict, DataVerdict::kAccepted);
  Fed h = Feed(exact + "z\r\n.\r\n", 100, 4096);
  EXPECT_EQ(h.verdict, DataVerdict::kTooBig);
}

TEST(DataReader, ReceivedHeadersCountedInHeaderBlockOnly) {
  std::string headers;
  for (int i = 0; i < 3; ++i) headers += "Received: from x by y; date\r\n\tcontinued\r\n";
  headers += "received : lower case counts too\r\nX-Received: not counted\r\n";
  std::string body = "\r\nReceived: in the body, not a header\r\n.\r\n";
  DataReader r({1 << 20, 3});
  r.Consume(headers + body);
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.received_headers(), 4);
  EXPECT_EQ(r.verdict(), DataVerdict::kLoop);

  DataReader ok({1 << 20, 4});
  ok.Consume(headers + body);
  EXPECT_EQ(ok.verdict(), DataVerdict::kAccepted);
}

TEST(DataReader, VerdictReplies) {
  EXPECT_EQ(DataVerdictReply(DataVerdict::kTooBig).code, 552);
  EXPECT_EQ(DataVerdictReply(DataVerdict::kTooBig).enhanced, "5.3.4");
  EXPECT_EQ(DataVerdictReply(DataVerdict::kLoop).code, 554);
  EXPECT_EQ(DataVerdictReply(DataVerdict::kLoop).enhanced, "5.4.6");
  SmtpReply bare = DataVerdictReply(DataVerdict::kBareLineEnding);
  EXPECT_EQ(bare.code, 554);
  EXPECT_NE(bare.text.find("bare LF/CR not allowed"), std::string::npos);
}

}  // namespace
}  // namespace outpost::smtp_server
