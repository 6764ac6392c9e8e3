#include "scheduler/scheduler.h"

#include <algorithm>
#include <random>

#include "common/logging.h"
#include "queue/dsn/dsn_policy.h"
#include "scheduler/envelope_fields.h"
#include "scheduler/ingest_planner.h"
#include "storage/keys.h"

namespace outpost::scheduler {
namespace {

// Retry work leases no more while this many of its outcome writes are in flight (see
// retry_writes_pending_); group commit merges them, so the wave's rate hardly changes.
constexpr size_t kMaxRetryWritesPending = 8;
constexpr uint32_t kUnknownQueueThreads = 25;  // Stalwart's fallback for an unknown queue
// The longest the loop sleeps without re-reading the due index (one seek per queue).
constexpr Millis kMaxTimerSleep = std::chrono::minutes(1);

uint64_t RandomSeed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

const proto::RecipientRecord* FindRecipient(const queue::QueuedMessage& qm, uint32_t idx) {
  for (const auto& r : qm.recipients) {
    if (r.idx() == idx) return &r;
  }
  return nullptr;
}

std::string Hex(uint64_t id) { return storage::FormatMessageId(id); }

std::string ReplyText(int code, const std::string& enhanced, const std::string& text) {
  if (code == 0 && enhanced.empty()) return text;
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " " + text;
  return out;
}

const char* RouteKindLabel(router::Route::Kind k) {
  switch (k) {
    case router::Route::Kind::kLocal: return "local";
    case router::Route::Kind::kMx: return "mx";
    case router::Route::Kind::kRelay: break;
  }
  return "relay";
}

}  // namespace

// The transaction handed to an agent: what to release and record when it ends.
struct Scheduler::Txn {
  uint64_t msg_id = 0;
  std::string queue;
  std::string dest_key;
  std::string route_name;
  std::vector<uint32_t> idxs;
  // The message as read when the transaction was made. A leased recipient's record cannot
  // change until its outcome is written (operator actions on it wait in the lease), so the
  // outcome is planned from these records; the store applies it to this snapshot too unless
  // a write touching the message was issued since `epoch` (then it reads the message again).
  std::shared_ptr<const queue::QueuedMessage> snapshot;
  std::optional<uint64_t> epoch;
  std::vector<const proto::RecipientRecord*> rcpts;  // in `snapshot`, in `idxs` order
  std::unique_ptr<RouterHostPolicy> policy;  // the agent's HostPolicySource
  int64_t started_unix_ms = 0;
  bool probe = false;  // DestinationHealth::StartProbe
  MonotonicTime started;
};

// Reads a message body at most once per use, only when a DSN or a transaction needs it.
class Scheduler::BodyCache {
 public:
  BodyCache(queue::QueueStore& store, uint64_t msg_id) : store_(store), msg_id_(msg_id) {}
  // Null when the body cannot be read (logged; callers degrade).
  std::shared_ptr<const std::string> Get() {
    if (!loaded_) {
      loaded_ = true;
      auto body = store_.GetBody(msg_id_);
      if (body.ok()) {
        body_ = std::make_shared<const std::string>(std::move(*body));
      } else {
        OUTPOST_LOG_ERROR("body_read_failed", {"id", Hex(msg_id_)},
                          {"error", body.status().ToString()});
      }
    }
    return body_;
  }

 private:
  queue::QueueStore& store_;
  uint64_t msg_id_;
  bool loaded_ = false;
  std::shared_ptr<const std::string> body_;
};

Scheduler::Scheduler(Dispatcher& dispatcher, queue::QueueStore& store,
                     std::shared_ptr<const router::Router> router, AgentMap agents,
                     SchedulerOptions options)
    : dispatcher_(dispatcher),
      store_(store),
      router_(std::move(router)),
      agents_(std::move(agents)),
      options_(std::move(options)),
      dsn_writer_(options_.dsn_random ? options_.dsn_random : dsn::SeededRandomBits(RandomSeed())),
      health_(options_.destination_down),
      lane_share_(options_.lane_share) {
  if (!options_.random) options_.random = SeededRandom(RandomSeed());
  options_.scan_batch = std::max<size_t>(options_.scan_batch, 1);
  options_.max_recipients_per_pump = std::max<size_t>(options_.max_recipients_per_pump, 1);
  timer_ = dispatcher_.CreateTimer([this]() {
    // Hints are lower bounds kept up to date by our own events; the timer re-reads the store
    // so that a change made behind the scheduler's back is noticed within kMaxTimerSleep.
    ForgetDueHints();
    Pump();
  });
  for (const auto& q : router_->config().virtual_queues) NoteQueue(q.name);
}

Scheduler::~Scheduler() {
  *alive_ = false;
  for (auto& [key, groups] : parked_) {
    for (const auto& g : groups) {
      for (uint32_t idx : g.idxs) store_.ReleaseLease({g.msg_id, idx});
    }
  }
  for (auto& [id, txn] : txns_) {
    for (uint32_t idx : txn->idxs) store_.ReleaseLease({txn->msg_id, idx});
  }
}

void Scheduler::Start() {
  auto stats = store_.Stats(0);
  if (stats.ok()) {
    for (const auto& [q, n] : stats->by_queue) NoteQueue(q);
  } else {
    OUTPOST_LOG_ERROR("scheduler_start", {"error", stats.status().ToString()});
  }
  started_ = true;
  Wake();
}

// ---- ingest ------------------------------------------------------------------------------------

void Scheduler::Submit(queue::NewMessage message, std::function<void(StatusOr<uint64_t>)> done) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  if (message.received_unix_ms == 0) message.received_unix_ms = now;
  PlanNewMessage(*router_, &message, now, options_.config_retry);
  NoteQueues(message);
  std::map<std::string, int64_t> due;  // queue -> earliest due time of this message
  for (const auto& r : message.recipients) {
    int64_t d = r.next_attempt_unix_ms;
    if (r.next_notify_unix_ms > 0) d = std::min(d, r.next_notify_unix_ms);
    if (r.expiry_unix_ms > 0) d = std::min(d, r.expiry_unix_ms);
    auto [it, fresh] = due.try_emplace(r.virtual_queue, d);
    if (!fresh) it->second = std::min(it->second, d);
  }
  store_.Enqueue(std::move(message), [this, alive = std::weak_ptr<bool>(alive_),
                                      done = std::move(done),
                                      due = std::move(due)](StatusOr<uint64_t> id) {
    auto a = alive.lock();
    if (a && *a && id.ok()) {
      for (const auto& [q, d] : due) NoteDue(q, Lane::kFirst, d);
      Wake();
    }
    done(std::move(id));
  });
}

