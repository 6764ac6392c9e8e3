#include "queue/consistency.h"

#include <map>
#include <unordered_set>

#include "outpost_queue.pb.h"
#include "queue/message_edit.h"
#include "queue/recipient_state.h"
#include "storage/keys.h"

namespace outpost::queue {

using storage::Cf;

namespace {

class Checker {
 public:
  explicit Checker(const storage::Store& store) : store_(store) {}

  StatusOr<ConsistencyReport> Run() {
    OUTPOST_RETURN_IF_ERROR(CheckMessages());
    OUTPOST_RETURN_IF_ERROR(CheckOrphanRecipients());
    OUTPOST_RETURN_IF_ERROR(CheckIndex(Cf::kDue, due_, &report_.due_keys));
    OUTPOST_RETURN_IF_ERROR(CheckIndex(Cf::kFailed, failed_, &report_.failed_keys));
    OUTPOST_RETURN_IF_ERROR(CheckIndex(Cf::kDone, done_, &report_.done_keys));
    OUTPOST_RETURN_IF_ERROR(CheckBodies());
    OUTPOST_RETURN_IF_ERROR(CheckMeta());
    return report_;
  }

 private:
  void Problem(std::string p) {
    ++report_.problem_count;
    if (report_.problems.size() < 100) report_.problems.push_back(std::move(p));
  }

  Status CheckMessages() {
    auto cur = store_.NewCursor(Cf::kMessages, "", "");
    for (; cur->Valid(); cur->Next()) {
      ++report_.messages;
      auto id = storage::ParseMessageKey(cur->key());
      proto::MessageRecord m;
      if (!id || !m.ParseFromString(std::string(cur->value())) || m.id() != *id) {
        Problem("undecodable message record");
        continue;
      }
      message_ids_.insert(*id);
      OUTPOST_RETURN_IF_ERROR(CheckOneMessage(m));
    }
    return cur->status();
  }

  Status CheckOneMessage(const proto::MessageRecord& m) {
    const std::string hex = storage::FormatMessageId(m.id());
    uint32_t active = 0, body_users = 0, stored = 0;
    auto cur = store_.NewCursor(Cf::kRecipients, storage::MessageKey(m.id()),
                                storage::RecipientPrefixEnd(m.id()));
    for (; cur->Valid(); cur->Next()) {
      ++report_.recipients;
      ++stored;
      proto::RecipientRecord r;
      auto rk = storage::ParseRecipientKey(cur->key());
      auto state = RecipientStateFromProto(0);
      if (!rk || !r.ParseFromString(std::string(cur->value())) || r.msg_id() != m.id() ||
          r.idx() != rk->idx || !(state = RecipientStateFromProto(r.state()))) {
        Problem("undecodable recipient record of " + hex);
        continue;
      }
      if (r.idx() >= static_cast<uint32_t>(m.recipients_size())) {
        Problem("recipient index out of range in " + hex);
      }
      active += IsActive(*state) ? 1 : 0;
      body_users += NeedsBody(*state) ? 1 : 0;
      const RecipientKey k{m.id(), r.idx()};
      if (IsPending(*state)) {
        if (r.due_unix_ms() != MessageEdit::DueTime(r)) {
          Problem("due time of " + hex + "/" + std::to_string(r.idx()) + " is stale");
        }
        due_.insert(storage::DueKey(r.virtual_queue(), storage::DueLaneFor(r.retry_num()),
                                    r.due_unix_ms(), k));
      }
      if (*state == RecipientState::kFailed) {
        failed_.insert(storage::TimeIndexKey(r.failed_unix_ms(), k));
      }
      if (*state == RecipientState::kDelivered || *state == RecipientState::kCancelled) {
        done_.insert(storage::TimeIndexKey(r.completed_unix_ms(), k));
      }
      counted_["state/" + std::string(RecipientStateName(*state))]++;
      if (IsActive(*state)) {
        counted_["queue/" + r.virtual_queue()]++;
        counted_["domain/" + r.domain()]++;
      }
    }
    OUTPOST_RETURN_IF_ERROR(cur->status());
    counted_["misc/messages"]++;
    if (active != m.active_recipients()) Problem("active count of " + hex + " is wrong");
    if (body_users != m.body_users()) Problem("body users of " + hex + " is wrong");
    if (stored != m.stored_recipients()) Problem("stored recipients of " + hex + " is wrong");
    if (stored == 0) Problem("message " + hex + " has no recipient left but is still stored");
    if ((body_users == 0) != m.body_deleted()) Problem("body flag of " + hex + " is wrong");
    if (!m.body_deleted()) bodies_expected_.insert(m.id());
    if (active > 0) active_expected_.insert(m.id());
    return Status::Ok();
  }

