#pragma once
// QueueStore: messages, recipients, their states and every index, on top of storage::Store.
//
// Threading: every method is called on the loop thread of the Dispatcher given at Open (reads
// are synchronous point lookups / short scans; writes go to the store's group-commit writer
// thread). Completions run on that same loop thread, exactly once, after the batch is durable
// (OK) or known not applied (error: nothing of the change is visible).
//
// Each state change of one message is ONE atomic WriteBatch: recipient records, message record,
// due / failed / done index keys, counters and, for ApplyOutcome, an optional DSN message.
// Changes to the same message are serialised in memory (a later operation reads what the
// earlier one wrote), so index keys can never diverge from records.
//
// Leases are memory only: after a crash or restart nothing is leased and every scheduled or
// deferred recipient is simply due again (at-least-once delivery).
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/dispatcher.h"
#include "common/status.h"
#include "queue/due_floor.h"
#include "queue/message_id.h"
#include "queue/recent_writes.h"
#include "queue/types.h"
#include "storage/store.h"

namespace outpost::queue {

struct QueueStoreOptions {
  storage::StoreOptions store;  // path, minFreeSpace, ...
  // Writes remembered per message for OutcomeBatch::snapshot (RecentWrites): a snapshot
  // older than this many writes is read again.
  size_t snapshot_write_window = 16384;
};

class QueueStore {
 public:
  template <typename T>
  using Callback = std::function<void(T)>;
  using Lane = storage::DueLane;

  // Opens the store read-write and recovers: seeds the id generator from the highest id ever
  // issued. O(1): nothing is scanned (the due index already is the work list).
  static StatusOr<std::unique_ptr<QueueStore>> Open(const QueueStoreOptions& options,
                                                    Dispatcher& dispatcher);
  // The offline CLI view (storage::Store::OpenReadOnly). Only reads work; writes fail with
  // kFailedPrecondition.
  static StatusOr<std::unique_ptr<QueueStore>> OpenReadOnly(const std::string& path,
                                                            Dispatcher& dispatcher);
  // Completions of writes still in flight are dropped silently (their data may or may not be
  // durable, as after a crash). Destroy on the loop thread.
  ~QueueStore();

  // ---- ingest ----
  // Stores message + body + recipients + due keys in one synced write; `done` gets the id
  // (16 hex digits via storage::FormatMessageId) only once durable. kNoSpace / kIoError /
  // kUnavailable mean "answer 451 4.3.0"; kInvalidArgument means the input was refused.
  void Enqueue(NewMessage message, Callback<StatusOr<uint64_t>> done);
  // True when ingest should answer 452 4.3.1 (free space below queue.minFreeSpace).
  bool BelowFreeSpaceWatermark() const { return store_->BelowFreeSpaceWatermark(); }
  // OK, or the store's write error until it has resumed itself.
  Status health() const { return store_->health(); }

  // ---- scheduler ----
  // The due index has two lanes per queue (storage::DueLane: first attempts, retries); the
  // scheduler scans each on its own and shares its time between them.
  // Up to `limit` unleased recipients of `queue`'s `lane` whose due time is <= now, earliest
  // first. Cost is proportional to the due (and leased) entries visited, not to the queue size.
  StatusOr<std::vector<DueItem>> DueScan(std::string_view queue, Lane lane, int64_t now_unix_ms,
                                         size_t limit);
  // Both lanes, earliest first (operators, tests).
  StatusOr<std::vector<DueItem>> DueScan(std::string_view queue, int64_t now_unix_ms, size_t limit);
  // DueScan + TryLease of every item returned; past `limit`, also the following due keys of
  // the last message taken (so a message is decided whole, not in slices of `limit`).
  StatusOr<std::vector<DueItem>> LeaseDue(std::string_view queue, Lane lane, int64_t now_unix_ms,
                                          size_t limit);
  // The first-attempt lane, then the retry lane with what is left of `limit` (tests, benches).
  StatusOr<std::vector<DueItem>> LeaseDue(std::string_view queue, int64_t now_unix_ms,
                                          size_t limit);
  // The earliest due time of an unleased recipient of `queue`'s `lane` (for the wake-up timer),
  // and of either lane.
  StatusOr<std::optional<int64_t>> NextDueMs(std::string_view queue, Lane lane);
  StatusOr<std::optional<int64_t>> NextDueMs(std::string_view queue);
  // For a due item whose recipient record is gone (GetRecipient says kNotFound, e.g. it was
  // quarantined): deletes the stale due key and releases the lease. No-op if the record exists.
  void DropStaleDueEntry(std::string_view queue, const DueItem& item);
  bool TryLease(RecipientKey rcpt);
  void ReleaseLease(RecipientKey rcpt);
  bool IsLeased(RecipientKey rcpt) const { return leases_.count(rcpt) != 0; }
  size_t lease_count() const { return leases_.size(); }