void Scheduler::NoteQueues(const queue::NewMessage& m) {
  for (const auto& r : m.recipients) NoteQueue(r.virtual_queue);
}

void Scheduler::SetRouter(std::shared_ptr<const router::Router> router) {
  router_ = std::move(router);
  for (const auto& q : router_->config().virtual_queues) NoteQueue(q.name);
  ForgetDueHints();  // capacities may have changed
  Wake();
}

// ---- the due loop ------------------------------------------------------------------------------

void Scheduler::Wake() {
  if (!started_ || draining_ || pump_posted_) return;
  pump_posted_ = true;
  dispatcher_.Post([this, alive = std::weak_ptr<bool>(alive_)]() {
    auto a = alive.lock();
    if (!a || !*a) return;
    pump_posted_ = false;
    Pump();
  });
}

void Scheduler::Pump() {
  if (!started_ || draining_) return;
  const int64_t now = dispatcher_.clock().NowUnixMs();
  if (now < backoff_until_ms_) {
    timer_->Enable(Millis(backoff_until_ms_ - now));
    return;
  }
  size_t budget = options_.max_recipients_per_pump;
  const MonotonicTime started = dispatcher_.clock().MonotonicNow();
  const auto out_of_time = [&] {
    return options_.max_pump_time.count() > 0 &&
           dispatcher_.clock().MonotonicNow() - started >= options_.max_pump_time;
  };
  bool yield = false;
  std::set<LaneShare::Flow> exhausted;
  // One batch at a time, of the lane LaneShare picks among those not found empty (or full)
  // in this wake-up: one busy queue or lane cannot starve the others within a wake-up, nor,
  // since each lane is charged the loop time it took, across wake-ups.
  // Retries held back (first attempts are flowing and the retries used their share of this
  // window): the timer brings them back when they may run again.
  std::optional<MonotonicTime> retries_resume;
  std::vector<LaneShare::Flow> ready;
  while (budget > 0 && !yield) {
    const MonotonicTime mono = dispatcher_.clock().MonotonicNow();
    const bool writes_full = retry_writes_pending_ >= kMaxRetryWritesPending;
    const bool retries_may_run = !writes_full && lane_share_.RetriesMayRun(mono);
    ready.clear();
    for (const auto& [name, st] : queues_) {
      for (Lane lane : storage::kDueLanes) {
        LaneShare::Flow f{name, lane};
        if (exhausted.count(f)) continue;
        if (lane == Lane::kRetry && !retries_may_run) {
          // Writes full: the next completion wakes the loop (no timer needed).
          retries_resume = writes_full ? mono + kMaxTimerSleep : lane_share_.RetriesResumeAt(mono);
          continue;
        }
        ready.push_back(std::move(f));
      }
    }
    if (ready.empty()) break;
    const LaneShare::Flow flow = ready[lane_share_.Pick(ready)];
    bool more = false;
    size_t taken = 0;
    if (!ScanQueue(flow.queue, flow.lane, now, &budget, &more, &taken)) {
      backoff_until_ms_ = now + options_.store_error_backoff.count();
      timer_->Enable(options_.store_error_backoff);
      return;
    }
    if (taken > 0) {
      const MonotonicTime done = dispatcher_.clock().MonotonicNow();
      lane_share_.Charge(flow, done - mono, taken, done);
    }
    if (more) {
      yield = out_of_time();
    } else {
      exhausted.insert(flow);
    }
  }
  if (budget == 0 || yield) Wake();  // yield to other events; continue on the next turn
  RearmTimer(now, retries_resume);
}

bool Scheduler::ScanQueue(const std::string& queue, Lane lane, int64_t now, size_t* budget,
                          bool* more, size_t* taken) {
  *more = false;
  *taken = 0;
  QueueState& st = queues_[queue];
  int64_t& hint = st.next_due_hint[static_cast<size_t>(lane)];
  if (hint != kDueUnknown && hint > now) return true;  // nothing due
  const uint32_t cap = QueueCap(queue);
  if (st.in_flight >= cap || st.parked >= options_.max_parked_per_queue) return true;
  // Refill in batches: while transactions are in flight (each will free a slot and wake the
  // loop), wait until a quarter of the batch size is free. Every scan walks the queue's
  // leased keys from the start, so one scan per freed slot would cost O(in flight) each.
  const size_t free_slots = cap - st.in_flight;
  const size_t min_free = std::max<size_t>(1, std::min<size_t>(cap, options_.scan_batch) / 4);
  if (st.in_flight > 0 && free_slots < min_free) return true;
  // A batch leases no more recipients than the queue has free transaction slots (each
  // recipient makes at most one transaction), plus the rest of its last message (LeaseDue):
  // a group that then finds no slot releases its leases (DispatchOrPark).
  const size_t limit = std::min({options_.scan_batch, *budget, free_slots});
  auto items = store_.LeaseDue(queue, lane, now, limit);
  if (!items.ok()) {
    ++metrics_.store_errors;
    OUTPOST_LOG_ERROR("due_scan_failed", {"queue", queue}, {"lane", storage::DueLaneName(lane)},
                      {"error", items.status().ToString()});
    return false;
  }
  *more = items->size() >= limit;
  // Fewer than asked: nothing else is due now; RearmTimer asks the store for the next time.
  hint = *more ? now : kDueUnknown;
  if (items->empty()) return true;
  *taken = items->size();
  *budget -= std::min(*budget, items->size());
  // Group per message, in due order of each message's first recipient.
  std::vector<std::pair<uint64_t, std::vector<uint32_t>>> by_msg;
  std::unordered_map<uint64_t, size_t> pos;
  for (const auto& item : *items) {
    auto [it, fresh] = pos.try_emplace(item.rcpt.msg_id, by_msg.size());
    if (fresh) by_msg.push_back({item.rcpt.msg_id, {}});
    by_msg[it->second].second.push_back(item.rcpt.idx);
  }
  for (const auto& [msg_id, idxs] : by_msg) Process(msg_id, queue, idxs);
  return true;
}

