#include "queue/dsn/field_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "common/time_format.h"
#include "queue/dsn/rfc5322_date.h"

namespace outpost::dsn {
namespace {

// Removes the line breaks of folded header text (RFC 5322 §2.2.3 unfolding).
std::string Unfold(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

void ExpectLinesWithin(const std::string& text, size_t max) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "unterminated line";
    EXPECT_LE(end - start, max);
    start = end + 2;
  }
}

TEST(SanitizeFieldText, CrLfAndControlsBecomeSingleSpaces) {
  EXPECT_EQ(SanitizeFieldText("user unknown\r\nBcc: victim@example.net\r\n", false),
            "user unknown Bcc: victim@example.net");
  EXPECT_EQ(SanitizeFieldText("  a\t\tb\x01\x7f c  ", false), "a b c");
  EXPECT_EQ(SanitizeFieldText("\r\n\r\n", false), "");
}

TEST(SanitizeFieldText, NonAsciiKeptOnlyWhenAllowedAndValid) {
  EXPECT_EQ(SanitizeFieldText("caf\xc3\xa9", true), "caf\xc3\xa9");
  EXPECT_EQ(SanitizeFieldText("caf\xc3\xa9", false), "caf??");
  EXPECT_EQ(SanitizeFieldText("bad\xff\xc3", true), "bad??");
  EXPECT_EQ(SanitizeFieldText("\xed\xa0\x80", true), "???");  // a surrogate is not UTF-8
}

TEST(FoldField, ShortValueOnOneLine) {
  EXPECT_EQ(FoldField("Action", "failed"), "Action: failed\r\n");
}

TEST(FoldField, LongValueFoldsAtSpacesAndUnfoldsToTheSame) {
  std::string value;
  for (int i = 0; i < 60; ++i) value += "word" + std::to_string(i) + " ";
  value += "end";
  std::string folded = FoldField("Diagnostic-Code", value);
  ExpectLinesWithin(folded, kFoldWidth);
  EXPECT_EQ(Unfold(folded), "Diagnostic-Code: " + value);
}

TEST(FoldField, UnbreakableRunIsSplitBelowTheLineLimit) {
  std::string value = "smtp; " + std::string(5000, 'x');
  std::string folded = FoldField("Diagnostic-Code", value);
  ExpectLinesWithin(folded, kMaxLineOctets);
  std::string unfolded = Unfold(folded);
  std::erase(unfolded, ' ');
  EXPECT_EQ(unfolded, "Diagnostic-Code:smtp;" + std::string(5000, 'x'));
}

TEST(FoldField, HardSplitNeverCutsUtf8) {
  std::string value;
  for (int i = 0; i < 800; ++i) value += "\xc3\xa9";
  std::string folded = FoldField("X", value);
  ExpectLinesWithin(folded, kMaxLineOctets);
  size_t start = 0;
  while (start < folded.size()) {
    size_t end = folded.find("\r\n", start);
    std::string line = folded.substr(start, end - start);
    EXPECT_TRUE(IsValidUtf8(line)) << line.size();
    start = end + 2;
  }
}

TEST(FoldField, NoContinuationLineIsOnlyWhitespace) {
  std::string value = std::string(70, 'a') + "      " + std::string(70, 'b');
  std::string folded = FoldField("X", value);
  EXPECT_EQ(folded.find("\r\n \r\n"), std::string::npos);
  EXPECT_EQ(folded.find("\r\n  "), std::string::npos);
  EXPECT_EQ(Unfold(folded), "X: " + value);
}

TEST(Xtext, DecodesHexEscapesAndKeepsSloppyInput) {
  EXPECT_EQ(XtextDecode("a+2Bb@example.org"), "a+b@example.org");
  EXPECT_EQ(XtextDecode("x+3Dy"), "x=y");
  EXPECT_EQ(XtextDecode("plain+"), "plain+");
  EXPECT_EQ(XtextDecode("bad+ZZ"), "bad+ZZ");
  EXPECT_EQ(XtextDecode("+0D+0A"), "\r\n");
}

TEST(Utf8Addr, UnitextEscapesSpecialsAndRoundTrips) {
  EXPECT_EQ(EncodeUtf8AddrUnitext("a+b=c\\d e@x"), "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e@x");
  std::string addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad\xe5\x9b\xbd";
  EXPECT_EQ(EncodeUtf8AddrUnitext(addr), addr);
  EXPECT_EQ(DecodeUtf8Addr(EncodeUtf8AddrUnitext("a+b=c\\d e@x")), "a+b=c\\d e@x");
  EXPECT_EQ(DecodeUtf8Addr("\\x{E9}t\\x{E9}@x"), "\xc3\xa9t\xc3\xa9@x");
  EXPECT_EQ(DecodeUtf8Addr("\\x{D800}@x"), "\\x{D800}@x");  // a surrogate stays literal
  EXPECT_EQ(DecodeUtf8Addr("\\x{"), "\\x{");
  EXPECT_EQ(EncodeUtf8AddrUnitext("\xff@x"), "\\x{FFFD}@x");
}

TEST(EnhancedStatus, Syntax) {
  for (const char* ok : {"5.1.1", "4.4.7", "2.0.0", "5.1.10", "5.123.123"}) {
    EXPECT_TRUE(IsValidEnhancedStatus(ok)) << ok;
  }
  for (const char* bad : {"", "5.1", "3.1.1", "5.1.1 ", "5..1", "5.1.1234", "a.b.c", "5.1.1.1"}) {
    EXPECT_FALSE(IsValidEnhancedStatus(bad)) << bad;
  }
}

TEST(SplitTypedValue, LowercasesTypeAndTrims) {
  auto tv = SplitTypedValue(" RFC822 ;  User@Example.org ");
  ASSERT_TRUE(tv.has_value());
  EXPECT_EQ(tv->type, "rfc822");
  EXPECT_EQ(tv->value, "User@Example.org");
  EXPECT_FALSE(SplitTypedValue("no type").has_value());
}

struct DateCase {
  std::string text;
  std::optional<int64_t> unix_ms;
};

class Rfc5322Date : public testing::TestWithParam<DateCase> {};

TEST_P(Rfc5322Date, Parses) { EXPECT_EQ(ParseRfc5322Date(GetParam().text), GetParam().unix_ms); }

constexpr int64_t k2026 = 1767225600000;  // 2026-01-01T00:00:00Z

INSTANTIATE_TEST_SUITE_P(Table, Rfc5322Date,
                         testing::Values(DateCase{"Thu, 01 Jan 2026 00:00:00 +0000", k2026},
                                         DateCase{"1 Jan 2026 00:00:00 +0000", k2026},
                                         DateCase{"Thu, 1 Jan 2026 01:30:00 +0130", k2026},
                                         DateCase{"Wed, 31 Dec 2025 19:00:00 -0500 (EST)", k2026},
                                         DateCase{"Wed, 31 Dec 2025 19:00:00 EST", k2026},
                                         DateCase{"Thu, 01 Jan 2026 00:00 GMT", k2026},
                                         DateCase{"Thu, 01 Jan 26 00:00:00 +0000", k2026},
                                         DateCase{"Thu,\r\n 01 Jan 2026 00:00:00 +0000", k2026},
                                         DateCase{"Sun, 29 Feb 2032 12:00:00 +0000", 1961668800000},
                                         DateCase{"", std::nullopt},
                                         DateCase{"yesterday", std::nullopt},
                                         DateCase{"Thu, 32 Jan 2026 00:00:00 +0000", std::nullopt},
                                         DateCase{"Thu, 29 Feb 2026 00:00:00 +0000", std::nullopt},
                                         DateCase{"Thu, 01 Foo 2026 00:00:00 +0000", std::nullopt},
                                         DateCase{"Thu, 01 Jan 2026 24:00:00 +0000", std::nullopt},
                                         DateCase{"Thu, 01 Jan 2026 00:00:00 +00", std::nullopt},
                                         DateCase{"Thu, 01 Jan 2026 00: +0000", std::nullopt}));

TEST(Rfc5322DateRoundTrip, OurOwnFormatParsesBack) {
  for (int64_t ms : {int64_t{0}, k2026, int64_t{1767225600000 + 86400000LL * 400 + 3723000}}) {
    EXPECT_EQ(ParseRfc5322Date(FormatRfc5322Date(ms)), ms);
  }
}

}  // namespace
}  // namespace outpost::dsn
