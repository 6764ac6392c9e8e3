#include "transport/server/sasl_exchange.h"

#include <gtest/gtest.h>

#include "transport/server/base64.h"

namespace outpost::smtp_server {
namespace {

using Kind = SaslExchange::Step::Kind;

std::string Plain(std::string_view authzid, std::string_view user, std::string_view pass) {
  std::string s(authzid);
  s += '\0';
  s += user;
  s += '\0';
  s += pass;
  return Base64Encode(s);
}

TEST(SaslExchange, PlainWithInitialResponse) {
  SaslExchange x;
  auto s = x.Start("PLAIN " + Plain("", "alice", "pw"));
  ASSERT_EQ(s.kind, Kind::kCredentials);
  EXPECT_EQ(s.user, "alice");
  EXPECT_EQ(s.password, "pw");
  EXPECT_FALSE(x.waiting());
  // authzid equal to the user is fine; another identity is refused.
  EXPECT_EQ(x.Start("plain " + Plain("alice", "alice", "pw")).kind, Kind::kCredentials);
  auto other = x.Start("PLAIN " + Plain("root", "alice", "pw"));
  EXPECT_EQ(other.kind, Kind::kRefused);
  EXPECT_EQ(other.reply.code, 535);
}

TEST(SaslExchange, PlainWithChallenge) {
  SaslExchange x;
  auto c = x.Start("PLAIN");
  ASSERT_EQ(c.kind, Kind::kChallenge);
  EXPECT_EQ(FormatReply(c.reply), "334 \r\n");
  EXPECT_TRUE(x.waiting());
  auto s = x.Respond(Plain("", "bob", ""));
  ASSERT_EQ(s.kind, Kind::kCredentials);
  EXPECT_EQ(s.user, "bob");
  EXPECT_EQ(s.password, "");
}

TEST(SaslExchange, LoginBothForms) {
  SaslExchange x;
  EXPECT_EQ(FormatReply(x.Start("LOGIN").reply), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(FormatReply(x.Respond(Base64Encode("carol")).reply), "334 UGFzc3dvcmQ6\r\n");
  auto s = x.Respond(Base64Encode("secret"));
  ASSERT_EQ(s.kind, Kind::kCredentials);
  EXPECT_EQ(s.user, "carol");
  EXPECT_EQ(s.password, "secret");

  EXPECT_EQ(FormatReply(x.Start("LOGIN " + Base64Encode("dave")).reply), "334 UGFzc3dvcmQ6\r\n");
  auto d = x.Respond("=");  // empty password
  ASSERT_EQ(d.kind, Kind::kCredentials);
  EXPECT_EQ(d.user, "dave");
  EXPECT_EQ(d.password, "");
}

TEST(SaslExchange, Refusals) {
  struct Case {
    const char* start;
    const char* respond;  // nullptr: refusal expected at Start
    int code;
  } cases[] = {
      {"CRAM-MD5", nullptr, 504},
      {"PLAIN !!!!", nullptr, 501},
      {"PLAIN AGFsaWNl", nullptr, 501},  // "\0alice": no second NUL
      {"PLAIN", "*", 501},
      {"PLAIN", "not base64", 501},
      {"LOGIN", "*", 501},
  };
  for (const auto& c : cases) {
    SaslExchange x;
    auto s = x.Start(c.start);
    if (c.respond != nullptr) s = x.Respond(c.respond);
    EXPECT_EQ(s.kind, Kind::kRefused) << c.start;
    EXPECT_EQ(s.reply.code, c.code) << c.start;
    EXPECT_FALSE(x.waiting());
  }
  SaslExchange idle;
  EXPECT_EQ(idle.Respond("AAAA").reply.code, 503);
}

}  // namespace
}  // namespace outpost::smtp_server
