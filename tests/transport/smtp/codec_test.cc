// Socket-free codec: reply parser (incl. hostile replies), capabilities, commands, dot-stuffing.
#include <gtest/gtest.h>

#include <string>

#include "transport/smtp/capabilities.h"
#include "transport/smtp/commands.h"
#include "transport/smtp/dot_stuffer.h"
#include "transport/smtp/reply_parser.h"

namespace outpost::transport::smtp {
namespace {

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  auto r = ParseReply("550 5.1.1 <bob@example.org>: user unknown\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, 550);
  EXPECT_EQ(r->enhanced, "5.1.1");
  EXPECT_EQ(r->Text(), "<bob@example.org>: user unknown");
}

TEST(ReplyParser, MultiLineJoinsText) {
  auto r = ParseReply("250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->lines.size(), 3u);
  EXPECT_EQ(r->Text(), "mx.example.org\nPIPELINING\nSIZE 1000");
}

TEST(ReplyParser, ToleratesMissingTrailingSpace) {
  auto r = ParseReply("250\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 250);
  EXPECT_EQ(r->Text(), "");
}

TEST(ReplyParser, ToleratesBareLf) {
  auto r = ParseReply("220-hello\n220 there\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Text(), "hello\nthere");
}

TEST(ReplyParser, EnhancedCodeOfOtherClassIsText) {
  auto r = ParseReply("250 5.1.1 odd\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->enhanced, "");
  EXPECT_EQ(r->Text(), "5.1.1 odd");
}

TEST(ReplyParser, ControlCharactersAreNeutralised) {
  auto r = ParseReply("550 bad\x01\x1b[31m\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Text(), "bad??[31m");
}

TEST(ReplyParser, IncrementalAcrossArbitrarySplits) {
  const std::string wire = "250-a\r\n250 b\r\n354 go\r\n";
  for (size_t split = 0; split <= wire.size(); ++split) {
    ReplyParser p;
    ASSERT_TRUE(p.Feed(wire.substr(0, split)).ok());
    std::vector<int> codes;
    for (;;) {
      auto n = p.Next();
      ASSERT_TRUE(n.ok());
      if (!n->has_value()) break;
      codes.push_back((*n)->code);
    }
    ASSERT_TRUE(p.Feed(wire.substr(split)).ok());
    for (;;) {
      auto n = p.Next();
      ASSERT_TRUE(n.ok());
      if (!n->has_value()) break;
      codes.push_back((*n)->code);
    }
    EXPECT_EQ(codes, (std::vector<int>{250, 354})) << "split at " << split;
  }
}

struct HostileCase {
  const char* name;
  std::string wire;
  const char* expect_in_error;
};

class HostileReply : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileReply, IsAClearProtocolError) {
  const HostileCase& c = GetParam();
  ReplyParser p;
  Status fed = p.Feed(c.wire);
  Status st = fed;
  if (fed.ok()) {
    auto n = p.Next();
    st = n.ok() ? Status::Ok() : n.status();
  }
  ASSERT_FALSE(st.ok()) << c.name;
  EXPECT_NE(st.message().find("SMTP protocol error"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(c.expect_in_error), std::string::npos) << st.message();
  // Stays failed.
  EXPECT_FALSE(p.Next().ok());
}

INSTANTIATE_TEST_SUITE_P(
    Codec, HostileReply,
    ::testing::Values(
        HostileCase{"TwoMegabyteLine", "250 " + std::string(2 * 1024 * 1024, 'A'), "longer than"},
        HostileCase{"TwoMegabyteLineWithNewline",
                    "250 " + std::string(2 * 1024 * 1024, 'A') + "\r\n", "longer than"},
        HostileCase{"Garbage", std::string("\x16\x03\x01\x02\x00\x01\xfc\r\n", 9), "3-digit"},
        HostileCase{"NonDigitCode", "25X ok\r\n", "3-digit"},
        HostileCase{"ShortLine", "25\r\n", "3-digit"},
        HostileCase{"CodeOutOfRange", "150 ok\r\n", "outside"},
        HostileCase{"CodeSixHundred", "600 ok\r\n", "outside"},
        HostileCase{"BadSeparator", "250_ok\r\n", "malformed"},
        HostileCase{"MismatchedMultiLine", "250-first\r\n550 second\r\n", "mixes codes"},
        HostileCase{"EndlessMultiLine",
                    [] {
                      std::string s;
                      for (int i = 0; i < 5000; ++i) s += "250-" + std::string(40, 'x') + "\r\n";
                      return s;
                    }(),
                    "larger than"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ReplyParser, EarlyCloseLeavesIncompleteReply) {
  auto r = ParseReply("250-first line\r\n250-sec");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("incomplete"), std::string::npos);
}

TEST(ReplyParser, ClearDropsBufferedBytes) {
  ReplyParser p;
  ASSERT_TRUE(p.Feed("220 go ahead\r\n250 injected\r\n").ok());
  auto first = p.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->code, 220);
  p.Clear();
  auto next = p.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST(ReplyParser, ReplyTextIsBoundedInResult) {
  auto r = ParseReply("550 " + std::string(1500, 'y') + "\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r->ToSmtpReply().text.size(), 1024u + 3u);
}

TEST(Capabilities, ParsesKeywords) {
  auto r = ParseReply(
      "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
      "250-AUTH PLAIN login\r\n250-AUTH=CRAM-MD5\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n");
  ASSERT_TRUE(r.ok());
  Capabilities c = ParseCapabilities(*r);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.enhanced_status_codes);
  ASSERT_TRUE(c.size.has_value());
  EXPECT_EQ(*c.size, 10240000u);
  EXPECT_TRUE(c.HasAuth("PLAIN"));
  EXPECT_TRUE(c.HasAuth("login"));
  EXPECT_TRUE(c.HasAuth("CRAM-MD5"));
}

TEST(Capabilities, NothingFromBareGreetingLine) {
  auto r = ParseReply("250 mx.example.org PIPELINING STARTTLS\r\n");
  ASSERT_TRUE(r.ok());
  Capabilities c = ParseCapabilities(*r);
  EXPECT_FALSE(c.pipelining);
  EXPECT_FALSE(c.starttls);
  EXPECT_FALSE(c.size.has_value());
}

TEST(Capabilities, SizeWithoutOrWithBadValueMeansNoLimit) {
  auto r = ParseReply("250-x\r\n250 SIZE 12abc\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ParseCapabilities(*r).size.value_or(99), 0u);
}

TEST(Commands, XtextEncoding) {
  EXPECT_EQ(XtextEncode("abc@example.org"), "abc@example.org");
  EXPECT_EQ(XtextEncode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(XtextEncode("\xc3\xa9"), "+C3+A9");
}

DeliveryMessage Message(std::string body) {
  DeliveryMessage m;
  m.id = 1;
  m.return_path = "alice@example.org";
  m.body = std::make_shared<const std::string>(std::move(body));
  return m;
}

TEST(Commands, MailFromPlainWhenNothingOffered) {
  DeliveryMessage m = Message("x\r\n");
  m.eight_bit = true;
  m.ret = DsnRet::kFull;
  m.envid = "id 1";
  auto cmd = MailFromCommand(m, Capabilities());
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd, "MAIL FROM:<alice@example.org>\r\n");
}

TEST(Commands, MailFromWithOfferedExtensions) {
  DeliveryMessage m = Message("12345");
  m.eight_bit = true;
  m.smtputf8 = true;
  m.ret = DsnRet::kHeaders;
  m.envid = "id+1";
  Capabilities caps;
  caps.size = 0;
  caps.eight_bit_mime = true;
  caps.smtputf8 = true;
  caps.dsn = true;
  auto cmd = MailFromCommand(m, caps);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd,
            "MAIL FROM:<alice@example.org> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS "
            "ENVID=id+2B1\r\n");
}

TEST(Commands, NullSender) {
  DeliveryMessage m = Message("");
  m.return_path = "";
  EXPECT_EQ(*MailFromCommand(m, Capabilities()), "MAIL FROM:<>\r\n");
}

TEST(Commands, RcptDsnParametersOnlyWhenOffered) {
  DeliveryRecipient r{"bob@example.net", "rfc822;bob+x@example.net", {}};
  r.notify.success = true;
  r.notify.failure = true;
  EXPECT_EQ(*RcptToCommand(r, Capabilities()), "RCPT TO:<bob@example.net>\r\n");
  Capabilities caps;
  caps.dsn = true;
  EXPECT_EQ(
      *RcptToCommand(r, caps),
      "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@example.net\r\n");
  r.notify = NotifyFlags{};
  r.notify.never = true;
  r.orcpt.clear();
  EXPECT_EQ(*RcptToCommand(r, caps), "RCPT TO:<bob@example.net> NOTIFY=NEVER\r\n");
}

TEST(Commands, RefusesCommandInjection) {
  DeliveryRecipient r{"bob@example.net>\r\nRCPT TO:<eve@evil.example", "", {}};
  EXPECT_FALSE(RcptToCommand(r, Capabilities()).ok());
  DeliveryMessage m = Message("");
  m.return_path = std::string("a\0b@x", 5);
  EXPECT_FALSE(MailFromCommand(m, Capabilities()).ok());
}

std::string Stuff(std::initializer_list<std::string_view> chunks) {
  DotStuffer s;
  std::string out;
  auto emit = [&out](std::string_view piece) { out.append(piece); };
  for (auto c : chunks) s.Append(c, emit);
  s.Finish(emit);
  return out;
}

TEST(DotStuffer, StuffsLeadingDots) {
  EXPECT_EQ(Stuff({".hidden\r\nok\r\n..two\r\n"}), "..hidden\r\nok\r\n...two\r\n.\r\n");
}

TEST(DotStuffer, AddsFinalCrlfWhenMissing) {
  EXPECT_EQ(Stuff({"no newline"}), "no newline\r\n.\r\n");
  EXPECT_EQ(Stuff({""}), ".\r\n");
}

TEST(DotStuffer, BareLfAndCrNeverReachTheWire) {
  // The SMTP smuggling shapes: <LF>.<LF>, <LF>.<CR><LF>, <CR>.<CR>.
  EXPECT_EQ(Stuff({"a\n.\nb\r\n"}), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(Stuff({"a\n.\r\nb"}), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(Stuff({"a\r.\rb"}), "a\r\n..\r\nb\r\n.\r\n");
}

TEST(DotStuffer, ChunkBoundariesDoNotMatter) {
  const std::string body = "line\r\n.dot\r\n\r\n.\r\nend\r";
  std::string whole = Stuff({body});
  for (size_t a = 0; a <= body.size(); ++a) {
    for (size_t b = a; b <= body.size(); ++b) {
      std::string_view v(body);
      EXPECT_EQ(Stuff({v.substr(0, a), v.substr(a, b - a), v.substr(b)}), whole) << a << "," << b;
    }
  }
}

}  // namespace
}  // namespace outpost::transport::smtp
