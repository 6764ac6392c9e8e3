#pragma once
// The delivery engine (DESIGN.md §2, §4): finds due recipients, decides routes, groups them
// into transactions, hands those to the delivery agents, and records outcomes durably (with
// the DSN they cause in the same batch). It never touches a socket and never blocks its loop
// on storage writes: store completions and agent results come back as posted callbacks.
//
// Threading: every method is called on the Dispatcher's loop thread, and every callback runs
// there. The Scheduler must be destroyed before the QueueStore and the agents; callbacks of
// agents or of the store arriving after its destruction are ignored.
//
// How work is found: one timer, armed at the earliest due time over the lanes of the virtual
// queues that have a free slot (QueueStore::NextDueMs), plus wake-ups on Submit, on outcomes
// and on operator actions. A wake-up scans the due index in bounded batches (never more
// recipients than the queue has free transaction slots) and leases what it takes; nothing
// waiting (deferred, held) is ever visited. Each queue's index has two lanes, first attempts
// and retries (storage::DueLane); the wake-up picks the next batch's lane by LaneShare, which
// shares the loop's time between lanes, so a retry wave cannot starve new mail nor new mail
// the retries.
#include <array>
#include <climits>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dispatcher.h"
#include "common/status.h"
#include "queue/dsn/dsn_composer.h"
#include "queue/queue_store.h"
#include "router/router.h"
#include "scheduler/destination_health.h"
#include "scheduler/dsn_writer.h"
#include "scheduler/lane_share.h"
#include "scheduler/metrics.h"
#include "scheduler/outcome_planner.h"
#include "scheduler/router_host_policy.h"
#include "scheduler/schedule_plan.h"
#include "transport/api/delivery.h"

namespace outpost::scheduler {

// The delivery agent per route kind (not owned; must outlive the Scheduler). A kind without
// an agent makes its recipients fail temporarily with last_error 'config'.
using AgentMap = std::map<router::Route::Kind, transport::DeliveryAgent*>;

struct SchedulerOptions {
  size_t scan_batch = 256;                // recipients leased per due-index scan
  // Then the loop yields (polls I/O) before the next pump: bounds how long ingest waits.
  size_t max_recipients_per_pump = 1024;
  // ... or once a pump has worked this long (monotonic clock): one pass over 100-recipient
  // messages can take far longer than its recipient budget suggests. 0 = no time bound.
  Millis max_pump_time{5};
  // Recipients held in memory per virtual queue while their destination is at its
  // concurrency limit or suspended. Beyond it they are postponed in the store by
  // `overflow_retry` (no attempt counted) so memory stays bounded.
  size_t max_parked_per_queue = 20000;
  Millis overflow_retry{std::chrono::minutes(1)};
  Millis config_retry{std::chrono::minutes(5)};  // DESIGN.md §4 'config' failures
  Millis store_error_backoff{std::chrono::seconds(5)};
  // A destination whose transaction failed to connect for every recipient is down for this
  // long (doubling per failed probe); its due recipients are deferred without a transaction
  // until then (DestinationHealth).
  DestinationHealth::Options destination_down;
  // Shares of loop time between first attempts and retries while both have work.
  LaneShare::Options lane_share;
  RandomSource random;           // retry jitter; default: seeded from std::random_device
  dsn::RandomBits dsn_random;    // MIME boundaries; default: seeded from std::random_device
  std::string fallback_hostname = "localhost";  // when server.hostname is empty
};

// A destination an operator can suspend: a recipient domain or a route name.
struct Destination {
  enum class Kind { kDomain, kRoute };
  Kind kind = Kind::kDomain;
  std::string name;
  friend auto operator<=>(const Destination&, const Destination&) = default;
};

class Scheduler {
 public:
  using OpDone = std::function<void(StatusOr<queue::OpCounts>)>;

  Scheduler(Dispatcher& dispatcher, queue::QueueStore& store,
            std::shared_ptr<const router::Router> router, AgentMap agents,
            SchedulerOptions options = {});
  // Releases every lease it holds (in-flight results arriving later are dropped: those
  // recipients are simply due again, as after a crash).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Learns the virtual queues present in the store and starts picking work.
  void Start();

  // The ingest entry point (SMTP listener, admin API inject, DSNs). `message` carries no
  // policy fields: the schedule expression is evaluated per recipient here. `done` gets the
  // message id once the message is durable (or the store's error), on the loop thread.
  void Submit(queue::NewMessage message, std::function<void(StatusOr<uint64_t>)> done);

  // SIGHUP: new decisions use `router`; transactions in flight keep the one they started with.
  void SetRouter(std::shared_ptr<const router::Router> router);
  const std::shared_ptr<const router::Router>& router() const { return router_; }

