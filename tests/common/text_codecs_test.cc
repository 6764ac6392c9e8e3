// common/utf8.h and common/base64.h: the shared text codecs.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/utf8.h"

namespace outpost {
namespace {

TEST(Utf8, SequencesAndReplacement) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  for (const char* bad : {"\x80", "\xc3", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xbf\xbf",
                          "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
  EXPECT_EQ(ToValidUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(ToValidUtf8("\xf0\x9f\x98"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ToValidUtf8("a\xffz"), "a\xef\xbf\xbdz");
}

TEST(Base64, LenientSkipsLineBreaksAndStopsAtPadding) {
  EXPECT_EQ(Base64DecodeLenient("Zm9v\r\nYmFy"), "foobar");
  EXPECT_EQ(Base64DecodeLenient("Zm9vYg==\r\nignored"), "foob");
  EXPECT_EQ(Base64DecodeLenient("Z m9v*"), "foo");
  EXPECT_EQ(Base64DecodeLenient(""), "");
  // The strict decoder refuses what the lenient one accepts.
  EXPECT_FALSE(Base64Decode("Zm9v\r\nYmFy").ok());
  EXPECT_EQ(*Base64Decode(Base64Encode(std::string("\0\xff\x80", 3))), std::string("\0\xff\x80", 3));
}

}  // namespace
}  // namespace outpost
