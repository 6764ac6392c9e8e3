#include "storage/write_batch.h"

namespace outpost::storage {

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  ops_.push_back({Op::Kind::kPut, cf, std::string(key), std::string(value)});
  bytes_ += key.size() + value.size() + 8;
}

void WriteBatch::Delete(Cf cf, std::string_view key) {
  ops_.push_back({Op::Kind::kDelete, cf, std::string(key), {}});
  bytes_ += key.size() + 8;
}

void WriteBatch::AddCounter(std::string_view key, int64_t delta) {
  if (delta == 0) return;
  ops_.push_back({Op::Kind::kMerge, Cf::kMeta, std::string(key), EncodeCounter(delta)});
  bytes_ += key.size() + 16;
}

void WriteBatch::Append(const WriteBatch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  bytes_ += other.bytes_;
}

}  // namespace outpost::storage