void Scheduler::RearmTimer(int64_t now, std::optional<MonotonicTime> retries_resume) {
  // Held-back retries are due again when they may run, not now (the loop would spin).
  int64_t retries_not_before = 0;
  if (retries_resume) {
    const auto wait = std::chrono::ceil<Millis>(*retries_resume - dispatcher_.clock().MonotonicNow());
    retries_not_before = now + std::max<int64_t>(wait.count(), 1);
  }
  std::optional<int64_t> earliest;
  for (auto& [name, st] : queues_) {
    if (st.in_flight >= QueueCap(name) || st.parked >= options_.max_parked_per_queue) continue;
    for (Lane lane : storage::kDueLanes) {
      int64_t& hint = st.next_due_hint[static_cast<size_t>(lane)];
      if (hint == kDueUnknown) {
        auto next = store_.NextDueMs(name, lane);
        if (!next.ok()) continue;  // retried on the next wake-up
        hint = next->value_or(kNothingDue);
      }
      if (hint == kNothingDue) continue;
      const int64_t at = lane == Lane::kRetry ? std::max(hint, retries_not_before) : hint;
      if (!earliest || at < *earliest) earliest = at;
    }
  }
  if (!earliest) {
    timer_->Enable(kMaxTimerSleep);
    return;
  }
  timer_->Enable(Millis(std::clamp<int64_t>(*earliest - now, 0, kMaxTimerSleep.count())));
}

void Scheduler::NoteDue(const std::string& queue, Lane lane, int64_t due_unix_ms) {
  int64_t& hint = queues_[queue].next_due_hint[static_cast<size_t>(lane)];
  if (hint != kDueUnknown) hint = std::min(hint, due_unix_ms);
}

void Scheduler::NoteDueBothLanes(const std::string& queue, int64_t due_unix_ms) {
  for (Lane lane : storage::kDueLanes) NoteDue(queue, lane, due_unix_ms);
}

void Scheduler::ForgetDueHints() {
  for (auto& [name, st] : queues_) st.next_due_hint.fill(kDueUnknown);
}

uint32_t Scheduler::QueueCap(const std::string& queue) const {
  const router::VirtualQueue* vq = router_->config().FindVirtualQueue(queue);
  return std::max<uint32_t>(vq ? vq->threads_per_node : kUnknownQueueThreads, 1);
}

bool Scheduler::QueueHasRoom(const std::string& queue) const {
  auto it = queues_.find(queue);
  return it == queues_.end() || it->second.in_flight < QueueCap(queue);
}

bool Scheduler::DestinationHasRoom(const std::string& key, uint32_t limit) const {
  if (key.empty() || limit == 0) return true;
  auto it = dest_in_flight_.find(key);
  return it == dest_in_flight_.end() || it->second < limit;
}

const router::Schedule* Scheduler::ScheduleOf(const router::Router& r,
                                              const proto::RecipientRecord& rec) {
  return r.config().FindSchedule(rec.schedule());
}

RandomSource Scheduler::OneDraw() const {
  return [draw = options_.random()]() { return draw; };
}

PlanContext Scheduler::ContextFor(const router::Schedule* schedule, int64_t now,
                                  const RandomSource* random) const {
  PlanContext ctx;
  ctx.now_unix_ms = now;
  ctx.schedule = schedule;
  ctx.random = random ? random : &options_.random;
  ctx.config_retry = options_.config_retry;
  return ctx;
}

Scheduler::Item Scheduler::MakeItem(PlannedChange plan, const proto::RecipientRecord& rec) {
  Item item;
  const queue::RecipientChange& c = plan.change;
  item.address = rec.address();
  item.retry_num_after = rec.retry_num() + c.retry_increment;
  item.lane = storage::DueLaneFor(item.retry_num_after);
  item.from_lane = storage::DueLaneFor(rec.retry_num());
  item.queue = c.virtual_queue.value_or(rec.virtual_queue());
  // The store's due key: the earliest of next attempt, next notice and expiry.
  int64_t due = c.next_attempt_unix_ms.value_or(rec.next_attempt_unix_ms());
  const int64_t notify = c.next_notify_unix_ms.value_or(rec.next_notify_unix_ms());
  const int64_t expiry = c.expiry_unix_ms.value_or(rec.expiry_unix_ms());
  if (notify > 0) due = std::min(due, notify);
  if (expiry > 0) due = std::min(due, expiry);
  item.due_unix_ms = due;
  item.plan = std::move(plan);
  return item;
}

// ---- decisions ---------------------------------------------------------------------------------

