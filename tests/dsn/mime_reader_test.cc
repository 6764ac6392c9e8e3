#include "queue/dsn/mime_reader.h"

#include <gtest/gtest.h>

namespace outpost::dsn {
namespace {

TEST(ReadFields, UnfoldsContinuationsAndSkipsGarbage) {
  std::string_view rest;
  auto fields = ReadFields(
      "Subject: a\r\n long\r\n\tsubject\r\nnot a field\r\n bogus continuation\r\n"
      "X-Empty:\r\nBad Name: v\r\n\r\nbody\r\n",
      &rest);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "Subject");
  EXPECT_EQ(fields[0].value, "a long\tsubject");
  EXPECT_EQ(fields[1].name, "X-Empty");
  EXPECT_EQ(fields[1].value, "");
  EXPECT_EQ(rest, "body\r\n");
  EXPECT_EQ(FindField(fields, "subject"), "a long\tsubject");
  EXPECT_EQ(FindField(fields, "missing"), std::nullopt);
}

TEST(ParseContentType, ParamsQuotedAndUnquoted) {
  ContentType ct = ParseContentType(
      "Multipart/Report; report-type=delivery-status;\tboundary=\"a;b\\\"c\"; x=y");
  EXPECT_EQ(ct.type, "multipart/report");
  EXPECT_EQ(ct.Param("report-type"), "delivery-status");
  EXPECT_EQ(ct.Param("boundary"), "a;b\"c");
  EXPECT_EQ(ct.Param("x"), "y");
  EXPECT_EQ(ParseContentType(std::nullopt).type, "text/plain");
  EXPECT_EQ(ParseContentType("garbage").type, "text/plain");
}

TEST(SplitMultipart, PartsExcludeTheDelimiterLineBreak) {
  auto parts = SplitMultipart(
      "preamble\r\n--b\r\nH: 1\r\n\r\none\r\n--b  \r\n\r\ntwo\r\n\r\n--b--\r\nepilogue", "b");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], "H: 1\r\n\r\none");
  EXPECT_EQ((*parts)[1], "\r\ntwo\r\n");
}

TEST(SplitMultipart, LfOnlyAndMissingCloseDelimiter) {
  auto parts = SplitMultipart("--b\nA\n--bx\nstill A\n--b\nB\n", "b");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], "A\n--bx\nstill A");
  EXPECT_EQ((*parts)[1], "B\n");
}

TEST(SplitMultipart, Errors) {
  EXPECT_FALSE(SplitMultipart("--b\r\nx", "").ok());
  EXPECT_FALSE(SplitMultipart("no delimiters here", "b").ok());
  std::string many;
  for (int i = 0; i < 10; ++i) many += "--b\r\nx\r\n";
  EXPECT_FALSE(SplitMultipart(many, "b", 5).ok());
}

TEST(DecodeBody, TransferEncodings) {
  EXPECT_EQ(*DecodeBody("UmVwb3J0aW5n\r\nLU1UQQ==\r\n", "base64"), "Reporting-MTA");
  EXPECT_EQ(*DecodeBody("Status: 5.1.1=\r\n (x) caf=C3=A9 =3D", "Quoted-Printable"),
            "Status: 5.1.1 (x) caf\xc3\xa9 =");
  EXPECT_EQ(*DecodeBody("as is", std::nullopt), "as is");
  EXPECT_FALSE(DecodeBody("x", "x-uuencode").ok());
}

}  // namespace
}  // namespace outpost::dsn
