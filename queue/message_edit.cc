#include "queue/message_edit.h"

#include <algorithm>

#include "storage/keys.h"

namespace outpost::queue {

using storage::Cf;

namespace {

RecipientState StateOf(const proto::RecipientRecord& r) {
  return RecipientStateFromProto(r.state()).value_or(RecipientState::kScheduled);
}

std::string CounterName(RecipientState s) {
  return storage::CounterKey("state", RecipientStateName(s));
}

bool MessageBookkeepingChanged(const proto::MessageRecord& a, const proto::MessageRecord& b) {
  return a.active_recipients() != b.active_recipients() || a.body_users() != b.body_users() ||
         a.stored_recipients() != b.stored_recipients() || a.body_deleted() != b.body_deleted();
}

}  // namespace

MessageEdit MessageEdit::ForNew(proto::MessageRecord message, std::string body,
                                std::vector<proto::RecipientRecord> recipients) {
  MessageEdit e;
  e.is_new_ = true;
  e.new_body_ = std::move(body);
  e.message_ = std::move(message);
  for (auto& r : recipients) e.after_[r.idx()] = std::move(r);
  return e;
}

MessageEdit::MessageEdit(const QueuedMessage& loaded)
    : before_(&loaded), message_(loaded.message) {
  const auto& rs = loaded.recipients;
  for (size_t i = 1; i < rs.size() && before_sorted_; ++i) {
    before_sorted_ = rs[i - 1].idx() < rs[i].idx();
  }
}

proto::RecipientRecord* MessageEdit::Mutable(uint32_t idx) {
  auto it = after_.find(idx);
  if (it != after_.end()) return it->second ? &*it->second : nullptr;
  const proto::RecipientRecord* b = Before(idx);
  if (b == nullptr) return nullptr;
  return &*after_.emplace(idx, *b).first->second;
}

const proto::RecipientRecord* MessageEdit::Before(uint32_t idx) const {
  if (before_ == nullptr) return nullptr;
  const auto& rs = before_->recipients;
  if (before_sorted_) {
    auto it = std::lower_bound(rs.begin(), rs.end(), idx,
                               [](const proto::RecipientRecord& r, uint32_t i) {
                                 return r.idx() < i;
                               });
    return it != rs.end() && it->idx() == idx ? &*it : nullptr;
  }
  for (const auto& r : rs) {
    if (r.idx() == idx) return &r;
  }
  return nullptr;
}

void MessageEdit::Remove(uint32_t idx) {
  auto it = after_.find(idx);
  if (it != after_.end()) {
    it->second.reset();
  } else if (Before(idx) != nullptr) {
    after_.emplace(idx, std::nullopt);
  }
}

bool MessageEdit::changed() const {
  if (is_new_) return true;
  for (const auto& [idx, after] : after_) {
    const proto::RecipientRecord* b = Before(idx);
    if (!after) {
      if (b) return true;
      continue;
    }
    if (!b || b->SerializeAsString() != after->SerializeAsString()) return true;
  }
  return false;
}

int64_t MessageEdit::DueTime(const proto::RecipientRecord& r) {
  int64_t due = r.next_attempt_unix_ms();
  if (r.next_notify_unix_ms() > 0) due = std::min(due, r.next_notify_unix_ms());
  if (r.expiry_unix_ms() > 0) due = std::min(due, r.expiry_unix_ms());
  return due;
}

void MessageEdit::DiffRecipient(const proto::RecipientRecord* before, proto::RecipientRecord* after,
                                int64_t now, storage::WriteBatch* b) {
  const RecipientKey key{message_.id(), after ? after->idx() : before->idx()};
  std::optional<RecipientState> sb, sa;
  if (before) sb = StateOf(*before);
  if (after) {
    sa = StateOf(*after);
    // Stamp the index times owned by the new state.
    if (IsPending(*sa)) after->set_due_unix_ms(DueTime(*after));
    if (*sa == RecipientState::kFailed && sb != RecipientState::kFailed) {
      after->set_failed_unix_ms(now);
    }
    bool done_state = *sa == RecipientState::kDelivered || *sa == RecipientState::kCancelled;
    bool was_done = sb == RecipientState::kDelivered || sb == RecipientState::kCancelled;
    if (done_state && !was_done) after->set_completed_unix_ms(now);
  }

  // Index keys each side owns.
  auto index_keys = [](const proto::RecipientRecord& r, RecipientKey k) {
    std::vector<std::pair<Cf, std::string>> keys;
    RecipientState s = StateOf(r);
    if (IsPending(s))
      keys.emplace_back(Cf::kDue, storage::DueKey(r.virtual_queue(), storage::DueLaneFor(r.retry_num()),
                                                  r.due_unix_ms(), k));
    if (s == RecipientState::kFailed) {
      keys.emplace_back(Cf::kFailed, storage::TimeIndexKey(r.failed_unix_ms(), k));
    }
    if (s == RecipientState::kDelivered || s == RecipientState::kCancelled) {
      keys.emplace_back(Cf::kDone, storage::TimeIndexKey(r.completed_unix_ms(), k));
    }
    return keys;
  };
  std::vector<std::pair<Cf, std::string>> old_keys, new_keys;
  if (before) old_keys = index_keys(*before, key);
  if (after) new_keys = index_keys(*after, key);
  for (const auto& k : old_keys) {
    if (std::find(new_keys.begin(), new_keys.end(), k) == new_keys.end()) {
      b->Delete(k.first, k.second);
    }
  }
  for (const auto& k : new_keys) {
    if (std::find(old_keys.begin(), old_keys.end(), k) == old_keys.end()) {
      b->Put(k.first, k.second, "");
    }
  }

  // Counters: state for every stored recipient; queue and domain for active ones. Summed
  // per key in Build() so a batch carries one merge operand per counter.
  auto count = [&](const proto::RecipientRecord& r, int64_t delta) {
    RecipientState s = StateOf(r);
    counter_deltas_[CounterName(s)] += delta;
    if (IsActive(s)) {
      counter_deltas_[storage::CounterKey("queue", r.virtual_queue())] += delta;
      counter_deltas_[storage::CounterKey("domain", r.domain())] += delta;
    }
  };
  bool same_counted = before && after && sb == sa &&
                      before->virtual_queue() == after->virtual_queue() &&
                      before->domain() == after->domain();
  if (!same_counted) {
    if (before) count(*before, -1);
    if (after) count(*after, +1);
  }

  const std::string rkey = storage::RecipientKeyBytes(key);
  if (after) {
    after->SerializeToString(&after_bytes_);
    b->Put(Cf::kRecipients, rkey, after_bytes_);
  } else if (before) {
    b->Delete(Cf::kRecipients, rkey);
  }
}

bool MessageEdit::SameRecord(const proto::RecipientRecord& a, const proto::RecipientRecord& b) {
  // Serialised into kept buffers: a recipient record with its attempt history is often over
  // 1 KiB, and two fresh strings per touched recipient were a visible share of malloc time.
  if (a.ByteSizeLong() != b.ByteSizeLong()) return false;
  a.SerializeToString(&before_bytes_);
  b.SerializeToString(&after_bytes_);
  return before_bytes_ == after_bytes_;
}

void MessageEdit::Build(int64_t now, storage::WriteBatch* b) {
  uint32_t active = 0, body_users = 0, stored = 0;
  auto tally = [&](const proto::RecipientRecord& r) {
    RecipientState s = StateOf(r);
    ++stored;
    active += IsActive(s) ? 1 : 0;
    body_users += NeedsBody(s) ? 1 : 0;
  };
  if (before_ != nullptr) {
    for (const auto& r : before_->recipients) {
      if (after_.count(r.idx()) == 0) tally(r);
    }
  }
  for (auto& [idx, after] : after_) {
    const proto::RecipientRecord* before = is_new_ ? nullptr : Before(idx);
    if (after) {
      bool unchanged = before && SameRecord(*before, *after);
      if (!unchanged) DiffRecipient(before, &*after, now, b);
      tally(*after);
    } else if (before) {
      DiffRecipient(before, nullptr, now, b);
    }
  }
  for (const auto& [key, delta] : counter_deltas_) b->AddCounter(key, delta);
  counter_deltas_.clear();
  const uint64_t id = message_.id();
  const std::string mkey = storage::MessageKey(id);
  const bool was_active = !is_new_ && before_->message.active_recipients() > 0;
  message_.set_active_recipients(active);
  message_.set_body_users(body_users);
  message_.set_stored_recipients(stored);
  if (is_new_) {
    b->Put(Cf::kBodies, mkey, new_body_);
    b->AddCounter(storage::CounterKey("misc", "messages"), 1);
  }
  if (active > 0 && !was_active) b->Put(Cf::kMeta, storage::ActiveMessageKey(id), "");
  if (active == 0 && was_active) b->Delete(Cf::kMeta, storage::ActiveMessageKey(id));
  if (body_users == 0 && !message_.body_deleted()) {
    b->Delete(Cf::kBodies, mkey);
    message_.set_body_deleted(true);
  }
  if (stored == 0) {
    b->Delete(Cf::kMessages, mkey);
    b->AddCounter(storage::CounterKey("misc", "messages"), -1);
  } else if (is_new_ || MessageBookkeepingChanged(before_->message, message_)) {
    // Only the bookkeeping fields change after creation: a deferral that leaves them as they
    // were does not rewrite the message record (with its list of every recipient address).
    b->Put(Cf::kMessages, mkey, message_.SerializeAsString());
  }
}

}  // namespace outpost::queue