void Scheduler::Process(uint64_t msg_id, const std::string& queue,
                        const std::vector<uint32_t>& idxs) {
  const std::optional<uint64_t> epoch = store_.SnapshotEpoch(msg_id);
  auto qm = store_.Get(msg_id);
  if (!qm.ok()) {
    for (uint32_t idx : idxs) store_.ReleaseLease({msg_id, idx});
    NoteDueBothLanes(queue, 0);
    if (!qm.status().Is(Status::Code::kNotFound)) ++metrics_.store_errors;
    OUTPOST_LOG_ERROR("message_read_failed", {"id", Hex(msg_id)},
                      {"error", qm.status().ToString()});
    return;
  }
  // Shared with the transactions made of it (their outcomes are planned from it) and handed
  // to the store with the immediate changes (no second read when nothing was written since).
  auto snapshot = std::make_shared<const queue::QueuedMessage>(std::move(*qm));
  const proto::MessageRecord& message = snapshot->message;
  std::shared_ptr<const router::Router> router = router_;  // one config for this decision
  const int64_t now = dispatcher_.clock().NowUnixMs();
  std::shared_ptr<const std::vector<std::string>> lower;
  BodyCache body(store_, msg_id);
  std::vector<Item> immediate;
  std::vector<Group> groups;
  std::map<std::string, size_t> group_index;
  std::map<std::string, std::vector<uint32_t>> suspended;  // park key -> idxs

  for (uint32_t idx : idxs) {
    const proto::RecipientRecord* found = FindRecipient(*snapshot, idx);
    if (found == nullptr || !queue::IsPending(queue::RecipientStateFromProto(found->state())
                                                  .value_or(queue::RecipientState::kCancelled))) {
      store_.ReleaseLease({msg_id, idx});
      continue;
    }
    const proto::RecipientRecord& rec = *found;
    const PlanContext ctx = ContextFor(ScheduleOf(*router, rec), now);
    if (IsExpired(rec, now)) {
      immediate.push_back(MakeItem(PlanExpiry(message, rec, ctx), rec));
      continue;
    }
    if (rec.next_attempt_unix_ms() > now) {
      // Woken by a delay notice (or a stale due key): no attempt yet.
      immediate.push_back(MakeItem(IsNotifyDue(rec, now)
                                       ? PlanNotice(message, rec, ctx)
                                       : PlanPostpone(rec, rec.next_attempt_unix_ms()),
                                   rec));
      continue;
    }
    const std::string domain = router::NormalizeAddress(rec.address()).domain;
    if (suspended_domains_.count(domain)) {
      suspended["suspend:domain:" + domain].push_back(idx);
      continue;
    }
    if (!lower) lower = LowerRecipients(message);
    EnvelopeFields env = EnvelopeForRecord(message, lower, rec, now);
    auto route = router->DecideRoute(env.View());
    if (!route.ok()) {
      ++metrics_.config_failures;
      OUTPOST_LOG_ERROR("config_error", {"id", Hex(msg_id)}, {"rcpt", rec.address()},
                        {"strategy", "route"}, {"error", route.status().message()},
                        {"action", "deferred 5m, retry_num unchanged"});
      immediate.push_back(
          MakeItem(PlanConfigFailure(message, rec, route.status().message(), "", ctx), rec));
      continue;
    }
    const router::Route& r = *route->object;
    if (suspended_routes_.count(r.name)) {
      suspended["suspend:route:" + r.name].push_back(idx);
      continue;
    }
    std::string key = r.name;
    if (r.kind == router::Route::Kind::kMx) key += "|" + domain;
    auto [git, fresh] = group_index.try_emplace(key, groups.size());
    if (fresh) {
      Group g;
      g.route = &r;
      g.domain = domain;
      g.dest_key = DestinationKey(r, domain);
      if (r.kind == router::Route::Kind::kMx) {
        g.dest_limit = router->config().queue.mx_concurrency;
      } else if (r.kind == router::Route::Kind::kRelay) {
        g.dest_limit = r.concurrency;
      }
      groups.push_back(std::move(g));
    }
    groups[git->second].rcpts.push_back(&rec);
  }

  for (auto& [key, sidxs] : suspended) {
    if (queues_[queue].parked < options_.max_parked_per_queue) {
      Park(key, ParkedGroup{msg_id, queue, sidxs});
      continue;
    }
    for (uint32_t idx : sidxs) {
      const proto::RecipientRecord& rec = *FindRecipient(*snapshot, idx);
      immediate.push_back(MakeItem(PlanPostpone(rec, now + options_.overflow_retry.count()), rec));
    }
  }
  for (auto& g : groups) {
    if (const auto* down = health_.DownAt(g.dest_key, now)) {
      DeferDown(message, *router, lower, g, *down, &immediate);
    } else {
      DispatchOrPark(snapshot, epoch, body, queue, g, &immediate);
    }
  }
  if (!immediate.empty()) Write(message, body, std::move(immediate), snapshot, epoch);
}

void Scheduler::DispatchOrPark(const std::shared_ptr<const queue::QueuedMessage>& snapshot,
                               std::optional<uint64_t> epoch, BodyCache& body,
                               const std::string& queue, Group& group,
                               std::vector<Item>* immediate) {
  const proto::MessageRecord& message = snapshot->message;
  if (!DestinationHasRoom(group.dest_key, group.dest_limit)) {
    if (queues_[queue].parked < options_.max_parked_per_queue) {
      ParkedGroup parked{message.id(), queue, {}};
      for (const auto* r : group.rcpts) parked.idxs.push_back(r->idx());
      Park(group.dest_key, std::move(parked));
    } else {
      const int64_t later = dispatcher_.clock().NowUnixMs() + options_.overflow_retry.count();
      for (const auto* r : group.rcpts) {
        immediate->push_back(MakeItem(PlanPostpone(*r, later), *r));
      }
    }
    return;
  }
  if (!QueueHasRoom(queue)) {
    // Only a parked group served after its queue filled up gets here: let it be found again.
    for (const auto* r : group.rcpts) store_.ReleaseLease({message.id(), r->idx()});
    NoteDueBothLanes(queue, 0);
    return;
  }
  Dispatch(snapshot, epoch, body, queue, group);
}