  // Records the end of attempts (or a notice/expiry decision) for recipients of one message,
  // plus an optional message to enqueue in the same batch. Every change must be a legal
  // transition from the recipient's current state, otherwise nothing is written
  // (kFailedPrecondition). Releases the leases of the changed recipients when done (also on
  // error). A hold/cancel requested while a recipient was leased is applied in this batch when
  // the new state still allows it (a delivery stays delivered).
  void ApplyOutcome(OutcomeBatch batch, Callback<StatusOr<OutcomeResult>> done);
  // For OutcomeBatch::snapshot: take it right before Get(msg_id). nullopt while a write of
  // that message is in flight (what Get returns may be outdated by it). The snapshot stays
  // usable until a write touching that message is issued (writes of other messages do not
  // matter; see RecentWrites).
  std::optional<uint64_t> SnapshotEpoch(uint64_t msg_id) const;

  // ---- operators (admin API / CLI) ----
  // Each visits at most selection.max_messages messages and reports counts; continue a filter
  // selection with counts.cursor. Leased recipients: hold/cancel are recorded and applied when
  // the attempt ends (counted in_flight); retry/replay/release skip them.
  void Hold(Selection sel, bool pause_expiry, Callback<StatusOr<OpCounts>> done);
  void Release(Selection sel, Callback<StatusOr<OpCounts>> done);
  // Scheduled/deferred -> scheduled, due now.
  void RetryNow(Selection sel, Callback<StatusOr<OpCounts>> done);
  // `compose_dsn` (may be empty) is called per message with the cancelled recipient indexes;
  // the message it returns is enqueued in the same batch (a failure DSN for --bounce).
  using CancelDsnComposer = std::function<std::optional<NewMessage>(
      const QueuedMessage&, const std::vector<uint32_t>& cancelled)>;
  void Cancel(Selection sel, CancelDsnComposer compose_dsn, Callback<StatusOr<OpCounts>> done);
  // Failed -> scheduled. retry_num, notify_num and DSN flags restart, the expiry and notify
  // base restart from now, history is kept. `plan` (may be empty) re-runs the router: it
  // receives the record (already reset) and may set queue, schedule, next_attempt, next_notify
  // and expiry. Without it: due now, same queue, TTL and notify offsets kept relative to now.
  using ReplayPlanner = std::function<void(const proto::MessageRecord&, proto::RecipientRecord&)>;
  void Replay(Selection sel, ReplayPlanner plan, Callback<StatusOr<OpCounts>> done);

  // ---- reads (admin API / CLI) ----
  StatusOr<QueuedMessage> Get(uint64_t msg_id);
  StatusOr<proto::RecipientRecord> GetRecipient(RecipientKey rcpt);
  StatusOr<std::string> GetBody(uint64_t msg_id);
  // Pages in message id order; every message is visited exactly once across pages. With
  // filter state=failed it walks the failed index instead (list_failed.cc): pages in failure
  // time order, cost bounded by the failed recipients in [failed_since, failed_until].
  StatusOr<ListPage> List(const ListOptions& options);
  // From counters kept in the meta CF by the same batches: O(#states + #queues + #domains).
  StatusOr<QueueStats> Stats(size_t top_destinations = 10);

  // ---- retention ----
  // Removes failed recipients failed before now - failed_retention and delivered/cancelled
  // ones completed before now - completed_retention (at most `limit` recipients); deletes
  // bodies no recipient needs and messages with no recipient left.
  void Purge(int64_t now_unix_ms, Millis failed_retention, Millis completed_retention, size_t limit,
             Callback<StatusOr<PurgeCounts>> done);

  // Test and metrics hooks.
  uint64_t due_keys_visited() const { return due_keys_visited_; }
  uint64_t snapshots_used() const { return snapshots_used_; }
  uint64_t quarantined_this_run() const { return quarantined_; }
  size_t pending_operations() const { return pending_ops_; }
  uint64_t last_issued_id() const { return ids_->last(); }
  storage::Store& store() { return *store_; }

