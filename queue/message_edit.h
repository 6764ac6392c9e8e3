#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "outpost_queue.pb.h"
#include "queue/types.h"
#include "storage/write_batch.h"

namespace outpost::queue {

// One read-modify-write of one message. Load the records, change recipient records through
// Mutable()/Remove(), then Build() turns the difference into a WriteBatch that keeps every
// index key and counter in step with the records. This is the only place that knows which
// index keys a record owns, so a transition can never leave a stale key behind.
//
// Cost is proportional to the recipients touched, not to the message: a recipient is copied
// on its first Mutable() and only touched recipients are compared, serialised and written
// (the 100-recipient messages of a deferred backlog made the copy-everything version the top
// of the loop's profile).
class MessageEdit {
 public:
  // A message being created: every recipient is new.
  static MessageEdit ForNew(proto::MessageRecord message, std::string body,
                            std::vector<proto::RecipientRecord> recipients);
  // A stored message. `loaded` is not copied: it must outlive the edit and stay unchanged.
  explicit MessageEdit(const QueuedMessage& loaded);

  const proto::MessageRecord& message() const { return message_; }
  // nullptr when the recipient is not stored (never existed or purged).
  proto::RecipientRecord* Mutable(uint32_t idx);
  const proto::RecipientRecord* Before(uint32_t idx) const;
  void Remove(uint32_t idx);
  bool changed() const;

  // Appends the change to `batch`. `now_unix_ms` stamps failed/completed times of recipients
  // entering those states.
  void Build(int64_t now_unix_ms, storage::WriteBatch* batch);

  // The due-index time of a pending recipient: the earliest of next attempt, next delay
  // notice and expiry (0 values mean "none").
  static int64_t DueTime(const proto::RecipientRecord& r);

 private:
  MessageEdit() = default;
  void DiffRecipient(const proto::RecipientRecord* before, proto::RecipientRecord* after,
                     int64_t now_unix_ms, storage::WriteBatch* batch);

  bool is_new_ = false;
  std::string new_body_;
  const QueuedMessage* before_ = nullptr;  // null for a new message
  bool before_sorted_ = true;              // before_->recipients in idx order (Load's order)
  proto::MessageRecord message_;
  // Touched recipients only (every recipient of a new message); nullopt = removed.
  std::map<uint32_t, std::optional<proto::RecipientRecord>> after_;
  std::map<std::string, int64_t> counter_deltas_;
  std::string before_bytes_, after_bytes_;  // reused serialisation buffers

  bool SameRecord(const proto::RecipientRecord& a, const proto::RecipientRecord& b);
};

}  // namespace outpost::queue