void Scheduler::DeferDown(const proto::MessageRecord& message, const router::Router& router,
                          const std::shared_ptr<const std::vector<std::string>>& lower,
                          const Group& group, const DestinationHealth::Down& down,
                          std::vector<Item>* immediate) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  transport::RecipientOutcome outcome;
  outcome.kind = transport::OutcomeKind::kTempFail;
  outcome.error = down.error;
  outcome.reply = down.reply;
  outcome.reply.text = "destination " + group.dest_key.substr(group.dest_key.find(':') + 1) +
                       " marked down (" + down.reply.text + ")";
  const AttemptMeta meta{group.route->name, now, 0};
  // Spread over a whole down period: a backlog re-timed to the end of the period plus at most
  // a tenth of it came due within ~3 s (1M recipients with a 30 s period) and held the loop
  // for a minute; spread over the period it comes due at backlog / period per second, and
  // the first of it probes the destination.
  const int64_t spread = std::max<int64_t>(1, down.period.count());
  const RandomSource draw = OneDraw();
  for (const auto* r : group.rcpts) {
    PlannedChange plan = PlanAttemptOutcome(message, *r, outcome, meta,
                                            ContextFor(ScheduleOf(*router_, *r), now, &draw));
    if (plan.change.attempt) plan.change.attempt->in_history = false;
    if (queue::IsPending(plan.change.new_state) && plan.change.next_attempt_unix_ms &&
        NextAttemptGoesTo(message, router, lower, *r, down.error, now) == group.dest_key) {
      // Re-timed only when the next attempt would go to the same destination: a route that
      // fails over on retry_num (the seed's `retry_num > 1`) keeps its own retry time.
      const int64_t retime =
          down.until_unix_ms + static_cast<int64_t>(draw() % static_cast<uint64_t>(spread));
      plan.change.next_attempt_unix_ms = std::max(*plan.change.next_attempt_unix_ms, retime);
    }
    immediate->push_back(MakeItem(std::move(plan), *r));
  }
  metrics_.deferred_destination_down += group.rcpts.size();
}

std::string Scheduler::DestinationKey(const router::Route& route, const std::string& domain) {
  switch (route.kind) {
    case router::Route::Kind::kMx: return "dest:mx:" + domain;
    case router::Route::Kind::kRelay: return "dest:relay:" + route.name;
    case router::Route::Kind::kLocal: break;
  }
  return "";
}

std::string Scheduler::NextAttemptGoesTo(const proto::MessageRecord& message,
                                         const router::Router& router,
                                         const std::shared_ptr<const std::vector<std::string>>& lower,
                                         const proto::RecipientRecord& rec,
                                         transport::ErrorClass error, int64_t now) {
  EnvelopeFields env = EnvelopeForRecord(message, lower, rec, now);
  env.retry_num += 1;
  env.last_error = std::string(transport::ErrorClassName(error));
  auto route = router.DecideRoute(env.View());
  if (!route.ok()) return "";
  return DestinationKey(*route->object, env.rcpt_domain);
}

void Scheduler::Dispatch(const std::shared_ptr<const queue::QueuedMessage>& snapshot,
                         std::optional<uint64_t> epoch, BodyCache& body, const std::string& queue,
                         Group& group) {
  const proto::MessageRecord& message = snapshot->message;
  const int64_t now = dispatcher_.clock().NowUnixMs();
  const router::Route& route = *group.route;
  auto agent = agents_.find(route.kind);
  std::shared_ptr<const std::string> bytes = body.Get();
  if (agent == agents_.end() || agent->second == nullptr || !bytes) {
    const std::string error =
        !bytes ? "message body unreadable"
               : std::string("no delivery agent for route kind ") + RouteKindLabel(route.kind);
    std::vector<Item> items;
    for (const auto* r : group.rcpts) {
      ++metrics_.config_failures;
      OUTPOST_LOG_ERROR("config_error", {"id", Hex(message.id())}, {"rcpt", r->address()},
                        {"route", route.name}, {"error", error});
      items.push_back(MakeItem(PlanConfigFailure(message, *r, error, route.name,
                                                 ContextFor(ScheduleOf(*router_, *r), now)),
                               *r));
    }
    Write(message, body, std::move(items));
    return;
  }

  transport::DeliveryRequest req;
  req.route_name = route.name;
  req.route = ToTransportRoute(route, group.domain);
  req.message.id = message.id();
  req.message.return_path = message.return_path();
  req.message.body = bytes;
  req.message.smtputf8 = message.smtputf8();
  req.message.eight_bit = message.eight_bit_mime();
  req.message.ret = message.ret() == proto::RET_FULL      ? transport::DsnRet::kFull
                    : message.ret() == proto::RET_HEADERS ? transport::DsnRet::kHeaders
                                                          : transport::DsnRet::kUnspecified;
  req.message.envid = message.env_id();
  req.message.tls_report = message.source() == proto::SOURCE_REPORT;
  auto txn = std::make_unique<Txn>();
  txn->msg_id = message.id();
  txn->queue = queue;
  txn->dest_key = group.dest_key;
  txn->route_name = route.name;
  txn->started_unix_ms = now;
  txn->probe = req.probe = health_.StartProbe(group.dest_key, now);
  txn->started = dispatcher_.clock().MonotonicNow();
  for (const auto* r : group.rcpts) {
    transport::DeliveryRecipient dr;
    dr.address = r->address();
    dr.orcpt = r->orcpt();
    const dsn::NotifyFlags n = NotifyFlagsOf(r->notify_flags());
    dr.notify = transport::NotifyFlags{n.never, n.success, n.failure, n.delay};
    req.recipients.push_back(std::move(dr));
    txn->idxs.push_back(r->idx());
    txn->rcpts.push_back(r);
  }
  txn->snapshot = snapshot;
  txn->epoch = epoch;
  // The connection/TLS expressions see the transaction's first recipient.
  txn->policy = std::make_unique<RouterHostPolicy>(
      router_, EnvelopeForRecord(message, LowerRecipients(message), *group.rcpts.front(), now),
      options_.fallback_hostname);
  req.policy = txn->policy.get();
  const uint64_t id = next_txn_id_++;
  ++queues_[queue].in_flight;
  if (!group.dest_key.empty()) ++dest_in_flight_[group.dest_key];
  txns_.emplace(id, std::move(txn));
  agent->second->Deliver(std::move(req), [this, alive = std::weak_ptr<bool>(alive_),
                                          id](transport::DeliveryResult result) {
    auto a = alive.lock();
    if (!a || !*a) return;
    OnTransactionDone(id, std::move(result));
  });
}

