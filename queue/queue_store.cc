#include "queue/queue_store.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <tuple>

#include "common/logging.h"
#include "queue/message_edit.h"
#include "queue/record_filter.h"
#include "storage/keys.h"

namespace outpost::queue {

using storage::Cf;

namespace {

std::string Bounded(std::string_view s, size_t max) {
  return std::string(s.substr(0, std::min(s.size(), max)));
}

std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  std::string d(at == std::string_view::npos ? std::string_view() : address.substr(at + 1));
  for (char& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return d;
}

Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (name.size() > kMaxNameBytes) return Status::InvalidArgument(std::string(what) + " too long");
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

Status ValidateMessage(const NewMessage& m) {
  if (m.recipients.empty()) return Status::InvalidArgument("message has no recipients");
  if (m.recipients.size() > kMaxRecipients) {
    return Status::InvalidArgument("message has more than " + std::to_string(kMaxRecipients) +
                                   " recipients");
  }
  if (m.return_path.size() > kMaxAddressBytes)
    return Status::InvalidArgument("return path too long");
  if (m.env_id.size() > kMaxAddressBytes) return Status::InvalidArgument("ENVID too long");
  for (const auto& r : m.recipients) {
    if (r.address.empty() || r.address.size() > kMaxAddressBytes) {
      return Status::InvalidArgument("recipient address empty or too long");
    }
    if (r.orcpt.size() > kMaxAddressBytes) return Status::InvalidArgument("ORCPT too long");
    OUTPOST_RETURN_IF_ERROR(ValidateName("virtual queue", r.virtual_queue));
    if (r.schedule.size() > kMaxNameBytes) return Status::InvalidArgument("schedule too long");
  }
  return Status::Ok();
}

void RecordAttempt(const AttemptInfo& a, proto::RecipientRecord* r) {
  if (!a.in_history) {
    proto::SmtpReply* reply = r->mutable_last_reply();
    reply->set_code(a.reply_code);
    reply->set_enhanced(Bounded(a.reply_enhanced, 32));
    reply->set_text(Bounded(a.reply_text, kMaxReplyTextBytes));
    reply->set_host(Bounded(a.host, kMaxNameBytes));
    r->set_last_error(Bounded(a.error_class, kMaxNameBytes));
    r->set_last_route(Bounded(a.route, kMaxNameBytes));
    return;
  }
  proto::AttemptRecord* rec = r->add_attempts();
  rec->set_at_unix_ms(a.at_unix_ms);
  rec->set_route(Bounded(a.route, kMaxNameBytes));
  rec->set_host(Bounded(a.host, kMaxNameBytes));
  rec->set_ip(Bounded(a.ip, kMaxNameBytes));
  rec->mutable_reply()->set_code(a.reply_code);
  rec->mutable_reply()->set_enhanced(Bounded(a.reply_enhanced, 32));
  rec->mutable_reply()->set_text(Bounded(a.reply_text, kMaxReplyTextBytes));
  rec->mutable_reply()->set_host(Bounded(a.host, kMaxNameBytes));
  rec->set_duration_ms(a.duration_ms);
  rec->set_error(Bounded(a.error_class, kMaxNameBytes));
  switch (a.kind) {
    case OutcomeKind::kDelivered:
      rec->set_outcome(proto::OUTCOME_DELIVERED);
      break;
    case OutcomeKind::kTemporary:
      rec->set_outcome(proto::OUTCOME_TEMPORARY);
      break;
    case OutcomeKind::kPermanent:
      rec->set_outcome(proto::OUTCOME_PERMANENT);
      break;
  }
  *r->mutable_last_reply() = rec->reply();
  r->set_last_error(rec->error());
  r->set_last_route(rec->route());
  auto* h = r->mutable_attempts();
  if (h->size() > static_cast<int>(kAttemptHistory)) {
    h->DeleteSubrange(0, h->size() - static_cast<int>(kAttemptHistory));
  }
}

RecipientState StateOf(const proto::RecipientRecord& r) {
  return RecipientStateFromProto(r.state()).value_or(RecipientState::kScheduled);
}

void SetState(proto::RecipientRecord* r, RecipientState s) {
  r->set_state(static_cast<proto::RecipientState>(static_cast<int>(s)));
}

// Puts a pending recipient on hold, remembering where to return on release.
void MarkHeld(proto::RecipientRecord* r, RecipientState from, int64_t now, bool pause_expiry) {
  r->set_held_from(static_cast<proto::RecipientState>(static_cast<int>(from)));
  r->set_held_at_unix_ms(now);
  r->set_expiry_paused(pause_expiry);
  SetState(r, RecipientState::kHeld);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

QueueStore::QueueStore(std::unique_ptr<storage::Store> store, Dispatcher& dispatcher, uint64_t seed,
                       size_t snapshot_write_window)
    : store_(std::move(store)),
      dispatcher_(dispatcher),
      ids_(std::make_unique<MessageIdGenerator>(dispatcher.clock(), seed)),
      recent_writes_(snapshot_write_window) {}

QueueStore::~QueueStore() {
  *alive_ = false;
  due_cursors_.clear();  // they pin a view of the store
  rcpt_cursor_.cursor.reset();
  store_.reset();  // finishes queued writes; their completions see alive_ == false
}

namespace {
StatusOr<uint64_t> HighestIssuedId(const storage::Store& store) {
  uint64_t seed = 0;
  OUTPOST_ASSIGN_OR_RETURN(auto last, store.LastKey(Cf::kMessages));
  if (last) seed = storage::ParseMessageKey(*last).value_or(0);
  OUTPOST_ASSIGN_OR_RETURN(auto hwm, store.Get(Cf::kMeta, storage::kMetaIdHighWaterKey));
  if (hwm && hwm->size() == 8) seed = std::max(seed, storage::GetBigEndian64(*hwm));
  return seed;
}
}  // namespace

StatusOr<std::unique_ptr<QueueStore>> QueueStore::Open(const QueueStoreOptions& options,
                                                       Dispatcher& dispatcher) {
  OUTPOST_ASSIGN_OR_RETURN(auto store, storage::Store::Open(options.store));
  OUTPOST_ASSIGN_OR_RETURN(uint64_t seed, HighestIssuedId(*store));
  return std::unique_ptr<QueueStore>(
      new QueueStore(std::move(store), dispatcher, seed, options.snapshot_write_window));
}

StatusOr<std::unique_ptr<QueueStore>> QueueStore::OpenReadOnly(const std::string& path,
                                                               Dispatcher& dispatcher) {
  OUTPOST_ASSIGN_OR_RETURN(auto store, storage::Store::OpenReadOnly(path));
  OUTPOST_ASSIGN_OR_RETURN(uint64_t seed, HighestIssuedId(*store));
  return std::unique_ptr<QueueStore>(new QueueStore(std::move(store), dispatcher, seed,
                                                    QueueStoreOptions{}.snapshot_write_window));
}

std::optional<uint64_t> QueueStore::SnapshotEpoch(uint64_t msg_id) const {
  if (busy_.count(msg_id) != 0) return std::nullopt;
  return recent_writes_.last();
}

void QueueStore::Commit(std::optional<uint64_t> msg_id, storage::WriteBatch batch,
                        std::function<void(Status)> done) {
  ++pending_ops_;
  if (msg_id) {
    recent_writes_.Note(*msg_id);
  } else {
    recent_writes_.NoteAll();
  }
  std::weak_ptr<bool> alive = alive_;
  uint64_t due_token = due_floor_.BeginWrite(batch);
  store_->Commit(std::move(batch), &dispatcher_,
                 [this, alive, due_token, done = std::move(done)](Status s) {
    auto a = alive.lock();
    if (!a || !*a) return;
    --pending_ops_;
    due_floor_.EndWrite(due_token);
    done(std::move(s));
  });
}

void QueueStore::Exclusive(uint64_t msg_id, std::function<void(std::function<void()>)> op) {
  auto run = [this, msg_id, op = std::move(op)]() {
    op([this, msg_id]() {
      auto it = busy_.find(msg_id);
      if (it == busy_.end()) return;
      if (it->second.empty()) {
        busy_.erase(it);
        return;
      }
      auto next = std::move(it->second.front());
      it->second.pop_front();
      std::weak_ptr<bool> alive = alive_;
      dispatcher_.Post([alive, next = std::move(next)]() {
        auto a = alive.lock();
        if (a && *a) next();
      });
    });
  };
  auto [it, inserted] = busy_.try_emplace(msg_id);
  if (inserted) {
    run();
  } else {
    it->second.push_back(std::move(run));
  }
}

void QueueStore::Quarantine(Cf cf, std::string_view key, std::string_view value,
                            std::string_view error) {
  if (store_->read_only()) return;
  std::string marker = storage::QuarantineKey(cf, key);
  if (!quarantining_.insert(marker).second) return;  // already on its way
  proto::QuarantineRecord q;
  q.set_column_family(std::string(storage::CfName(cf)));
  q.set_key(std::string(key));
  q.set_value(std::string(value));
  q.set_error(std::string(error));
  q.set_at_unix_ms(dispatcher_.clock().NowUnixMs());
  storage::WriteBatch b;
  b.Put(Cf::kQuarantine, storage::QuarantineKey(cf, key), q.SerializeAsString());
  b.Delete(cf, key);
  b.AddCounter(storage::CounterKey("misc", "quarantined"), 1);
  ++quarantined_;
  OUTPOST_LOG_ERROR("record_quarantined", {"cf", storage::CfName(cf)}, {"error", error},
                    {"key_bytes", static_cast<int64_t>(key.size())});
  // Any record of any message may be the one moved: every snapshot is stale.
  Commit(std::nullopt, std::move(b), [this, marker](Status s) {
    quarantining_.erase(marker);
    if (!s.ok()) OUTPOST_LOG_ERROR("quarantine_write_failed", {"error", s.ToString()});
  });
}

StatusOr<std::optional<QueuedMessage>> QueueStore::Load(uint64_t msg_id) {
  const std::string mkey = storage::MessageKey(msg_id);
  OUTPOST_ASSIGN_OR_RETURN(auto raw, store_->Get(Cf::kMessages, mkey));
  if (!raw) return std::optional<QueuedMessage>();
  QueuedMessage qm;
  if (!qm.message.ParseFromString(*raw) || qm.message.id() != msg_id) {
    Quarantine(Cf::kMessages, mkey, *raw, "undecodable message record");
    return Status::Corruption("message " + storage::FormatMessageId(msg_id) +
                              " is corrupt (quarantined)");
  }
  OUTPOST_ASSIGN_OR_RETURN(storage::Cursor * cur, RecipientCursor());
  cur->Seek(mkey);
  for (; cur->Valid() && cur->key().starts_with(mkey); cur->Next()) {
    proto::RecipientRecord r;
    auto rk = storage::ParseRecipientKey(cur->key());
    const std::string_view raw_rcpt = cur->value();
    if (!rk || !r.ParseFromArray(raw_rcpt.data(), static_cast<int>(raw_rcpt.size())) ||
        r.msg_id() != msg_id ||
        r.idx() != rk->idx || !RecipientStateFromProto(r.state())) {
      Quarantine(Cf::kRecipients, cur->key(), cur->value(), "undecodable recipient record");
      continue;
    }
    qm.recipients.push_back(std::move(r));
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  return std::optional<QueuedMessage>(std::move(qm));
}

// ---- ingest ----------------------------------------------------------------------------------

StatusOr<uint64_t> QueueStore::BuildEnqueue(const NewMessage& m, storage::WriteBatch* batch) {
  OUTPOST_RETURN_IF_ERROR(ValidateMessage(m));
  const uint64_t id = ids_->Next();
  proto::MessageRecord rec;
  rec.set_id(id);
  rec.set_return_path(m.return_path);
  rec.set_size_bytes(m.body.size());
  rec.set_received_unix_ms(m.received_unix_ms);
  rec.set_source(m.source);
  rec.set_env_id(m.env_id);
  rec.set_ret(m.ret);
  rec.set_smtputf8(m.smtputf8);
  rec.set_eight_bit_mime(m.eight_bit_mime);
  rec.set_priority(m.priority);
  rec.set_client_ip(Bounded(m.client_ip, kMaxNameBytes));
  rec.set_client_port(m.client_port);
  std::vector<proto::RecipientRecord> rcpts;
  for (size_t i = 0; i < m.recipients.size(); ++i) {
    const NewRecipient& n = m.recipients[i];
    rec.add_recipients(n.address);
    proto::RecipientRecord r;
    r.set_msg_id(id);
    r.set_idx(static_cast<uint32_t>(i));
    r.set_address(n.address);
    r.set_orcpt(n.orcpt);
    r.set_notify_flags(n.notify_flags);
    SetState(&r, RecipientState::kScheduled);
    r.set_last_error("none");
    r.set_next_attempt_unix_ms(n.next_attempt_unix_ms);
    r.set_next_notify_unix_ms(n.next_notify_unix_ms);
    r.set_expiry_unix_ms(n.expiry_unix_ms);
    r.set_max_attempts(n.max_attempts);
    r.set_virtual_queue(n.virtual_queue);
    r.set_schedule(n.schedule);
    r.set_domain(DomainOf(n.address));
    r.set_notify_base_unix_ms(m.received_unix_ms);
    rcpts.push_back(std::move(r));
  }
  MessageEdit edit = MessageEdit::ForNew(std::move(rec), m.body, std::move(rcpts));
  edit.Build(dispatcher_.clock().NowUnixMs(), batch);
  std::string hwm;
  storage::PutBigEndian64(&hwm, id);
  batch->Put(Cf::kMeta, storage::kMetaIdHighWaterKey, hwm);
  return id;
}

void QueueStore::Enqueue(NewMessage message, Callback<StatusOr<uint64_t>> done) {
  storage::WriteBatch batch;
  StatusOr<uint64_t> id = BuildEnqueue(message, &batch);
  if (!id.ok()) {
    dispatcher_.Post([done = std::move(done), s = id.status()]() { done(s); });
    return;
  }
  Commit(*id, std::move(batch), [done = std::move(done), id = *id](Status s) {
    if (s.ok()) {
      done(id);
    } else {
      done(s.Annotate("enqueue"));
    }
  });
}

// ---- scheduler -------------------------------------------------------------------------------

StatusOr<std::vector<DueItem>> QueueStore::DueScan(std::string_view queue, Lane lane,
                                                   int64_t now_unix_ms, size_t limit) {
  return WalkDue(queue, lane, storage::DueUpperBound(queue, lane, now_unix_ms), now_unix_ms + 1,
                 limit, /*lease=*/false);
}

StatusOr<std::vector<DueItem>> QueueStore::DueScan(std::string_view queue, int64_t now_unix_ms,
                                                   size_t limit) {
  std::vector<DueItem> out;
  for (Lane lane : storage::kDueLanes) {
    OUTPOST_ASSIGN_OR_RETURN(auto part, DueScan(queue, lane, now_unix_ms, limit));
    out.insert(out.end(), part.begin(), part.end());
  }
  std::stable_sort(out.begin(), out.end(), [](const DueItem& a, const DueItem& b) {
    return std::tie(a.due_unix_ms, a.rcpt) < std::tie(b.due_unix_ms, b.rcpt);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

StatusOr<std::vector<DueItem>> QueueStore::LeaseDue(std::string_view queue, Lane lane,
                                                    int64_t now_unix_ms, size_t limit) {
  return WalkDue(queue, lane, storage::DueUpperBound(queue, lane, now_unix_ms), now_unix_ms + 1,
                 limit, /*lease=*/true);
}

StatusOr<std::vector<DueItem>> QueueStore::LeaseDue(std::string_view queue, int64_t now_unix_ms,
                                                    size_t limit) {
  OUTPOST_ASSIGN_OR_RETURN(auto out, LeaseDue(queue, Lane::kFirst, now_unix_ms, limit));
  if (out.size() < limit) {
    OUTPOST_ASSIGN_OR_RETURN(auto retries,
                             LeaseDue(queue, Lane::kRetry, now_unix_ms, limit - out.size()));
    out.insert(out.end(), retries.begin(), retries.end());
  }
  return out;
}

StatusOr<std::optional<int64_t>> QueueStore::NextDueMs(std::string_view queue, Lane lane) {
  OUTPOST_ASSIGN_OR_RETURN(auto first, WalkDue(queue, lane, storage::DueLanePrefixEnd(queue, lane),
                                               INT64_MAX, 1, /*lease=*/false));
  if (first.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(first[0].due_unix_ms);
}

StatusOr<std::optional<int64_t>> QueueStore::NextDueMs(std::string_view queue) {
  std::optional<int64_t> out;
  for (Lane lane : storage::kDueLanes) {
    OUTPOST_ASSIGN_OR_RETURN(auto next, NextDueMs(queue, lane));
    if (next && (!out || *next < *out)) out = next;
  }
  return out;
}

StatusOr<std::vector<DueItem>> QueueStore::WalkDue(std::string_view queue, Lane lane,
                                                   std::string_view end, int64_t end_due_ms,
                                                   size_t limit, bool lease) {
  std::vector<DueItem> out;
  if (limit == 0) return out;
  // A read-only view follows another process's writes (CatchUp), which DueFloor never sees.
  const bool read_only = store_->read_only();
  const bool at_floor = !read_only && due_floor_.StartsAtFloor(queue, lane);
  OUTPOST_ASSIGN_OR_RETURN(storage::Cursor * cur, DueCursor(queue, lane));
  cur->Seek(read_only ? storage::DueLanePrefix(queue, lane) : due_floor_.ScanStart(queue, lane));
  std::optional<int64_t> first;
  bool leased_run = !read_only;  // every key visited so far is leased
  std::string leased_through;    // the last key of that run
  for (; cur->Valid() && cur->key() < end; cur->Next()) {
    const std::string_view key = cur->key();
    auto e = storage::ParseDueKey(key);
    // Leasing finishes the message it is in (its due recipients are adjacent when they share
    // a due time): a 100-recipient message leased 25 at a time was loaded, decided and written
    // four times.
    if (out.size() >= limit &&
        !(lease && e && e->queue == queue && e->rcpt.msg_id == out.back().rcpt.msg_id)) {
      break;
    }
    ++due_keys_visited_;
    if (!e || e->queue != queue || e->lane != lane) {
      Quarantine(Cf::kDue, key, cur->value(), "undecodable due key");
      leased_run = false;
      continue;
    }
    if (!first) first = e->due_unix_ms;
    auto held = leases_.find(e->rcpt);
    if (held == leases_.end()) {
      out.push_back(DueItem{e->rcpt, e->due_unix_ms, lane});
      if (!lease) {
        leased_run = false;
        continue;
      }
      held = leases_.try_emplace(e->rcpt).first;
    }
    if (!leased_run) continue;
    // Remembered so that the end of this lease can move the resume key back (EndLease).
    held->second.due_key.assign(key);
    leased_through.assign(key);
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  if (at_floor) ObserveDueScan(queue, lane, first.value_or(end_due_ms));
  if (!leased_through.empty()) due_floor_.LeasedThrough(queue, lane, leased_through);
  return out;
}

// Creating a RocksDB iterator costs far more than a short scan (~14 % of the scheduler's CPU
// when made per due scan, 7 % when made per message load); refreshing a kept one is cheap. A
// kept cursor pins the memtables and files of its view, so cursors not used for a while are
// dropped.
constexpr int64_t kIdleCursorMs = 2000;

StatusOr<storage::Cursor*> QueueStore::Refreshed(KeptCursor& kept, storage::Cf cf,
                                                 std::string lower, std::string upper) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  if (kept.cursor && !store_->read_only() && kept.cursor->Refresh().ok()) {
    kept.last_used_ms = now;
    return kept.cursor.get();
  }
  // New, or a read-only view (whose CatchUp a refresh may not follow), or refresh failed.
  kept.cursor = store_->NewCursor(cf, std::move(lower), std::move(upper));
  kept.last_used_ms = now;
  OUTPOST_RETURN_IF_ERROR(kept.cursor->status());
  return kept.cursor.get();
}

void QueueStore::DropIdleCursors(std::string_view in_use_prefix) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  for (auto it = due_cursors_.begin(); it != due_cursors_.end();) {
    if (it->first != in_use_prefix && now - it->second.last_used_ms > kIdleCursorMs) {
      it = due_cursors_.erase(it);
    } else {
      ++it;
    }
  }
  if (rcpt_cursor_.cursor && now - rcpt_cursor_.last_used_ms > kIdleCursorMs) {
    rcpt_cursor_.cursor.reset();
  }
}

StatusOr<storage::Cursor*> QueueStore::DueCursor(std::string_view queue, Lane lane) {
  std::string prefix = storage::DueLanePrefix(queue, lane);
  DropIdleCursors(prefix);
  auto it = due_cursors_.find(prefix);
  if (it == due_cursors_.end()) it = due_cursors_.emplace(prefix, KeptCursor{}).first;
  return Refreshed(it->second, Cf::kDue, std::move(prefix),
                   storage::DueLanePrefixEnd(queue, lane));
}

StatusOr<storage::Cursor*> QueueStore::RecipientCursor() {
  // Unbounded: Load stops at the end of the message's prefix. Dropped when idle like the due
  // cursors (DueCursor runs on every wake-up; a store without scans keeps at most this one).
  return Refreshed(rcpt_cursor_, Cf::kRecipients, "", "");
}

void QueueStore::EndLease(RecipientKey rcpt, bool due_key_deleted) {
  auto it = leases_.find(rcpt);
  if (it == leases_.end()) return;
  if (!due_key_deleted && !it->second.due_key.empty()) due_floor_.Unleased(it->second.due_key);
  leases_.erase(it);
}

void QueueStore::DropStaleDueEntry(std::string_view queue, const DueItem& item) {
  EndLease(item.rcpt, /*due_key_deleted=*/false);
  auto rec = store_->Get(Cf::kRecipients, storage::RecipientKeyBytes(item.rcpt));
  if (!rec.ok() || rec->has_value() || store_->read_only()) return;
  storage::WriteBatch b;
  b.Delete(Cf::kDue, storage::DueKey(queue, item.lane, item.due_unix_ms, item.rcpt));
  OUTPOST_LOG_WARN("stale_due_entry_dropped", {"msg", storage::FormatMessageId(item.rcpt.msg_id)},
                   {"rcpt", item.rcpt.idx});
  Commit(item.rcpt.msg_id, std::move(b), [](Status s) {
    if (!s.ok()) OUTPOST_LOG_ERROR("stale_due_entry_drop_failed", {"error", s.ToString()});
  });
}

void QueueStore::ObserveDueScan(std::string_view queue, Lane lane, int64_t seen_due_ms) {
  if (!store_->read_only()) due_floor_.Observed(queue, lane, seen_due_ms);
}

bool QueueStore::TryLease(RecipientKey rcpt) { return leases_.try_emplace(rcpt).second; }

void QueueStore::ReleaseLease(RecipientKey rcpt) { EndLease(rcpt, /*due_key_deleted=*/false); }

void QueueStore::ApplyOutcome(OutcomeBatch in, Callback<StatusOr<OutcomeResult>> done) {
  // A snapshot is current when no write touching this message was issued since it was read
  // and none was in flight then (SnapshotEpoch) or is now (the operation would wait for it).
  if (!in.snapshot || !in.snapshot_epoch ||
      !recent_writes_.UnchangedSince(in.msg_id, *in.snapshot_epoch) ||
      busy_.count(in.msg_id) != 0 || in.snapshot->message.id() != in.msg_id) {
    in.snapshot.reset();
  }
  auto batch_in = std::make_shared<OutcomeBatch>(std::move(in));
  Exclusive(batch_in->msg_id, [this, batch_in,
                               done = std::move(done)](std::function<void()> release) {
    const uint64_t id = batch_in->msg_id;
    // Due keys the committed batch deleted: their leases end without moving the resume key.
    auto deleted_due = std::make_shared<std::set<std::string, std::less<>>>();
    auto finish = [this, batch_in, release, done, deleted_due](StatusOr<OutcomeResult> r) {
      for (const auto& c : batch_in->changes) {
        RecipientKey k{batch_in->msg_id, c.idx};
        auto lease = leases_.find(k);
        const bool deleted = r.ok() && lease != leases_.end() &&
                             deleted_due->count(lease->second.due_key) != 0;
        EndLease(k, deleted);
      }
      release();
      done(std::move(r));
    };
    StatusOr<std::optional<QueuedMessage>> loaded = std::optional<QueuedMessage>();
    const QueuedMessage* current = nullptr;
    if (batch_in->snapshot) {
      // Still current: this runs synchronously from ApplyOutcome (the message was not busy).
      current = batch_in->snapshot.get();
      ++snapshots_used_;
    } else {
      loaded = Load(id);
      if (!loaded.ok()) return finish(loaded.status());
      if (!*loaded) return finish(Status::NotFound("message " + storage::FormatMessageId(id)));
      current = &**loaded;
    }
    MessageEdit edit(*current);
    OutcomeResult result;
    for (const RecipientChange& c : batch_in->changes) {
      proto::RecipientRecord* r = edit.Mutable(c.idx);
      if (!r) {
        return finish(Status::NotFound("recipient " + std::to_string(c.idx) + " of message " +
                                       storage::FormatMessageId(id)));
      }
      RecipientState from = StateOf(*r);
      if (!IsLegalTransition(from, c.new_state)) {
        return finish(Status::FailedPrecondition(
            "illegal transition " + std::string(RecipientStateName(from)) + " -> " +
            std::string(RecipientStateName(c.new_state)) + " for recipient " +
            std::to_string(c.idx) + " of " + storage::FormatMessageId(id)));
      }
      if (c.virtual_queue) {
        Status vs = ValidateName("virtual queue", *c.virtual_queue);
        if (!vs.ok()) return finish(vs);
        r->set_virtual_queue(*c.virtual_queue);
      }
      if (c.schedule) r->set_schedule(Bounded(*c.schedule, kMaxNameBytes));
      if (c.attempt) RecordAttempt(*c.attempt, r);
      r->set_retry_num(r->retry_num() + c.retry_increment);
      r->set_notify_num(r->notify_num() + c.notify_increment);
      r->set_dsn_sent_flags(r->dsn_sent_flags() | c.dsn_sent_flags);
      if (c.next_attempt_unix_ms) r->set_next_attempt_unix_ms(*c.next_attempt_unix_ms);
      if (c.next_notify_unix_ms) r->set_next_notify_unix_ms(*c.next_notify_unix_ms);
      if (c.expiry_unix_ms) r->set_expiry_unix_ms(*c.expiry_unix_ms);
      SetState(r, c.new_state);
      // Operator actions that waited for this attempt.
      auto lease = leases_.find(RecipientKey{id, c.idx});
      if (lease != leases_.end() && lease->second.pending != LeaseInfo::Pending::kNone) {
        const int64_t now = dispatcher_.clock().NowUnixMs();
        if (lease->second.pending == LeaseInfo::Pending::kCancel && IsActive(c.new_state)) {
          SetState(r, RecipientState::kCancelled);
          ++result.deferred_ops_applied;
        } else if (lease->second.pending != LeaseInfo::Pending::kCancel && IsPending(c.new_state)) {
          MarkHeld(r, c.new_state, now,
                   lease->second.pending == LeaseInfo::Pending::kHoldPauseExpiry);
          ++result.deferred_ops_applied;
        }
      }
    }
    storage::WriteBatch wb;
    edit.Build(dispatcher_.clock().NowUnixMs(), &wb);
    if (batch_in->also_enqueue) {
      auto dsn_id = BuildEnqueue(*batch_in->also_enqueue, &wb);
      if (!dsn_id.ok()) return finish(dsn_id.status().Annotate("message to enqueue with outcome"));
      result.enqueued_id = *dsn_id;
    }
    for (const auto& op : wb.ops()) {
      if (op.cf == Cf::kDue && op.kind == storage::WriteBatch::Op::Kind::kDelete) {
        deleted_due->insert(op.key);
      }
    }
    Commit(id, std::move(wb), [finish, result](Status s) {
      if (!s.ok()) return finish(s.Annotate("apply outcome"));
      finish(result);
    });
  });
}

// ---- operators -------------------------------------------------------------------------------

void QueueStore::Hold(Selection sel, bool pause_expiry, Callback<StatusOr<OpCounts>> done) {
  AdminArgs args;
  args.kind = AdminKind::kHold;
  args.pause_expiry = pause_expiry;
  RunAdmin(std::move(sel), std::move(args), std::move(done));
}
void QueueStore::Release(Selection sel, Callback<StatusOr<OpCounts>> done) {
  AdminArgs args;
  args.kind = AdminKind::kRelease;
  RunAdmin(std::move(sel), std::move(args), std::move(done));
}
void QueueStore::RetryNow(Selection sel, Callback<StatusOr<OpCounts>> done) {
  AdminArgs args;
  args.kind = AdminKind::kRetryNow;
  RunAdmin(std::move(sel), std::move(args), std::move(done));
}
void QueueStore::Cancel(Selection sel, CancelDsnComposer compose_dsn,
                        Callback<StatusOr<OpCounts>> done) {
  AdminArgs args;
  args.kind = AdminKind::kCancel;
  args.compose_dsn = std::move(compose_dsn);
  RunAdmin(std::move(sel), std::move(args), std::move(done));
}
void QueueStore::Replay(Selection sel, ReplayPlanner plan, Callback<StatusOr<OpCounts>> done) {
  AdminArgs args;
  args.kind = AdminKind::kReplay;
  args.plan = std::move(plan);
  RunAdmin(std::move(sel), std::move(args), std::move(done));
}

void QueueStore::RunAdmin(Selection sel, AdminArgs args, Callback<StatusOr<OpCounts>> done) {
  struct Shared {
    OpCounts counts;
    Status first_error;
    size_t remaining = 0;
    Callback<StatusOr<OpCounts>> done;
    AdminArgs args;
  };
  auto sh = std::make_shared<Shared>();
  sh->done = std::move(done);
  sh->args = std::move(args);
  sh->args.filter = sel.filter;
  std::vector<uint64_t> ids = sel.ids;
  if (ids.empty() && sel.filter) {
    ListOptions lo;
    lo.filter = *sel.filter;
    lo.limit = sel.max_messages;
    lo.cursor = sel.cursor;
    lo.max_scan = std::max<size_t>(sel.max_messages * 10, 1000);
    auto page = List(lo);
    if (!page.ok()) {
      dispatcher_.Post([sh, s = page.status()]() { sh->done(s); });
      return;
    }
    for (const auto& m : page->items) ids.push_back(m.message.id());
    sh->counts.cursor = page->cursor;
  } else if (ids.size() > sel.max_messages) {
    ids.resize(sel.max_messages);
  }
  if (ids.empty()) {
    dispatcher_.Post([sh]() { sh->done(sh->counts); });
    return;
  }
  sh->remaining = ids.size();
  for (uint64_t id : ids) {
    AdminOneMessage(id, sh->args, &sh->counts, [sh](Status s) {
      if (!s.ok() && sh->first_error.ok()) sh->first_error = s;
      if (--sh->remaining > 0) return;
      if (!sh->first_error.ok()) {
        sh->done(sh->first_error);
      } else {
        sh->done(sh->counts);
      }
    });
  }
}

void QueueStore::AdminOneMessage(uint64_t msg_id, const AdminArgs& args, OpCounts* counts,
                                 std::function<void(Status)> done) {
  Exclusive(msg_id, [this, msg_id, args, counts,
                     done = std::move(done)](std::function<void()> release) {
    auto finish = [release, done](Status s) {
      release();
      done(std::move(s));
    };
    auto loaded = Load(msg_id);
    if (!loaded.ok()) return finish(loaded.status());
    if (!*loaded) {
      ++counts->not_found;
      return finish(Status::Ok());
    }
    ++counts->messages;
    MessageEdit edit(**loaded);
    const int64_t now = dispatcher_.clock().NowUnixMs();
    std::vector<uint32_t> cancelled;
    for (const auto& before : (*loaded)->recipients) {
      if (args.filter && !RecipientMatches(*args.filter, before)) continue;
      proto::RecipientRecord* r = edit.Mutable(before.idx());
      const RecipientKey key{msg_id, before.idx()};
      auto lease = leases_.find(key);
      const bool leased = lease != leases_.end();
      const RecipientState s = StateOf(*r);
      switch (args.kind) {
        case AdminKind::kHold:
          if (!IsPending(s)) {
            ++counts->skipped;
          } else if (leased) {
            lease->second.pending = args.pause_expiry ? LeaseInfo::Pending::kHoldPauseExpiry
                                                      : LeaseInfo::Pending::kHold;
            ++counts->in_flight;
          } else {
            MarkHeld(r, s, now, args.pause_expiry);
            ++counts->changed;
          }
          break;
        case AdminKind::kRelease: {
          if (s != RecipientState::kHeld) {
            ++counts->skipped;
            break;
          }
          auto back = RecipientStateFromProto(r->held_from()).value_or(RecipientState::kScheduled);
          if (!IsPending(back)) back = RecipientState::kScheduled;
          if (r->expiry_paused() && r->expiry_unix_ms() > 0) {
            r->set_expiry_unix_ms(r->expiry_unix_ms() +
                                  std::max<int64_t>(0, now - r->held_at_unix_ms()));
          }
          r->set_expiry_paused(false);
          r->set_held_at_unix_ms(0);
          r->set_held_from(proto::STATE_UNSPECIFIED);
          r->set_next_attempt_unix_ms(now);
          SetState(r, back);
          ++counts->changed;
          break;
        }
        case AdminKind::kRetryNow:
          if (!IsPending(s) || leased) {
            ++counts->skipped;
          } else {
            r->set_next_attempt_unix_ms(now);
            SetState(r, RecipientState::kScheduled);
            ++counts->changed;
          }
          break;
        case AdminKind::kCancel:
          if (!IsActive(s)) {
            ++counts->skipped;
          } else if (leased) {
            lease->second.pending = LeaseInfo::Pending::kCancel;
            ++counts->in_flight;
          } else {
            SetState(r, RecipientState::kCancelled);
            cancelled.push_back(r->idx());
            ++counts->changed;
          }
          break;
        case AdminKind::kReplay: {
          if (s != RecipientState::kFailed) {
            ++counts->skipped;
            break;
          }
          const int64_t shift = now - r->notify_base_unix_ms();
          r->set_retry_num(0);
          r->set_notify_num(0);
          r->set_dsn_sent_flags(0);
          r->set_notify_base_unix_ms(now);
          if (r->expiry_unix_ms() > 0) r->set_expiry_unix_ms(r->expiry_unix_ms() + shift);
          r->set_next_notify_unix_ms(0);
          r->set_next_attempt_unix_ms(now);
          r->set_failed_unix_ms(0);
          SetState(r, RecipientState::kScheduled);
          if (args.plan) args.plan(edit.message(), *r);
          Status vs = ValidateName("virtual queue", r->virtual_queue());
          if (!vs.ok()) return finish(vs);
          ++counts->changed;
          break;
        }
      }
    }
    if (!edit.changed()) return finish(Status::Ok());
    storage::WriteBatch wb;
    edit.Build(now, &wb);
    if (args.kind == AdminKind::kCancel && args.compose_dsn && !cancelled.empty()) {
      if (auto dsn = args.compose_dsn(**loaded, cancelled)) {
        auto id = BuildEnqueue(*dsn, &wb);
        if (!id.ok()) return finish(id.status().Annotate("cancel DSN"));
      }
    }
    Commit(msg_id, std::move(wb), [finish](Status s) { finish(s); });
  });
}

// ---- reads -----------------------------------------------------------------------------------

StatusOr<QueuedMessage> QueueStore::Get(uint64_t msg_id) {
  OUTPOST_ASSIGN_OR_RETURN(auto m, Load(msg_id));
  if (!m) return Status::NotFound("message " + storage::FormatMessageId(msg_id));
  return std::move(*m);
}

StatusOr<proto::RecipientRecord> QueueStore::GetRecipient(RecipientKey rcpt) {
  const std::string key = storage::RecipientKeyBytes(rcpt);
  OUTPOST_ASSIGN_OR_RETURN(auto raw, store_->Get(Cf::kRecipients, key));
  if (!raw)
    return Status::NotFound("recipient " + std::to_string(rcpt.idx) + " of message " +
                            storage::FormatMessageId(rcpt.msg_id));
  proto::RecipientRecord r;
  if (!r.ParseFromString(*raw) || r.msg_id() != rcpt.msg_id || r.idx() != rcpt.idx ||
      !RecipientStateFromProto(r.state())) {
    Quarantine(Cf::kRecipients, key, *raw, "undecodable recipient record");
    return Status::Corruption("recipient record is corrupt (quarantined)");
  }
  return r;
}

StatusOr<std::string> QueueStore::GetBody(uint64_t msg_id) {
  OUTPOST_ASSIGN_OR_RETURN(auto raw, store_->Get(Cf::kBodies, storage::MessageKey(msg_id)));
  if (!raw) return Status::NotFound("body of " + storage::FormatMessageId(msg_id));
  return std::move(*raw);
}

StatusOr<ListPage> QueueStore::List(const ListOptions& options) {
  if (options.filter.state == RecipientState::kFailed) return ListFailed(options);
  ListPage page;
  std::string lower;
  if (!options.cursor.empty()) {
    auto after = storage::ParseMessageId(options.cursor);
    if (!after) return Status::InvalidArgument("bad cursor '" + options.cursor + "'");
    lower = storage::MessageKey(*after + 1);
  }
  auto cur = store_->NewCursor(Cf::kMessages, lower, "");
  size_t scanned = 0;
  uint64_t last = 0;
  for (; cur->Valid(); cur->Next()) {
    if (page.items.size() >= options.limit || scanned >= options.max_scan) {
      page.cursor = storage::FormatMessageId(last);
      return page;
    }
    ++scanned;
    auto id = storage::ParseMessageKey(cur->key());
    if (!id) {
      Quarantine(Cf::kMessages, cur->key(), cur->value(), "bad message key");
      continue;
    }
    last = *id;
    proto::MessageRecord head;
    if (!head.ParseFromArray(cur->value().data(), static_cast<int>(cur->value().size()))) {
      Quarantine(Cf::kMessages, cur->key(), cur->value(), "undecodable message record");
      continue;
    }
    if (!MessageMatches(options.filter, head)) continue;
    auto m = Load(*id);
    if (!m.ok() || !*m) continue;
    bool any = false;
    for (const auto& r : (*m)->recipients) any |= RecipientMatches(options.filter, r);
    if (any) page.items.push_back(std::move(**m));
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  return page;
}

StatusOr<QueueStats> QueueStore::Stats(size_t top_destinations) {
  QueueStats st;
  auto read_prefix = [&](std::string_view kind, auto&& sink) -> Status {
    const std::string prefix = storage::CounterPrefix(kind);
    std::string end = prefix;
    end.back() = static_cast<char>(end.back() + 1);
    auto cur = store_->NewCursor(Cf::kMeta, prefix, end);
    for (; cur->Valid(); cur->Next()) {
      auto v = storage::DecodeCounter(cur->value());
      if (!v || *v == 0) continue;
      sink(std::string(cur->key().substr(prefix.size())), *v);
    }
    return cur->status();
  };
  OUTPOST_RETURN_IF_ERROR(
      read_prefix("state", [&](std::string k, int64_t v) { st.by_state[k] = v; }));
  OUTPOST_RETURN_IF_ERROR(
      read_prefix("queue", [&](std::string k, int64_t v) { st.by_queue[k] = v; }));
  OUTPOST_RETURN_IF_ERROR(read_prefix("domain", [&](std::string k, int64_t v) {
    st.top_destinations.emplace_back(std::move(k), v);
  }));
  OUTPOST_RETURN_IF_ERROR(read_prefix("misc", [&](std::string k, int64_t v) {
    if (k == "messages") st.messages = v;
    if (k == "quarantined") st.quarantined = v;
  }));
  auto by_count = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  size_t n = std::min(top_destinations, st.top_destinations.size());
  std::partial_sort(st.top_destinations.begin(), st.top_destinations.begin() + n,
                    st.top_destinations.end(), by_count);
  st.top_destinations.resize(n);
  std::string active_end(storage::kMetaActivePrefix);
  active_end.back() = static_cast<char>(active_end.back() + 1);
  auto cur = store_->NewCursor(Cf::kMeta, std::string(storage::kMetaActivePrefix), active_end);
  if (cur->Valid() && cur->key().size() == 10) {
    uint64_t id = storage::GetBigEndian64(cur->key().substr(2));
    OUTPOST_ASSIGN_OR_RETURN(auto raw, store_->Get(Cf::kMessages, storage::MessageKey(id)));
    proto::MessageRecord m;
    if (raw && m.ParseFromString(*raw)) {
      st.active_messages_oldest_received_unix_ms = m.received_unix_ms();
    }
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  return st;
}

// ---- retention -------------------------------------------------------------------------------

void QueueStore::Purge(int64_t now_unix_ms, Millis failed_retention, Millis completed_retention,
                       size_t limit, Callback<StatusOr<PurgeCounts>> done) {
  struct Shared {
    PurgeCounts counts;
    Status first_error;
    size_t remaining = 0;
    Callback<StatusOr<PurgeCounts>> done;
  };
  auto sh = std::make_shared<Shared>();
  sh->done = std::move(done);
  const int64_t failed_cutoff = now_unix_ms - failed_retention.count();
  const int64_t done_cutoff = now_unix_ms - completed_retention.count();
  std::map<uint64_t, std::vector<uint32_t>> victims;
  size_t found = 0;
  auto collect = [&](Cf cf, int64_t cutoff) -> Status {
    if (cutoff < 0) return Status::Ok();
    auto cur = store_->NewCursor(cf, "", storage::TimeIndexUpperBound(cutoff));
    for (; cur->Valid(); cur->Next()) {
      if (found >= limit) {
        sh->counts.more = true;
        break;
      }
      auto e = storage::ParseTimeIndexKey(cur->key());
      if (!e) {
        Quarantine(cf, cur->key(), cur->value(), "undecodable index key");
        continue;
      }
      victims[e->rcpt.msg_id].push_back(e->rcpt.idx);
      ++found;
    }
    return cur->status();
  };
  Status s = collect(Cf::kFailed, failed_cutoff);
  if (s.ok()) s = collect(Cf::kDone, done_cutoff);
  if (!s.ok() || victims.empty()) {
    dispatcher_.Post([sh, s]() {
      if (s.ok()) {
        sh->done(sh->counts);
      } else {
        sh->done(s);
      }
    });
    return;
  }
  sh->remaining = victims.size();
  for (auto& victim : victims) {
    // Named copies: clang 14 cannot capture structured bindings.
    const uint64_t msg_id = victim.first;
    std::vector<uint32_t> idxs = std::move(victim.second);
    Exclusive(msg_id, [this, sh, msg_id, idxs, failed_cutoff,
                       done_cutoff](std::function<void()> release) {
      auto finish = [sh, release](Status st) {
        release();
        if (!st.ok() && sh->first_error.ok()) sh->first_error = st;
        if (--sh->remaining > 0) return;
        if (sh->first_error.ok()) {
          sh->done(sh->counts);
        } else {
          sh->done(sh->first_error);
        }
      };
      auto loaded = Load(msg_id);
      if (!loaded.ok()) return finish(loaded.status());
      if (!*loaded) return finish(Status::Ok());
      MessageEdit edit(**loaded);
      uint32_t removed = 0;
      for (uint32_t idx : idxs) {
        const proto::RecipientRecord* r = edit.Mutable(idx);
        if (!r) continue;
        RecipientState s = StateOf(*r);
        bool expired_failed = s == RecipientState::kFailed && r->failed_unix_ms() <= failed_cutoff;
        bool expired_done = (s == RecipientState::kDelivered || s == RecipientState::kCancelled) &&
                            r->completed_unix_ms() <= done_cutoff;
        if (!expired_failed && !expired_done) continue;
        edit.Remove(idx);
        ++removed;
      }
      if (removed == 0) return finish(Status::Ok());
      storage::WriteBatch wb;
      edit.Build(dispatcher_.clock().NowUnixMs(), &wb);
      const bool body_gone = !(*loaded)->message.body_deleted() && edit.message().body_deleted();
      const bool msg_gone = edit.message().stored_recipients() == 0;
      Commit(msg_id, std::move(wb), [sh, finish, removed, body_gone, msg_gone](Status st) {
        if (st.ok()) {
          sh->counts.recipients_removed += removed;
          sh->counts.bodies_removed += body_gone ? 1 : 0;
          sh->counts.messages_removed += msg_gone ? 1 : 0;
        }
        finish(st);
      });
    });
  }
}

}  // namespace outpost::queue