 private:
  struct LeaseInfo {
    enum class Pending { kNone, kHold, kHoldPauseExpiry, kCancel } pending = Pending::kNone;
    // The recipient's due key once a scan stepped over it as part of a leased run (DueFloor's
    // resume key may lie past it); empty otherwise.
    std::string due_key;
  };
  struct KeptCursor {
    std::unique_ptr<storage::Cursor> cursor;
    int64_t last_used_ms = 0;
  };
  class MessageOp;  // one read-modify-write of one message (queue_store.cc)

  QueueStore(std::unique_ptr<storage::Store> store, Dispatcher& dispatcher, uint64_t seed,
             size_t snapshot_write_window);

  // Runs `op` when no other write of `msg_id` is in flight; `op` must call the given release
  // exactly once when its write completed.
  void Exclusive(uint64_t msg_id, std::function<void(std::function<void()>)> op);
  // Commits `batch`, then runs `done` on the loop if this store is still alive. `msg_id`: the
  // message whose records the batch changes (a new message's id for Enqueue); nullopt when
  // unknown, which makes every snapshot taken so far stale.
  void Commit(std::optional<uint64_t> msg_id, storage::WriteBatch batch,
              std::function<void(Status)> done);

  StatusOr<std::optional<QueuedMessage>> Load(uint64_t msg_id);
  StatusOr<ListPage> ListFailed(const ListOptions& options);
  // Moves an undecodable record to quarantine (fire and forget) and counts it.
  // The due keys of `queue` in [ScanStart, end) in order, skipping leased ones, until `limit`
  // unleased ones were found (leased on the way when `lease`). `end_due_ms` is the due time
  // `end` stands for (what the scan learned when it met no key; see DueFloor).
  StatusOr<std::vector<DueItem>> WalkDue(std::string_view queue, Lane lane, std::string_view end,
                                         int64_t end_due_ms, size_t limit, bool lease);
  // The kept, refreshed due-index cursor of `queue`'s `lane` (valid until the next call).
  StatusOr<storage::Cursor*> DueCursor(std::string_view queue, Lane lane);
  // The kept, refreshed cursor over all recipient records (Load; valid until the next call).
  StatusOr<storage::Cursor*> RecipientCursor();
  StatusOr<storage::Cursor*> Refreshed(KeptCursor& kept, storage::Cf cf, std::string lower,
                                       std::string upper);
  void DropIdleCursors(std::string_view in_use_prefix);
  // Ends the lease of `rcpt`. Unless its due key was deleted by a committed write, scans must
  // see that key again.
  void EndLease(RecipientKey rcpt, bool due_key_deleted);
  void ObserveDueScan(std::string_view queue, Lane lane, int64_t seen_due_ms);
  void Quarantine(storage::Cf cf, std::string_view key, std::string_view value,
                  std::string_view error);
  StatusOr<uint64_t> BuildEnqueue(const NewMessage& m, storage::WriteBatch* batch);

  enum class AdminKind { kHold, kRelease, kRetryNow, kCancel, kReplay };
  struct AdminArgs {
    AdminKind kind = AdminKind::kHold;
    bool pause_expiry = false;
    CancelDsnComposer compose_dsn;
    ReplayPlanner plan;
    std::optional<Filter> filter;  // re-applied per recipient
  };
  void RunAdmin(Selection sel, AdminArgs args, Callback<StatusOr<OpCounts>> done);
  void AdminOneMessage(uint64_t msg_id, const AdminArgs& args, OpCounts* counts,
                       std::function<void(Status)> done);

  std::unique_ptr<storage::Store> store_;
  Dispatcher& dispatcher_;
  std::unique_ptr<MessageIdGenerator> ids_;
  std::map<RecipientKey, LeaseInfo> leases_;
  // Where due scans start (skips the tombstones of delivered recipients and leased keys).
  DueFloor due_floor_;
  std::map<std::string, KeptCursor, std::less<>> due_cursors_;  // by DueLanePrefix
  KeptCursor rcpt_cursor_;
  std::unordered_map<uint64_t, std::deque<std::function<void()>>> busy_;
  std::set<std::string> quarantining_;  // quarantine writes in flight
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t due_keys_visited_ = 0;
  RecentWrites recent_writes_;  // every Commit(), by message: snapshot validity
  uint64_t snapshots_used_ = 0;
  uint64_t quarantined_ = 0;
  size_t pending_ops_ = 0;
};

}  // namespace outpost::queue
