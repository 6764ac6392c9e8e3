#include "transport/api/delivery.h"

#include <gtest/gtest.h>

namespace outpost::transport {
namespace {

TEST(ErrorClass, NamesRoundTrip) {
  for (auto c : {ErrorClass::kNone, ErrorClass::kDns, ErrorClass::kUnexpectedReply,
                 ErrorClass::kConnection, ErrorClass::kTls, ErrorClass::kDane,
                 ErrorClass::kMtaSts, ErrorClass::kRate, ErrorClass::kConcurrency,
                 ErrorClass::kIo, ErrorClass::kConfig}) {
    auto parsed = ParseErrorClass(ErrorClassName(c));
    ASSERT_TRUE(parsed.has_value()) << ErrorClassName(c);
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_EQ(ErrorClassName(ErrorClass::kMtaSts), "mta-sts");
  EXPECT_FALSE(ParseErrorClass("bogus").has_value());
}

TEST(ErrorClass, FurthestStageFollowsDesignOrder) {
  EXPECT_EQ(FurthestStage(ErrorClass::kDns, ErrorClass::kConnection), ErrorClass::kConnection);
  EXPECT_EQ(FurthestStage(ErrorClass::kConnection, ErrorClass::kTls), ErrorClass::kTls);
  EXPECT_EQ(FurthestStage(ErrorClass::kTls, ErrorClass::kUnexpectedReply),
            ErrorClass::kUnexpectedReply);
  EXPECT_EQ(FurthestStage(ErrorClass::kUnexpectedReply, ErrorClass::kConnection),
            ErrorClass::kUnexpectedReply);
  EXPECT_EQ(FurthestStage(ErrorClass::kTls, ErrorClass::kDane), ErrorClass::kTls);
}

}  // namespace
}  // namespace outpost::transport
