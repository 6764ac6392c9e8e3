// RFC 8461 parsers and rules: the TXT record, the policy file, MX patterns, max_age.
#include "transport/tlspolicy/mta_sts.h"

#include <gtest/gtest.h>

namespace outpost::transport::tlspolicy {
namespace {

TEST(MtaStsTxt, ParsesIdWithAndWithoutSpacesAndTrailingSemicolon) {
  for (const char* rec : {"v=STSv1; id=20240101T000000;", "v=STSv1;id=20240101T000000",
                          "v=STSv1;  id=20240101T000000 ;", "v=STSv1; id=20240101T000000; ext=x"}) {
    auto txt = ParseMtaStsTxt({rec});
    ASSERT_TRUE(txt.ok()) << rec << ": " << txt.status().ToString();
    EXPECT_EQ(txt->id, "20240101T000000") << rec;
  }
}

TEST(MtaStsTxt, OtherRecordsAreDiscardedBeforeCounting) {
  auto txt = ParseMtaStsTxt(
      {"google-site-verification=abc", "v=STSv1; id=abc123;", "v=spf1 -all", "v=STSv10; id=zzz"});
  ASSERT_TRUE(txt.ok()) << txt.status().ToString();
  EXPECT_EQ(txt->id, "abc123");
}

TEST(MtaStsTxt, RejectsWhatRfc8461Rejects) {
  EXPECT_TRUE(ParseMtaStsTxt({}).status().Is(Status::Code::kNotFound));
  EXPECT_TRUE(ParseMtaStsTxt({"v=spf1 -all"}).status().Is(Status::Code::kNotFound));
  EXPECT_TRUE(ParseMtaStsTxt({"id=1; v=STSv1"}).status().Is(Status::Code::kNotFound));
  EXPECT_TRUE(ParseMtaStsTxt({"v=stsv1; id=1"}).status().Is(Status::Code::kNotFound));
  const char* bad[] = {
      "v=STSv1",                                        // no id
      "v=STSv1;",                                       // no id
      "v=STSv1; id=",                                   // empty id
      "v=STSv1; id=abc-def",                            // not alphanumeric
      "v=STSv1; id=123456789012345678901234567890123",  // 33 characters
      "v=STSv1 id=1",                                   // missing delimiter
      "v=STSv1; id=1; id=2",                            // duplicate
      "v=STSv1; ; id=1",                                // empty field
  };
  for (const char* rec : bad) {
    EXPECT_TRUE(ParseMtaStsTxt({rec}).status().Is(Status::Code::kInvalidArgument)) << rec;
  }
  EXPECT_TRUE(ParseMtaStsTxt({"v=STSv1; id=1", "v=STSv1; id=2"})
                  .status()
                  .Is(Status::Code::kInvalidArgument));
}

TEST(MtaStsPolicyParse, TheTestBedPolicyWithCrlf) {
  auto p =
      ParseMtaStsPolicy("version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->mode, MtaStsMode::kEnforce);
  EXPECT_EQ(p->mx, std::vector<std::string>{"mx.sts.test"});
  EXPECT_EQ(p->max_age, std::chrono::seconds(86400));
}

TEST(MtaStsPolicyParse, LfLinesSeveralMxUnknownKeysAndWhitespace) {
  auto p = ParseMtaStsPolicy(
      "version: STSv1\nmode:testing\nmx: MX1.Example.com.\nmx:   *.backup.example.com  \n"
      "max_age: 604800\nfuture_key: whatever\n\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->mode, MtaStsMode::kTesting);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mx1.example.com", "*.backup.example.com"}));
  EXPECT_EQ(p->max_age, std::chrono::seconds(604800));
}

TEST(MtaStsPolicyParse, ModeNoneNeedsNoMx) {
  auto p = ParseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 0");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->mode, MtaStsMode::kNone);
  EXPECT_EQ(p->max_age, std::chrono::seconds(0));
}

TEST(MtaStsPolicyParse, FirstOccurrenceWinsForSingleFields) {
  auto p = ParseMtaStsPolicy(
      "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 10\nmax_age: 20\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->mode, MtaStsMode::kEnforce);
  EXPECT_EQ(p->max_age, std::chrono::seconds(10));
}

TEST(MtaStsPolicyParse, MaxAgeBounds) {
  auto at_max = ParseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 31557600\n");
  ASSERT_TRUE(at_max.ok());
  EXPECT_EQ(at_max->max_age, kMtaStsMaxAge);
  auto over = ParseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 9999999999\n");
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->max_age, kMtaStsMaxAge);  // clamped, not refused
  for (const char* age : {"", "-1", "1e5", "12345678901", "86400s", " "}) {
    std::string body = std::string("version: STSv1\nmode: none\nmax_age: ") + age + "\n";
    EXPECT_FALSE(ParseMtaStsPolicy(body).ok()) << "max_age '" << age << "'";
  }
}

TEST(MtaStsPolicyParse, RejectsMalformedPolicies) {
  const char* bad[] = {
      "mode: enforce\nmx: a.example\nmax_age: 1\n",                    // no version
      "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",    // wrong version
      "version: STSv1\nmx: a.example\nmax_age: 1\n",                   // no mode
      "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",    // values are case-sensitive
      "version: STSv1\nmode: enforce\nmx: a.example\n",                // no max_age
      "version: STSv1\nmode: enforce\nmax_age: 1\n",                   // enforce without mx
      "version: STSv1\nmode: testing\nmax_age: 1\n",                   // testing without mx
      "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",   // empty label
      "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",  // one wildcard only
      "version: STSv1\nmode: enforce\nmx: a*.example\nmax_age: 1\n",   // partial wildcard
      "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n",  // not LDH
      "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n",   // leading hyphen
      "version: STSv1\nmode: enforce\nmx: \nmax_age: 1\n",             // empty mx
      "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n",     // no colon
      "version: STSv1\r\rmode: enforce\nmx: a.example\nmax_age: 1\n",  // stray CR
      "<html><body>Not found</body></html>",
  };
  for (const char* body : bad) {
    EXPECT_FALSE(ParseMtaStsPolicy(body).ok()) << body;
  }
  EXPECT_FALSE(ParseMtaStsPolicy(std::string("version: STSv1\0\n", 16)).ok());
  std::string huge = "version: STSv1\nmode: none\nmax_age: 1\n";
  huge.append(kMtaStsMaxPolicyBytes, 'x');
  EXPECT_FALSE(ParseMtaStsPolicy(huge).ok());
}

TEST(MtaStsPolicyParse, FormatRoundTrips) {
  MtaStsPolicy p{MtaStsMode::kEnforce, {"mx.example", "*.example.net"}, std::chrono::seconds(99)};
  std::string text = FormatMtaStsPolicy(p);
  EXPECT_EQ(text,
            "version: STSv1\r\nmode: enforce\r\nmx: mx.example\r\nmx: *.example.net\r\n"
            "max_age: 99\r\n");
  auto back = ParseMtaStsPolicy(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

struct PatternCase {
  const char* pattern;
  const char* host;
  bool matches;
};

TEST(MxPattern, Rfc8461Section41) {
  const PatternCase cases[] = {
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "MAIL.Example.COM.", true},
      {"mail.example.com", "mail2.example.com", false},
      {"*.example.com", "mail.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "a.b.example.com", false},
      {"*.example.com", "mail.example.com.evil", false},
      {"*.example.com", "mailexample.com", false},
      {"*.example.com", ".example.com", false},
      {"mail.example.com", "", false},
      {"", "mail.example.com", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(MxPatternMatches(c.pattern, c.host), c.matches) << c.pattern << " vs " << c.host;
  }
}

TEST(MxPattern, PolicyAllowsAnyListedPattern) {
  MtaStsPolicy p{
      MtaStsMode::kEnforce, {"mx1.example.com", "*.backup.example.com"}, std::chrono::seconds(1)};
  EXPECT_TRUE(PolicyAllowsMx(p, "mx1.example.com"));
  EXPECT_TRUE(PolicyAllowsMx(p, "b7.backup.example.com"));
  EXPECT_FALSE(PolicyAllowsMx(p, "mx2.example.com"));
  EXPECT_EQ(MtaStsPolicyHost("Example.COM."), "mta-sts.example.com");
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
