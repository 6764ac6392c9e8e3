#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace outpost {
namespace {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, ErrorCarriesCodeAndMessage) {
  Status s = Status::NoSpace("disk full");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.Is(Status::Code::kNoSpace));
  EXPECT_EQ(s.ToString(), "NoSpace: disk full");
  EXPECT_EQ(s.Annotate("enqueue").ToString(), "NoSpace: enqueue: disk full");
}

StatusOr<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  OUTPOST_ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return Status::Ok();
}

TEST(StatusOr, ValueOrError) {
  auto a = Half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  auto b = Half(3);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "odd");
}

TEST(StatusOr, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(7, &out).code(), Status::Code::kInvalidArgument);
}

TEST(StatusOr, OkStatusBecomesInternalError) {
  StatusOr<int> s(Status::Ok());
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInternal);
}

TEST(StatusOr, MoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> p(std::make_unique<int>(5));
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> v = std::move(p).value();
  EXPECT_EQ(*v, 5);
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  StatusOr<int> s(Status::IoError("x"));
  EXPECT_DEATH((void)s.value(), "StatusOr::value\\(\\) on error");
}

}  // namespace
}  // namespace outpost