// ---- outcomes ----------------------------------------------------------------------------------

void Scheduler::OnTransactionDone(uint64_t txn_id, transport::DeliveryResult result) {
  auto it = txns_.find(txn_id);
  if (it == txns_.end()) return;  // a second call breaks the agent contract: ignore it
  std::unique_ptr<Txn> txn = std::move(it->second);
  txns_.erase(it);
  --queues_[txn->queue].in_flight;
  if (!txn->dest_key.empty()) {
    auto d = dest_in_flight_.find(txn->dest_key);
    if (d != dest_in_flight_.end() && --d->second == 0) dest_in_flight_.erase(d);
  }
  const int64_t duration = std::chrono::duration_cast<Millis>(
                               dispatcher_.clock().MonotonicNow() - txn->started)
                               .count();
  metrics_.RecordLatency(duration);
  health_.Record(txn->dest_key, result, dispatcher_.clock().NowUnixMs(), txn->started_unix_ms,
                 txn->probe);
  if (result.possible_duplicate) {
    OUTPOST_LOG_WARN("possible_duplicate", {"id", Hex(txn->msg_id)}, {"route", txn->route_name});
  }

  {
    const int64_t now = dispatcher_.clock().NowUnixMs();
    std::shared_ptr<const router::Router> router = router_;
    BodyCache body(store_, txn->msg_id);
    const proto::MessageRecord& message = txn->snapshot->message;
    AttemptMeta meta{txn->route_name, txn->started_unix_ms, duration};
    std::vector<Item> items;
    items.reserve(txn->rcpts.size());
    const RandomSource draw = OneDraw();
    for (size_t k = 0; k < txn->rcpts.size(); ++k) {
      const proto::RecipientRecord* rec = txn->rcpts[k];
      transport::RecipientOutcome outcome;
      if (k < result.outcomes.size()) {
        outcome = result.outcomes[k];
      } else {
        outcome.kind = transport::OutcomeKind::kTempFail;
        outcome.error = transport::ErrorClass::kIo;
        outcome.reply.text = "delivery agent returned no outcome for this recipient";
        OUTPOST_LOG_ERROR("agent_contract", {"id", Hex(txn->msg_id)}, {"route", txn->route_name},
                          {"error", outcome.reply.text});
      }
      if (outcome.kind == transport::OutcomeKind::kTempFail &&
          outcome.error == transport::ErrorClass::kConfig) {
        ++metrics_.config_failures;
        OUTPOST_LOG_ERROR("config_error", {"id", Hex(txn->msg_id)}, {"rcpt", rec->address()},
                          {"route", txn->route_name}, {"error", outcome.reply.text},
                          {"action", "deferred 5m, retry_num unchanged"});
      }
      items.push_back(MakeItem(PlanAttemptOutcome(message, *rec, outcome, meta,
                                                  ContextFor(ScheduleOf(*router, *rec), now, &draw)),
                               *rec));
    }
    if (!items.empty()) {
      Write(message, body, std::move(items), txn->snapshot, txn->epoch);
    }
  }
  ServeParked(txn->dest_key);
  Wake();
  CheckDrain();
}

void Scheduler::Write(const proto::MessageRecord& message, BodyCache& body,
                      std::vector<Item> items,
                      std::shared_ptr<const queue::QueuedMessage> snapshot,
                      std::optional<uint64_t> epoch) {
  std::map<dsn::DsnEvent, std::vector<Item>> by_event;
  std::vector<Item> plain;
  for (auto& item : items) {
    if (item.plan.dsn_event && message.return_path().empty()) item.plan.dsn_event.reset();
    if (item.plan.dsn_event) {
      by_event[*item.plan.dsn_event].push_back(std::move(item));
    } else {
      plain.push_back(std::move(item));
    }
  }
  bool first = true;
  for (auto& [event, group] : by_event) {
    if (first) {
      for (auto& p : plain) group.push_back(std::move(p));
      plain.clear();
      first = false;
    }
    WriteBatch(message, body, std::move(group), event, snapshot, epoch);
  }
  if (!plain.empty()) WriteBatch(message, body, std::move(plain), std::nullopt, snapshot, epoch);
}

