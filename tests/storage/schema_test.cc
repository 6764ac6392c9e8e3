#include "storage/schema.h"

#include <gtest/gtest.h>

#include "outpost_queue.pb.h"

namespace outpost::storage {
namespace {

std::string Version(uint32_t v) {
  proto::SchemaInfo info;
  info.set_version(v);
  return info.SerializeAsString();
}

TEST(Schema, NewEmptyStoreIsAccepted) { EXPECT_TRUE(CheckSchema(std::nullopt, true, "/d").ok()); }

TEST(Schema, CurrentVersionIsAccepted) {
  EXPECT_TRUE(CheckSchema(EncodeSchemaInfo(1), false, "/d").ok());
}

TEST(Schema, VersionsAreReportedSoOlderOnesGetMigrated) {
  EXPECT_EQ(*CheckSchema(std::nullopt, true, "/d"), kSchemaVersion);
  EXPECT_EQ(*CheckSchema(Version(kSchemaVersion), false, "/d"), kSchemaVersion);
  EXPECT_EQ(*CheckSchema(Version(1), false, "/d"), 1u);  // lane-less due keys: migrated at open
}

TEST(Schema, AnUpgradeKeepsTheCreationRecord) {
  proto::SchemaInfo info;
  info.ParseFromString(UpgradedSchemaInfo(EncodeSchemaInfo(777)));
  EXPECT_EQ(info.version(), kSchemaVersion);
  EXPECT_EQ(info.created_unix_ms(), 777);
  EXPECT_EQ(info.created_by(), "outpost");
}

TEST(Schema, NewerVersionIsRefusedWithAClearMessage) {
  Status s = CheckSchema(Version(kSchemaVersion + 1), false, "/var/q").status();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("newer than this build supports"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/var/q"), std::string::npos);
}

TEST(Schema, GarbageOrMissingVersionIsRefused) {
  EXPECT_FALSE(CheckSchema(std::string("\xff\xff\xff", 3), false, "/d").ok());
  EXPECT_FALSE(CheckSchema(Version(0), false, "/d").ok());
  EXPECT_FALSE(CheckSchema(std::nullopt, /*store_is_empty=*/false, "/d").ok());
}

}  // namespace
}  // namespace outpost::storage
