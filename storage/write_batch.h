#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/keys.h"

namespace outpost::storage {

// A set of changes that the store applies atomically (all or nothing), across column
// families. Plain data: build it on any thread, then hand it to Store::Commit. One state
// change of the queue is one WriteBatch (record + every index key it touches).
class WriteBatch {
 public:
  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Adds `delta` to the int64 counter at meta `key` (a merge: concurrent batches add up).
  void AddCounter(std::string_view key, int64_t delta);
  // Appends every operation of `other`, in order.
  void Append(const WriteBatch& other);

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  size_t ApproximateBytes() const { return bytes_; }

  struct Op {
    enum class Kind { kPut, kDelete, kMerge };
    Kind kind;
    Cf cf;
    std::string key;
    std::string value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

}  // namespace outpost::storage