  // Operator actions (admin API). They wake the loop when done. An action on a recipient in
  // flight takes effect when its attempt ends (the store records it); recipients merely
  // waiting in memory for a destination slot are let go first so the action applies now.
  void Hold(queue::Selection sel, bool pause_expiry, OpDone done);
  void Release(queue::Selection sel, OpDone done);
  // Also forgets which destinations are marked down (DestinationHealth), so the retried
  // recipients get a real attempt.
  void RetryNow(queue::Selection sel, OpDone done);
  // With `bounce`, a failure DSN covers the cancelled recipients (NOTIFY permitting).
  void Cancel(queue::Selection sel, bool bounce, OpDone done);
  // Failed -> scheduled, with the schedule expression re-run on the current config.
  void Replay(queue::Selection sel, OpDone done);

  // Recipients bound for a suspended destination wait (no attempt, no retry_num change)
  // until Resume. Not persisted: a restart resumes everything.
  void Suspend(Destination d);
  void Resume(const Destination& d);
  std::vector<Destination> suspended() const;

  // Stops picking, lets transactions in flight finish and their outcomes be written, then
  // calls `done(true)`; `done(false)` if `deadline` passed first (the unfinished leases are
  // simply due again after a restart). Picking stays stopped afterwards.
  void Drain(Millis deadline, std::function<void(bool clean)> done);

  SchedulerMetrics metrics() const;
  size_t in_flight_transactions() const { return txns_.size(); }
  size_t pending_writes() const { return pending_writes_; }
  size_t parked_recipients() const;

 private:
  static constexpr int64_t kDueUnknown = INT64_MIN;  // ask the store (NextDueMs)
  static constexpr int64_t kNothingDue = INT64_MAX;
  using Lane = storage::DueLane;
  struct QueueState {
    uint32_t in_flight = 0;  // transactions
    size_t parked = 0;       // recipients leased and waiting in memory
    // Per lane, a lower bound of the earliest unleased due time, so idle wake-ups and
    // outcomes do not rescan the due index: lowered by every event that makes something due,
    // reset to unknown when a scan drained what was due.
    std::array<int64_t, storage::kDueLaneCount> next_due_hint{kDueUnknown, kDueUnknown};
  };
  // Leased recipients of one message waiting in memory (destination full or suspended).
  struct ParkedGroup {
    uint64_t msg_id = 0;
    std::string queue;
    std::vector<uint32_t> idxs;
  };
  // Due recipients of one message sharing a route (and, for Mx, a domain).
  struct Group {
    const router::Route* route = nullptr;
    std::string domain;
    std::string dest_key;  // "" = no per-destination limit (Local)
    uint32_t dest_limit = 0;
    std::vector<const proto::RecipientRecord*> rcpts;
  };
  struct Txn;
  // A planned change plus what its log line needs.
  struct Item {
    PlannedChange plan;
    std::string address;
    uint32_t retry_num_after = 0;
    std::string queue;         // the virtual queue it was leased from
    int64_t due_unix_ms = 0;   // its due-index time after the change, if still pending
    Lane lane = Lane::kFirst;       // its due-index lane after the change
    Lane from_lane = Lane::kFirst;  // the lane the work came from (LaneShare's account)
  };
  static Item MakeItem(PlannedChange plan, const proto::RecipientRecord& rec);
  class BodyCache;