void Scheduler::WriteBatch(const proto::MessageRecord& message, BodyCache& body,
                           std::vector<Item> items, std::optional<dsn::DsnEvent> event,
                           std::shared_ptr<const queue::QueuedMessage> snapshot,
                           std::optional<uint64_t> epoch) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  std::string dsn_queue;
  queue::OutcomeBatch batch;
  batch.msg_id = message.id();
  batch.snapshot = std::move(snapshot);
  batch.snapshot_epoch = epoch;
  if (event) {
    std::vector<dsn::RecipientReport> reports;
    for (const auto& item : items) {
      if (item.plan.dsn_event == event) reports.push_back(item.plan.report);
    }
    auto bytes = body.Get();
    StatusOr<queue::NewMessage> report =
        bytes ? dsn_writer_.Build(message, *bytes, *event, reports, ReportingMta(), now)
              : StatusOr<queue::NewMessage>(Status::IoError("message body unreadable"));
    if (report.ok()) {
      PlanNewMessage(*router_, &*report, now, options_.config_retry);
      NoteQueues(*report);
      dsn_queue = report->recipients.front().virtual_queue;
      batch.also_enqueue = std::move(*report);
    } else {
      // The transition is still recorded; the report is lost and said so loudly.
      OUTPOST_LOG_ERROR("dsn_compose_failed", {"id", Hex(message.id())},
                        {"error", report.status().ToString()});
      for (auto& item : items) item.plan.change.dsn_sent_flags = 0;
    }
  }
  for (const auto& item : items) batch.changes.push_back(item.plan.change);
  ++pending_writes_;
  const bool retry_work = !items.empty() && items.front().from_lane == Lane::kRetry;
  retry_writes_pending_ += retry_work ? 1 : 0;
  store_.ApplyOutcome(
      std::move(batch),
      [this, alive = std::weak_ptr<bool>(alive_), items = std::move(items), id = message.id(),
       received = message.received_unix_ms(),
       dsn_queue = std::move(dsn_queue), retry_work](StatusOr<queue::OutcomeResult> r) {
        auto a = alive.lock();
        if (!a || !*a) return;
        const MonotonicTime began = dispatcher_.clock().MonotonicNow();
        --pending_writes_;
        retry_writes_pending_ -= retry_work ? 1 : 0;
        for (const auto& item : items) {
          if (queue::IsPending(item.plan.change.new_state)) {
            NoteDue(item.queue, item.lane, item.due_unix_ms);
          }
        }
        if (!r.ok()) {
          ForgetDueHints();  // the leases were released with nothing written: due again
          ++metrics_.store_errors;
          backoff_until_ms_ =
              dispatcher_.clock().NowUnixMs() + options_.store_error_backoff.count();
          OUTPOST_LOG_ERROR("outcome_write_failed", {"id", Hex(id)},
                            {"error", r.status().ToString()},
                            {"action", "recipients stay due (at-least-once)"});
        } else {
          const int64_t now = dispatcher_.clock().NowUnixMs();
          if (r->enqueued_id) {
            NoteDue(dsn_queue, Lane::kFirst, now);
            ++metrics_.dsns_enqueued;
            OUTPOST_LOG_INFO("dsn_queued", {"id", Hex(id)}, {"dsn_id", Hex(*r->enqueued_id)});
          }
          for (const auto& item : items) {
            if (item.plan.log_status == LogStatus::kNone) continue;
            const auto& att = item.plan.change.attempt;
            const std::string route = att ? att->route : "";
            ++metrics_.deliveries[{std::string(LogStatusName(item.plan.log_status)), route}];
            if (att && !att->error_class.empty() && att->error_class != "none") {
              ++metrics_.attempt_errors[att->error_class];
            }
            OUTPOST_LOG_INFO(
                "delivery", {"id", Hex(id)}, {"rcpt", item.address}, {"route", route},
                {"host", att ? att->host : ""}, {"ip", att ? att->ip : ""},
                {"reply", att ? ReplyText(att->reply_code, att->reply_enhanced, att->reply_text)
                              : item.plan.report.reply_text},
                {"delay_ms", now - received}, {"duration_ms", att ? att->duration_ms : 0},
                {"retry_num", item.retry_num_after},
                {"status", LogStatusName(item.plan.log_status)});
          }
        }
        if (!items.empty()) {
          const MonotonicTime done = dispatcher_.clock().MonotonicNow();
          lane_share_.ChargeAfter({items.front().queue, items.front().from_lane}, done - began,
                                  done);
        }
        Wake();
        CheckDrain();
      });
}

std::string Scheduler::ReportingMta() const {
  const std::string& h = router_->config().server.hostname;
  return h.empty() ? options_.fallback_hostname : h;
}

// ---- parking -----------------------------------------------------------------------------------

void Scheduler::Park(const std::string& key, ParkedGroup group) {
  queues_[group.queue].parked += group.idxs.size();
  parked_[key].push_back(std::move(group));
}

void Scheduler::ServeParked(const std::string& dest_key) {
  if (dest_key.empty() || draining_) return;
  auto it = parked_.find(dest_key);
  if (it == parked_.end()) return;
  // Each round either dispatches (taking a slot) or moves the group elsewhere; bounded anyway.
  size_t rounds = it->second.size();
  while (rounds-- > 0) {
    it = parked_.find(dest_key);
    if (it == parked_.end() || it->second.empty()) break;
    const ParkedGroup& front = it->second.front();
    if (!QueueHasRoom(front.queue)) break;
    ParkedGroup g = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) parked_.erase(it);
    queues_[g.queue].parked -= g.idxs.size();
    const size_t before = dest_in_flight_.count(dest_key) ? dest_in_flight_[dest_key] : 0;
    Process(g.msg_id, g.queue, g.idxs);
    auto again = parked_.find(dest_key);
    // The group went straight back: the destination is full again.
    if (again != parked_.end() && !again->second.empty() &&
        again->second.back().msg_id == g.msg_id &&
        (dest_in_flight_.count(dest_key) ? dest_in_flight_[dest_key] : 0) == before) {
      break;
    }
  }
}

void Scheduler::ReleaseParked(const std::string& key) {
  auto it = parked_.find(key);
  if (it == parked_.end()) return;
  for (const auto& g : it->second) {
    queues_[g.queue].parked -= g.idxs.size();
    for (uint32_t idx : g.idxs) store_.ReleaseLease({g.msg_id, idx});
    NoteDueBothLanes(g.queue, 0);
  }
  parked_.erase(it);
}

void Scheduler::UnparkAll() {
  std::vector<std::string> keys;
  for (const auto& [k, v] : parked_) keys.push_back(k);
  for (const auto& k : keys) ReleaseParked(k);
}

size_t Scheduler::parked_recipients() const {
  size_t n = 0;
  for (const auto& [name, st] : queues_) n += st.parked;
  return n;
}

// ---- suspend / resume --------------------------------------------------------------------------

void Scheduler::Suspend(Destination d) {
  OUTPOST_LOG_INFO("suspend", {"kind", d.kind == Destination::Kind::kDomain ? "domain" : "route"},
                   {"name", d.name});
  if (d.kind == Destination::Kind::kDomain) {
    suspended_domains_.insert(router::NormalizeAddress("@" + d.name).domain);
  } else {
    suspended_routes_.insert(d.name);
  }
}

void Scheduler::Resume(const Destination& d) {
  OUTPOST_LOG_INFO("resume", {"kind", d.kind == Destination::Kind::kDomain ? "domain" : "route"},
                   {"name", d.name});
  if (d.kind == Destination::Kind::kDomain) {
    const std::string domain = router::NormalizeAddress("@" + d.name).domain;
    suspended_domains_.erase(domain);
    ReleaseParked("suspend:domain:" + domain);
  } else {
    suspended_routes_.erase(d.name);
    ReleaseParked("suspend:route:" + d.name);
  }
  Wake();
}