  Status CheckOrphanRecipients() {
    auto cur = store_.NewCursor(Cf::kRecipients, "", "");
    for (; cur->Valid(); cur->Next()) {
      auto rk = storage::ParseRecipientKey(cur->key());
      if (!rk || !message_ids_.count(rk->msg_id)) Problem("recipient record without message");
    }
    return cur->status();
  }

  Status CheckIndex(Cf cf, std::unordered_set<std::string>& expected, uint64_t* count) {
    auto cur = store_.NewCursor(cf, "", "");
    for (; cur->Valid(); cur->Next()) {
      ++*count;
      if (expected.erase(std::string(cur->key())) == 0) {
        Problem(std::string(storage::CfName(cf)) + " index key without matching record");
      }
    }
    OUTPOST_RETURN_IF_ERROR(cur->status());
    for (size_t i = 0; i < expected.size(); ++i) {
      Problem(std::string(storage::CfName(cf)) + " index key missing for a record");
    }
    return Status::Ok();
  }

  Status CheckBodies() {
    auto cur = store_.NewCursor(Cf::kBodies, "", "");
    for (; cur->Valid(); cur->Next()) {
      ++report_.bodies;
      auto id = storage::ParseMessageKey(cur->key());
      if (!id || bodies_expected_.erase(*id) == 0) Problem("body without a message needing it");
    }
    OUTPOST_RETURN_IF_ERROR(cur->status());
    for (uint64_t id : bodies_expected_) {
      Problem("message body of " + storage::FormatMessageId(id) + " missing");
    }
    return Status::Ok();
  }

  Status CheckMeta() {
    auto qc = store_.NewCursor(Cf::kQuarantine, "", "");
    for (; qc->Valid(); qc->Next()) ++report_.quarantined;
    OUTPOST_RETURN_IF_ERROR(qc->status());
    std::map<std::string, int64_t> stored_counters;
    auto cur = store_.NewCursor(Cf::kMeta, "", "");
    for (; cur->Valid(); cur->Next()) {
      std::string_view key = cur->key();
      if (key.starts_with(storage::kMetaCounterPrefix)) {
        auto v = storage::DecodeCounter(cur->value());
        std::string name(key.substr(storage::kMetaCounterPrefix.size()));
        if (!v) {
          Problem("undecodable counter " + name);
        } else if (name != "misc/quarantined" && *v != 0) {
          stored_counters[name] = *v;
        }
      } else if (key.starts_with(storage::kMetaActivePrefix)) {
        if (key.size() != 10 ||
            active_expected_.erase(storage::GetBigEndian64(key.substr(2))) == 0) {
          Problem("active marker for a message with no active recipient");
        }
      }
    }
    OUTPOST_RETURN_IF_ERROR(cur->status());
    for (size_t i = 0; i < active_expected_.size(); ++i) Problem("active marker missing");
    for (const auto& [name, n] : counted_) {
      auto it = stored_counters.find(name);
      int64_t have = it == stored_counters.end() ? 0 : it->second;
      if (have != n) {
        Problem("counter " + name + " is " + std::to_string(have) + ", recount " +
                std::to_string(n));
      }
      if (it != stored_counters.end()) stored_counters.erase(it);
    }
    for (const auto& [name, n] : stored_counters) {
      Problem("counter " + name + " is " + std::to_string(n) + ", recount 0");
    }
    return Status::Ok();
  }

  const storage::Store& store_;
  ConsistencyReport report_;
  std::unordered_set<uint64_t> message_ids_, bodies_expected_, active_expected_;
  std::unordered_set<std::string> due_, failed_, done_;
  std::map<std::string, int64_t> counted_;
};

}  // namespace

StatusOr<ConsistencyReport> CheckConsistency(const storage::Store& store) {
  return Checker(store).Run();
}

}  // namespace outpost::queue