  void Wake();
  void Pump();
  // Leases up to `budget` due recipients of `queue`'s `lane` (`*taken` of them); false when
  // the store failed.
  bool ScanQueue(const std::string& queue, Lane lane, int64_t now, size_t* budget, bool* more,
                 size_t* taken);
  // Arms the one timer at the earliest due time (held-back retries: not before
  // `retries_resume`).
  void RearmTimer(int64_t now, std::optional<MonotonicTime> retries_resume = std::nullopt);
  // Decides what happens to leased recipients `idxs` of one message.
  void Process(uint64_t msg_id, const std::string& queue, const std::vector<uint32_t>& idxs);
  // `snapshot`/`epoch`: the message as Process read it (kept by the transaction, whose
  // outcome is planned and, while no write touched the message since, applied from it).
  void DispatchOrPark(const std::shared_ptr<const queue::QueuedMessage>& snapshot,
                      std::optional<uint64_t> epoch, BodyCache& body, const std::string& queue,
                      Group& group, std::vector<Item>* immediate);
  void Dispatch(const std::shared_ptr<const queue::QueuedMessage>& snapshot,
                std::optional<uint64_t> epoch, BodyCache& body, const std::string& queue,
                Group& group);
  // Defers `group` (bound for a destination that is down) as one counted attempt that reached
  // no network, re-timed to the end of the down period (spread over one more period).
  void DeferDown(const proto::MessageRecord& message, const router::Router& router,
                 const std::shared_ptr<const std::vector<std::string>>& lower, const Group& group,
                 const DestinationHealth::Down& down, std::vector<Item>* immediate);
  // The destination key ("dest:mx:<domain>", "dest:relay:<route>", "" for Local) the route
  // decision gives `rec` once this failure is counted ("" when the decision fails).
  static std::string NextAttemptGoesTo(const proto::MessageRecord& message,
                                       const router::Router& router,
                                       const std::shared_ptr<const std::vector<std::string>>& lower,
                                       const proto::RecipientRecord& rec,
                                       transport::ErrorClass error, int64_t now);
  static std::string DestinationKey(const router::Route& route, const std::string& domain);
  void OnTransactionDone(uint64_t txn_id, transport::DeliveryResult result);
  // Writes planned changes of one message: one ApplyOutcome per DSN event (the DSN in the
  // same batch), changes without a DSN riding with the first.
  // `snapshot`/`epoch`: the message as just read (OutcomeBatch::snapshot), if any.
  void Write(const proto::MessageRecord& message, BodyCache& body, std::vector<Item> items,
             std::shared_ptr<const queue::QueuedMessage> snapshot = nullptr,
             std::optional<uint64_t> epoch = std::nullopt);
  void WriteBatch(const proto::MessageRecord& message, BodyCache& body, std::vector<Item> items,
                  std::optional<dsn::DsnEvent> event,
                  std::shared_ptr<const queue::QueuedMessage> snapshot,
                  std::optional<uint64_t> epoch);

  void Park(const std::string& key, ParkedGroup group);
  void ServeParked(const std::string& dest_key);
  void ReleaseParked(const std::string& key);
  void UnparkAll();
  bool QueueHasRoom(const std::string& queue) const;
  uint32_t QueueCap(const std::string& queue) const;
  bool DestinationHasRoom(const std::string& key, uint32_t limit) const;
  void NoteQueue(const std::string& queue) { queues_.try_emplace(queue); }
  void NoteDue(const std::string& queue, Lane lane, int64_t due_unix_ms);
  void NoteDueBothLanes(const std::string& queue, int64_t due_unix_ms);
  void ForgetDueHints();
  void NoteQueues(const queue::NewMessage& m);
  void CheckDrain();
  void FinishDrain(bool clean);
  std::string ReportingMta() const;
  std::optional<queue::NewMessage> CancelReport(const queue::QueuedMessage& qm,
                                                const std::vector<uint32_t>& cancelled);
  OpDone WakeAfter(OpDone done);
  const router::Schedule* ScheduleOf(const router::Router& r, const proto::RecipientRecord& rec);
  PlanContext ContextFor(const router::Schedule* schedule, int64_t now,
                         const RandomSource* random = nullptr) const;
  // One jitter draw for every recipient of a decision: the recipients of a message then share
  // their next due time, stay adjacent in the due index and are leased, loaded and written
  // together again (a draw per recipient scatters them, so a wave loads and writes the whole
  // message once per recipient).
  RandomSource OneDraw() const;

  Dispatcher& dispatcher_;
  queue::QueueStore& store_;
  std::shared_ptr<const router::Router> router_;
  AgentMap agents_;
  SchedulerOptions options_;
  DsnWriter dsn_writer_;
  std::unique_ptr<Timer> timer_;
  std::unique_ptr<Timer> drain_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  bool started_ = false;
  bool pump_posted_ = false;
  bool draining_ = false;
  std::function<void(bool)> drain_done_;
  int64_t backoff_until_ms_ = 0;

  std::map<std::string, QueueState> queues_;
  std::map<std::string, uint32_t> dest_in_flight_;
  std::map<std::string, std::deque<ParkedGroup>> parked_;  // "dest:..." or "suspend:..."
  std::set<std::string> suspended_domains_;
  std::set<std::string> suspended_routes_;
  std::unordered_map<uint64_t, std::unique_ptr<Txn>> txns_;
  uint64_t next_txn_id_ = 1;
  size_t pending_writes_ = 0;
  // Outcome writes of retry work in flight. Retries are leased only while few are: the store
  // commits in arrival order, so a long queue of a wave's writes delayed every new message's
  // synced write (and its 250) behind it.
  size_t retry_writes_pending_ = 0;
  SchedulerMetrics metrics_;
  DestinationHealth health_;
  LaneShare lane_share_;
};

}  // namespace outpost::scheduler
