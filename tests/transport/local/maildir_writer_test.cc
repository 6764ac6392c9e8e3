#include "transport/local/maildir_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "tests/transport/local/maildir_test_util.h"

namespace outpost::transport::local {
namespace {

using testing::FilesIn;
using testing::ReadFile;
using testing::TempDir;

TEST(MaildirWriter, WritesIntoNewAndLeavesTmpEmpty) {
  TempDir root;
  FakeClock clock;
  MaildirWriter writer(root.path(), "mx.example/x:y", clock);
  auto path =
      writer.Write({"example.org", "alice"}, "Return-Path: <a@b>\n", "Subject: hi\n\nbody\n");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  const std::string maildir = root.path() + "/example.org/alice";
  EXPECT_EQ(std::filesystem::path(*path).parent_path(), maildir + "/new");
  EXPECT_EQ(ReadFile(*path), "Return-Path: <a@b>\nSubject: hi\n\nbody\n");
  EXPECT_TRUE(FilesIn(maildir + "/tmp").empty());
  EXPECT_TRUE(std::filesystem::is_directory(maildir + "/cur"));
  const std::string name = std::filesystem::path(*path).filename();
  EXPECT_EQ(name.rfind("1767225600.M0P", 0), 0u) << name;
  EXPECT_NE(name.find(".mx.example\\057x\\072y"), std::string::npos) << name;
}

TEST(MaildirWriter, NamesAreUniqueAtTheSameInstant) {
  TempDir root;
  FakeClock clock;  // time stands still: only the counter tells names apart
  MaildirWriter writer(root.path(), "h", clock);
  std::set<std::string> names;
  for (int i = 0; i < 50; ++i) {
    auto path = writer.Write({"example.org", "bob"}, "", "x");
    ASSERT_TRUE(path.ok());
    names.insert(*path);
  }
  EXPECT_EQ(names.size(), 50u);
  EXPECT_EQ(FilesIn(root.path() + "/example.org/bob/new").size(), 50u);
}

TEST(MaildirWriter, MissingRootIsAnIoError) {
  TempDir root;
  FakeClock clock;
  MaildirWriter writer(root.path() + "/does-not-exist", "h", clock);
  auto path = writer.Write({"example.org", "alice"}, "", "x");
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.status().Is(Status::Code::kIoError)) << path.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/does-not-exist"));
}

TEST(MaildirWriter, FileInTheWayIsAnIoError) {
  TempDir root;
  FakeClock clock;
  { std::ofstream(root.path() + "/example.org") << "not a directory"; }
  MaildirWriter writer(root.path(), "h", clock);
  auto path = writer.Write({"example.org", "alice"}, "", "x");
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.status().Is(Status::Code::kIoError)) << path.status().ToString();
}

TEST(CrlfToLf, ConvertsPairsAndKeepsBareCr) {
  EXPECT_EQ(CrlfToLf("a\r\nb\rc\r\n\r\n"), "a\nb\rc\n\n");
  EXPECT_EQ(CrlfToLf("end\r"), "end\r");
  EXPECT_EQ(CrlfToLf(""), "");
}

}  // namespace
}  // namespace outpost::transport::local