std::vector<Destination> Scheduler::suspended() const {
  std::vector<Destination> out;
  for (const auto& d : suspended_domains_) out.push_back({Destination::Kind::kDomain, d});
  for (const auto& r : suspended_routes_) out.push_back({Destination::Kind::kRoute, r});
  return out;
}

// ---- operator actions --------------------------------------------------------------------------

Scheduler::OpDone Scheduler::WakeAfter(OpDone done) {
  return [this, alive = std::weak_ptr<bool>(alive_), done = std::move(done)](
             StatusOr<queue::OpCounts> r) {
    auto a = alive.lock();
    if (a && *a) {
      ForgetDueHints();  // the operation may have made anything due, in any queue
      Wake();
    }
    done(std::move(r));
  };
}

void Scheduler::Hold(queue::Selection sel, bool pause_expiry, OpDone done) {
  UnparkAll();
  store_.Hold(std::move(sel), pause_expiry, WakeAfter(std::move(done)));
}

void Scheduler::Release(queue::Selection sel, OpDone done) {
  UnparkAll();
  store_.Release(std::move(sel), WakeAfter(std::move(done)));
}

void Scheduler::RetryNow(queue::Selection sel, OpDone done) {
  UnparkAll();
  health_.Clear();  // "retry now" means a real attempt, also for a destination marked down
  store_.RetryNow(std::move(sel), WakeAfter(std::move(done)));
}

void Scheduler::Cancel(queue::Selection sel, bool bounce, OpDone done) {
  UnparkAll();
  queue::QueueStore::CancelDsnComposer compose;
  if (bounce) {
    compose = [this, alive = std::weak_ptr<bool>(alive_)](
                  const queue::QueuedMessage& qm,
                  const std::vector<uint32_t>& cancelled) -> std::optional<queue::NewMessage> {
      auto a = alive.lock();
      if (!a || !*a) return std::nullopt;
      return CancelReport(qm, cancelled);
    };
  }
  store_.Cancel(std::move(sel), std::move(compose), WakeAfter(std::move(done)));
}

std::optional<queue::NewMessage> Scheduler::CancelReport(const queue::QueuedMessage& qm,
                                                         const std::vector<uint32_t>& cancelled) {
  const int64_t now = dispatcher_.clock().NowUnixMs();
  std::vector<dsn::RecipientReport> reports;
  for (uint32_t idx : cancelled) {
    for (const auto& r : qm.recipients) {
      if (r.idx() != idx) continue;
      auto action = dsn::DueDsnAction(NotifyFlagsOf(r.notify_flags()), dsn::DsnEvent::kFailure,
                                      qm.message.return_path());
      if (!action) continue;
      dsn::RecipientReport rep;
      rep.final_recipient = r.address();
      rep.original_recipient = r.orcpt();
      rep.action = *action;
      rep.status = "5.0.0";
      rep.reply_text = "delivery cancelled by the postmaster";
      reports.push_back(std::move(rep));
    }
  }
  if (reports.empty()) return std::nullopt;
  BodyCache body(store_, qm.message.id());
  auto bytes = body.Get();
  if (!bytes) return std::nullopt;
  auto report = dsn_writer_.Build(qm.message, *bytes, dsn::DsnEvent::kFailure, reports,
                                  ReportingMta(), now);
  if (!report.ok()) {
    OUTPOST_LOG_ERROR("dsn_compose_failed", {"id", Hex(qm.message.id())},
                      {"error", report.status().ToString()});
    return std::nullopt;
  }
  PlanNewMessage(*router_, &*report, now, options_.config_retry);
  NoteQueues(*report);
  ++metrics_.dsns_enqueued;
  return std::move(*report);
}

void Scheduler::Replay(queue::Selection sel, OpDone done) {
  UnparkAll();
  auto plan = [this, alive = std::weak_ptr<bool>(alive_), router = router_](
                  const proto::MessageRecord& m, proto::RecipientRecord& r) {
    const int64_t now = dispatcher_.clock().NowUnixMs();
    PlanReplay(*router, m, &r, now, options_.config_retry);
    auto a = alive.lock();
    if (a && *a) NoteQueue(r.virtual_queue());
  };
  store_.Replay(std::move(sel), std::move(plan), WakeAfter(std::move(done)));
}

// ---- drain -------------------------------------------------------------------------------------

void Scheduler::Drain(Millis deadline, std::function<void(bool clean)> done) {
  draining_ = true;
  timer_->Disable();
  UnparkAll();
  drain_done_ = std::move(done);
  OUTPOST_LOG_INFO("drain", {"in_flight", txns_.size()}, {"pending_writes", pending_writes_});
  drain_timer_ = dispatcher_.CreateTimer([this]() { FinishDrain(false); });
  drain_timer_->Enable(deadline);
  CheckDrain();
}

void Scheduler::CheckDrain() {
  if (draining_ && drain_done_ && txns_.empty() && pending_writes_ == 0) FinishDrain(true);
}

void Scheduler::FinishDrain(bool clean) {
  if (!drain_done_) return;
  if (drain_timer_) drain_timer_->Disable();
  auto done = std::move(drain_done_);
  drain_done_ = nullptr;
  if (!clean) {
    OUTPOST_LOG_WARN("drain_deadline", {"in_flight", txns_.size()},
                     {"pending_writes", pending_writes_});
  }
  dispatcher_.Post([done = std::move(done), clean]() { done(clean); });
}

// ---- metrics -----------------------------------------------------------------------------------

SchedulerMetrics Scheduler::metrics() const {
  SchedulerMetrics m = metrics_;
  for (const auto& [name, st] : queues_) m.in_flight_by_queue[name] = st.in_flight;
  m.recipients_parked = parked_recipients();
  m.destinations_down = health_.DownCount(dispatcher_.clock().NowUnixMs());
  return m;
}

}  // namespace outpost::scheduler
