#include "transport/server/smtp_command.h"

#include <gtest/gtest.h>

#include <string>

namespace outpost::smtp_server {
namespace {

// The reply code a refused line gets, or 0 when the line parses.
int RefusalCode(std::string_view line) {
  ParsedCommand p = ParseCommand(line);
  if (auto* r = std::get_if<SmtpReply>(&p)) return r->code;
  return 0;
}

std::string RefusalEnhanced(std::string_view line) {
  ParsedCommand p = ParseCommand(line);
  if (auto* r = std::get_if<SmtpReply>(&p)) return r->enhanced;
  return "";
}

SmtpCommand Parsed(std::string_view line) {
  ParsedCommand p = ParseCommand(line);
  if (auto* r = std::get_if<SmtpReply>(&p)) {
    ADD_FAILURE() << "refused " << line << ": " << FormatReply(*r);
    return {};
  }
  return std::get<SmtpCommand>(p);
}

TEST(SmtpCommand, EveryVerbParses) {
  struct Case {
    const char* line;
    Verb verb;
  } cases[] = {
      {"EHLO client.example", Verb::kEhlo},
      {"helo client", Verb::kHelo},
      {"MAIL FROM:<a@b.example>", Verb::kMail},
      {"RCPT TO:<c@d.example>", Verb::kRcpt},
      {"DATA", Verb::kData},
      {"RSET", Verb::kRset},
      {"NOOP", Verb::kNoop},
      {"NOOP anything", Verb::kNoop},
      {"QUIT", Verb::kQuit},
      {"VRFY bob", Verb::kVrfy},
      {"HELP", Verb::kHelp},
      {"STARTTLS", Verb::kStartTls},
      {"AUTH PLAIN", Verb::kAuth},
      {"ehlo [127.0.0.1]", Verb::kEhlo},
      {"Mail From:<>", Verb::kMail},
  };
  for (const auto& c : cases) EXPECT_EQ(Parsed(c.line).verb, c.verb) << c.line;
}

TEST(SmtpCommand, RefusalsCarryTheRightCode) {
  struct Case {
    const char* line;
    int code;
    const char* enhanced;
  } cases[] = {
      {"", 500, "5.5.2"},
      {"FOO", 500, "5.5.2"},
      {"BDAT 100 LAST", 502, "5.5.1"},
      {"EXPN list", 502, "5.5.1"},
      {"EHLO", 501, "5.5.4"},
      {"HELO", 501, "5.5.4"},
      {"EHLO bad(name)", 501, "5.5.4"},
      {"EHLO a\x01"
       "b",
       501, "5.5.4"},
      {"DATA now", 501, "5.5.4"},
      {"QUIT please", 501, "5.5.4"},
      {"STARTTLS x", 501, "5.5.4"},
      {"AUTH", 501, "5.5.4"},
      {"VRFY", 501, "5.5.4"},
      {"MAIL", 501, "5.5.4"},
      {"MAIL TO:<a@b>", 501, "5.5.4"},
      {"RCPT FROM:<a@b>", 501, "5.5.4"},
      {"MAIL FROM:a@b", 501, "5.1.7"},
      {"MAIL FROM:<a@b", 501, "5.1.7"},
      {"RCPT TO:<>", 501, "5.1.3"},
      {"RCPT TO:<nodomain>", 501, "5.1.3"},
      {"MAIL FROM:<a@b>x", 501, "5.5.4"},
      {"MAIL FROM:<a@b> FOO=1", 555, "5.5.4"},
      {"MAIL FROM:<a@b> SIZE", 501, "5.5.4"},
      {"MAIL FROM:<a@b> SIZE=12x", 501, "5.5.4"},
      {"MAIL FROM:<a@b> SIZE=99999999999999999999", 501, "5.5.4"},
      {"MAIL FROM:<a@b> BODY=BINARYMIME", 501, "5.5.4"},
      {"MAIL FROM:<a@b> SMTPUTF8=yes", 501, "5.5.4"},
      {"MAIL FROM:<a@b> RET=ALL", 501, "5.5.4"},
      {"MAIL FROM:<a@b> ENVID=a+4", 501, "5.5.4"},
      {"MAIL FROM:<a@b> ENVID=a+0D+0Ab", 501, "5.5.4"},
      {"MAIL FROM:<a@b> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"MAIL FROM:<a@b> =x", 501, "5.5.4"},
      {"RCPT TO:<a@b> NOTIFY=SOMETIMES", 501, "5.5.4"},
      {"RCPT TO:<a@b> NOTIFY=NEVER,DELAY", 501, "5.5.4"},
      {"RCPT TO:<a@b> NOTIFY=DELAY,DELAY", 501, "5.5.4"},
      {"RCPT TO:<a@b> ORCPT=a@b", 501, "5.5.4"},
      {"RCPT TO:<a@b> ORCPT=rfc822;", 501, "5.5.4"},
      {"RCPT TO:<a@b> SIZE=10", 555, "5.5.4"},
      {"MAIL FROM:<a@b> NOTIFY=NEVER", 555, "5.5.4"},
      {"MAIL FROM:<j\xc3\xbcrgen@b.example>", 553, "5.6.7"},
      {"NOOP\r", 500, "5.5.2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RefusalCode(c.line), c.code) << c.line;
    EXPECT_EQ(RefusalEnhanced(c.line), c.enhanced) << c.line;
  }
  EXPECT_EQ(RefusalCode(std::string_view("NOOP\0x", 6)), 500);
}

TEST(SmtpCommand, MailParameters) {
  SmtpCommand c =
      Parsed("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1");
  EXPECT_FALSE(c.path.null_path);
  EXPECT_EQ(c.path.mailbox.ToString(), "a@b.example");
  ASSERT_TRUE(c.mail.size.has_value());
  EXPECT_EQ(*c.mail.size, 1000u);
  EXPECT_EQ(c.mail.body, BodyType::k8BitMime);
  EXPECT_TRUE(c.mail.smtputf8);
  EXPECT_EQ(c.mail.ret, DsnRet::kHeaders);
  EXPECT_EQ(c.mail.envid, "QQ+1");

  SmtpCommand d = Parsed("mail from: <> body=7bit ret=full AUTH=<>");
  EXPECT_TRUE(d.path.null_path);
  EXPECT_EQ(d.mail.body, BodyType::k7Bit);
  EXPECT_EQ(d.mail.ret, DsnRet::kFull);
  EXPECT_FALSE(d.mail.size.has_value());
}

TEST(SmtpCommand, RcptParameters) {
  SmtpCommand c = Parsed("RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;c+2Bx@d");
  EXPECT_TRUE(c.rcpt.notify.success);
  EXPECT_TRUE(c.rcpt.notify.failure);
  EXPECT_TRUE(c.rcpt.notify.delay);
  EXPECT_FALSE(c.rcpt.notify.never);
  EXPECT_EQ(c.rcpt.orcpt, "rfc822;c+x@d");

  SmtpCommand n = Parsed("RCPT TO:<c@d.example> notify=never");
  EXPECT_TRUE(n.rcpt.notify.never);
  EXPECT_FALSE(n.rcpt.notify.failure);

  SmtpCommand pm = Parsed("RCPT TO:<Postmaster>");
  EXPECT_EQ(pm.path.mailbox.local_part, "Postmaster");
  EXPECT_EQ(pm.path.mailbox.domain, "");
}

TEST(SmtpCommand, Smtputf8AddressNeedsTheParameter) {
  SmtpCommand c = Parsed("MAIL FROM:<j\xc3\xbcrgen@b\xc3\xa4r.example> SMTPUTF8");
  EXPECT_FALSE(c.path.mailbox.IsAscii());
  EXPECT_EQ(c.path.mailbox.domain, "b\xc3\xa4r.example");
  // Invalid UTF-8 is a syntax error, not an address.
  EXPECT_EQ(RefusalCode("MAIL FROM:<j\xc3@b.example> SMTPUTF8"), 501);
  EXPECT_EQ(RefusalCode("MAIL FROM:<a@b\xff.example> SMTPUTF8"), 501);
}

TEST(SmtpAddress, Forms) {
  struct Case {
    const char* in;
    bool ok;
    const char* out;
  } cases[] = {
      {"<user@example.org>", true, "user@example.org"},
      {"<first.last+tag@sub.example.org>", true, "first.last+tag@sub.example.org"},
      {"<\"john doe\"@example.org>", true, "\"john doe\"@example.org"},
      {"<\"a\\\"b>c\"@example.org>", true, "\"a\\\"b>c\"@example.org"},
      {"<@relay.example,@r2.example:user@example.org>", true, "user@example.org"},
      {"<user@[192.0.2.1]>", true, "user@[192.0.2.1]"},
      {"<user@[IPv6:2001:db8::1]>", true, "user@[IPv6:2001:db8::1]"},
      {"<user@[300.1.1.1]>", false, ""},
      {"<.user@example.org>", false, ""},
      {"<user.@example.org>", false, ""},
      {"<us..er@example.org>", false, ""},
      {"<user@-example.org>", false, ""},
      {"<user@exa_mple.org>", false, ""},
      {"<user@example..org>", false, ""},
      {"<user@>", false, ""},
      {"<@example.org>", false, ""},
      {"<user name@example.org>", false, ""},
      {"<\"unterminated@example.org>", false, ""},
      {"user@example.org", false, ""},
      {"<>", false, ""},
  };
  for (const auto& c : cases) {
    auto p = ParsePath(c.in, PathOptions{});
    EXPECT_EQ(p.ok(), c.ok) << c.in;
    if (p.ok() && c.ok) {
      EXPECT_EQ(p->mailbox.ToString(), c.out) << c.in;
    }
  }
  std::string long_local = "<" + std::string(65, 'a') + "@example.org>";
  EXPECT_FALSE(ParsePath(long_local, PathOptions{}).ok());
  std::string long_domain = "<a@" + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
                            std::string(60, 'd') + "." + std::string(60, 'e') + "." +
                            std::string(60, 'f') + ".org>";
  EXPECT_FALSE(ParsePath(long_domain, PathOptions{}).ok());
}

TEST(SmtpCommand, XtextDecoding) {
  EXPECT_EQ(*DecodeXtext("abc"), "abc");
  EXPECT_EQ(*DecodeXtext("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(*DecodeXtext("+2b"), "+");
  EXPECT_FALSE(DecodeXtext("+").ok());
  EXPECT_FALSE(DecodeXtext("+G0").ok());
  EXPECT_FALSE(DecodeXtext("+0A").ok());
  EXPECT_FALSE(DecodeXtext("a=b").ok());
  EXPECT_FALSE(DecodeXtext("a b").ok());
}

TEST(SmtpCommand, ReplyFormatting) {
  EXPECT_EQ(FormatReply(Reply(250, "2.0.0", "Ok")), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(FormatReply(Reply(250, "", "host\nPIPELINING\nDSN")),
            "250-host\r\n250-PIPELINING\r\n250 DSN\r\n");
  EXPECT_EQ(FormatReply(Reply(334, "", "")), "334 \r\n");
  // A CR inside text can never forge a reply line.
  EXPECT_EQ(FormatReply(Reply(550, "5.0.0", "a\rb")), "550 5.0.0 a b\r\n");
}

TEST(CommandLineReader, SplitsLinesAndBoundsLength) {
  CommandLineReader r;
  auto a = r.Next("NOOP\r\nQUIT\r\n", false);
  EXPECT_EQ(a.kind, CommandLineReader::Result::Kind::kLine);
  EXPECT_EQ(a.line, "NOOP");
  EXPECT_EQ(a.consumed, 6u);
  EXPECT_EQ(r.Next("NOO", false).kind, CommandLineReader::Result::Kind::kNeedMore);
  EXPECT_EQ(r.Next("NOOP\n", false).line, "NOOP");  // bare LF tolerated for commands

  std::string max_ok = std::string(510, 'N') + "\r\n";
  EXPECT_EQ(r.Next(max_ok, false).kind, CommandLineReader::Result::Kind::kLine);
  std::string too_long = std::string(511, 'N') + "\r\n";
  auto t = r.Next(too_long, false);
  EXPECT_EQ(t.kind, CommandLineReader::Result::Kind::kTooLong);
  EXPECT_EQ(t.consumed, too_long.size());

  // AUTH lines and SASL responses may be up to 12288 bytes.
  std::string auth = "AUTH PLAIN " + std::string(5000, 'A') + "\r\n";
  EXPECT_EQ(r.Next(auth, false).kind, CommandLineReader::Result::Kind::kLine);
  std::string sasl = std::string(5000, 'A') + "\r\n";
  EXPECT_EQ(r.Next(sasl, true).kind, CommandLineReader::Result::Kind::kLine);
  EXPECT_EQ(r.Next(sasl, false).kind, CommandLineReader::Result::Kind::kTooLong);

  // A line with no end in sight is dropped as it arrives, then reported once.
  std::string flood(kMaxAuthLine, 'x');
  auto f1 = r.Next(flood, false);
  EXPECT_EQ(f1.kind, CommandLineReader::Result::Kind::kNeedMore);
  EXPECT_EQ(f1.consumed, flood.size());
  auto f2 = r.Next("xxxx", false);
  EXPECT_EQ(f2.kind, CommandLineReader::Result::Kind::kNeedMore);
  EXPECT_EQ(f2.consumed, 4u);
  auto f3 = r.Next("xx\r\nNOOP\r\n", false);
  EXPECT_EQ(f3.kind, CommandLineReader::Result::Kind::kTooLong);
  EXPECT_EQ(f3.consumed, 4u);
  EXPECT_EQ(r.Next("NOOP\r\n", false).line, "NOOP");
}

}  // namespace
}  // namespace outpost::smtp_server
