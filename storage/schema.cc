#include "storage/schema.h"

#include "outpost_queue.pb.h"

namespace outpost::storage {

StatusOr<uint32_t> CheckSchema(const std::optional<std::string>& stored, bool store_is_empty,
                               std::string_view path) {
  const std::string where = "store " + std::string(path);
  if (!stored) {
    if (store_is_empty) return kSchemaVersion;
    return Status::FailedPrecondition(
        where + " has data but no schema version: not an Outpost queue of a known format");
  }
  proto::SchemaInfo info;
  if (!info.ParseFromString(*stored) || info.version() == 0) {
    return Status::FailedPrecondition(where + " has an unreadable schema record (" +
                                      std::to_string(stored->size()) +
                                      " bytes): unknown schema, refusing to open");
  }
  if (info.version() > kSchemaVersion) {
    return Status::FailedPrecondition(
        where + " uses schema version " + std::to_string(info.version()) +
        ", newer than this build supports (" + std::to_string(kSchemaVersion) +
        "); run a newer outpost or restore a backup");
  }
  if (info.version() < kOldestMigratableSchema) {
    return Status::FailedPrecondition(where + " uses schema version " +
                                      std::to_string(info.version()) + " and no migration to " +
                                      std::to_string(kSchemaVersion) + " exists");
  }
  return info.version();
}

std::string UpgradedSchemaInfo(std::string_view stored) {
  proto::SchemaInfo info;
  info.ParseFromArray(stored.data(), static_cast<int>(stored.size()));
  info.set_version(kSchemaVersion);
  return info.SerializeAsString();
}

std::string EncodeSchemaInfo(int64_t created_unix_ms) {
  proto::SchemaInfo info;
  info.set_version(kSchemaVersion);
  info.set_created_unix_ms(created_unix_ms);
  info.set_created_by("outpost");
  return info.SerializeAsString();
}

}  // namespace outpost::storage
