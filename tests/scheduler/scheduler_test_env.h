#pragma once
// Test harness for the scheduler: a REAL QueueStore (RocksDB in a temp dir) driven by a
// FakeClock/FakeDispatcher, a router built from JSON, and hand-written delivery agents that
// record requests and let the test complete them with scripted outcomes at chosen times.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/fake_dispatcher.h"
#include "common/logging.h"
#include "queue/dsn/dsn_parser.h"
#include "queue/queue_store.h"
#include "router/config_loader.h"
#include "router/router.h"
#include "router/secret_resolver.h"
#include "scheduler/scheduler.h"
#include "tests/common/temp_dir.h"
#include "transport/api/delivery.h"

namespace outpost::scheduler::testing {

using transport::DeliveryRequest;
using transport::DeliveryResult;
using transport::ErrorClass;
using transport::RecipientOutcome;

inline RecipientOutcome Delivered(bool final_delivery = false, bool dsn_passed_on = false) {
  RecipientOutcome o;
  o.kind = transport::OutcomeKind::kDelivered;
  o.reply = {250, "2.0.0", "ok"};
  o.host = "mx.peer.test";
  o.ip = "127.0.0.2";
  o.final_delivery = final_delivery;
  o.dsn_passed_on = dsn_passed_on;
  return o;
}

inline RecipientOutcome Temp(ErrorClass error, int code = 451, std::string text = "try later") {
  RecipientOutcome o;
  o.kind = transport::OutcomeKind::kTempFail;
  o.error = error;
  o.reply = {code, code ? "4.4.1" : "", std::move(text)};
  o.host = "mx.peer.test";
  o.ip = "127.0.0.2";
  return o;
}

inline RecipientOutcome Perm(int code = 550, std::string enhanced = "5.1.1",
                             std::string text = "no such user") {
  RecipientOutcome o;
  o.kind = transport::OutcomeKind::kPermFail;
  o.error = ErrorClass::kUnexpectedReply;
  o.reply = {code, std::move(enhanced), std::move(text)};
  o.host = "mx.peer.test";
  o.ip = "127.0.0.2";
  return o;
}

inline DeliveryResult AllSame(const DeliveryRequest& r, const RecipientOutcome& o) {
  DeliveryResult result;
  result.outcomes.assign(r.recipients.size(), o);
  return result;
}

// Records every request. `script`, when set, completes a request at once (posted, as the
// contract demands); otherwise the test completes it with Complete().
class FakeAgent final : public transport::DeliveryAgent {
 public:
  struct Call {
    DeliveryRequest request;
    DoneCallback done;
    bool completed = false;
  };
  explicit FakeAgent(Dispatcher& d) : d_(d) {}

  void Deliver(DeliveryRequest request, DoneCallback done) override {
    calls.push_back(Call{std::move(request), std::move(done), false});
    if (script) Complete(calls.size() - 1, script(calls.back().request));
  }
  void Complete(size_t i, DeliveryResult result) {
    Call& c = calls.at(i);
    ASSERT_FALSE(c.completed) << "call " << i << " completed twice";
    c.completed = true;
    d_.Post([done = std::move(c.done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }
  void CompleteAll(const RecipientOutcome& o) {
    for (size_t i = 0; i < calls.size(); ++i) {
      if (!calls[i].completed) Complete(i, AllSame(calls[i].request, o));
    }
  }
  size_t open() const {
    size_t n = 0;
    for (const auto& c : calls) n += c.completed ? 0 : 1;
    return n;
  }

  std::function<DeliveryResult(const DeliveryRequest&)> script;
  std::deque<Call> calls;

 private:
  Dispatcher& d_;
};

// Captures log lines for assertions.
class CapturingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view line) override {
    std::lock_guard<std::mutex> l(mu_);
    lines_.push_back({level, std::string(line)});
  }
  size_t Count(LogLevel level, std::string_view needle) const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& [lv, line] : lines_) n += (lv == level && line.find(needle) != std::string::npos);
    return n;
  }
  std::vector<std::string> Lines(std::string_view needle) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [lv, line] : lines_) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

class NoSecrets final : public router::SecretResolver {
 public:
  StatusOr<std::string> GetEnv(std::string_view n) const override {
    return Status::NotFound(std::string(n));
  }
  StatusOr<std::string> ReadFile(std::string_view p) const override {
    return Status::IoError(std::string(p));
  }
};

inline std::shared_ptr<const router::Router> MakeRouter(const std::string& json) {
  NoSecrets secrets;
  auto config = router::LoadConfig(json, &secrets);
  if (!config.ok()) {
    ADD_FAILURE() << config.status().ToString();
    std::abort();
  }
  return std::make_shared<const router::Router>(*config);
}

// A config with a relay route used for every recipient (simple and deterministic).
inline const char* kBaseConfig = R"({
  "server": {"hostname": "mta.outpost.test"},
  "routes": [{"@type": "Relay", "name": "primary", "address": "127.0.0.1", "port": 2525,
              "concurrency": 10}],
  "strategy": {"route": {"else": "'mx'"}}
})";

class SchedulerEnv : public ::testing::Test {
 protected:
  SchedulerEnv() { SetLogSink(&logs); }
  ~SchedulerEnv() override {
    scheduler.reset();
    store.reset();
    SetLogSink(nullptr);
  }

  void OpenStore() {
    queue::QueueStoreOptions o;
    o.store.path = dir() + "/db";
    o.store.min_free_space_bytes = 0;
    auto s = queue::QueueStore::Open(o, dispatcher);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(*s);
  }

  // Opens the store (if needed) and starts a scheduler over `config_json`.
  void Start(const std::string& config_json = kBaseConfig, SchedulerOptions options = {}) {
    if (!store) OpenStore();
    router = MakeRouter(config_json);
    if (!options.random) options.random = [this]() { return jitter_value; };
    if (!options.dsn_random) options.dsn_random = dsn::SeededRandomBits(7);
    AgentMap agents{{router::Route::Kind::kLocal, &local},
                    {router::Route::Kind::kMx, &mx},
                    {router::Route::Kind::kRelay, &relay}};
    scheduler = std::make_unique<Scheduler>(dispatcher, *store, router, agents, options);
    scheduler->Start();
    Settle();
  }

  // Runs posted work until the store and the scheduler have nothing in flight.
  void Settle() {
    for (int i = 0; i < 1000; ++i) {
      dispatcher.RunPending();
      bool idle = store->pending_operations() == 0 &&
                  (!scheduler || scheduler->pending_writes() == 0);
      if (idle) {
        if (dispatcher.RunPending() == 0) return;
        continue;
      }
      dispatcher.RunUntil([&] {
        return store->pending_operations() == 0 &&
               (!scheduler || scheduler->pending_writes() == 0);
      });
    }
    ADD_FAILURE() << "never settled";
  }

  void AdvanceAndSettle(Millis d) {
    dispatcher.Advance(d);
    Settle();
  }

  queue::NewMessage Message(std::vector<std::string> to, std::string from = "sender@origin.test",
                            uint32_t notify = 0) {
    queue::NewMessage m;
    m.return_path = std::move(from);
    m.body = "From: sender@origin.test\r\nSubject: hello\r\nMessage-ID: <m1@origin.test>\r\n\r\nbody\r\n";
    m.source = proto::SOURCE_AUTHENTICATED;
    m.client_ip = "127.0.0.9";
    for (auto& a : to) {
      queue::NewRecipient r;
      r.address = std::move(a);
      r.notify_flags = notify;
      m.recipients.push_back(std::move(r));
    }
    return m;
  }

  uint64_t Submit(queue::NewMessage m) {
    std::optional<StatusOr<uint64_t>> result;
    scheduler->Submit(std::move(m), [&](StatusOr<uint64_t> id) { result.emplace(std::move(id)); });
    dispatcher.RunUntil([&] { return result.has_value(); });
    EXPECT_TRUE(result && result->ok());
    Settle();
    return result && result->ok() ? **result : 0;
  }

  proto::RecipientRecord Rcpt(uint64_t id, uint32_t idx = 0) {
    auto r = store->GetRecipient({id, idx});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : proto::RecipientRecord();
  }

  // Every queued DSN message (source dsn), in id order.
  std::vector<queue::QueuedMessage> Dsns() {
    queue::ListOptions o;
    o.limit = 1000;
    auto page = store->List(o);
    EXPECT_TRUE(page.ok());
    std::vector<queue::QueuedMessage> out;
    if (!page.ok()) return out;
    for (auto& m : page->items) {
      if (m.message.source() == proto::SOURCE_DSN) out.push_back(std::move(m));
    }
    return out;
  }

  dsn::ParsedDsn ParseDsnOf(const queue::QueuedMessage& m) {
    auto body = store->GetBody(m.message.id());
    EXPECT_TRUE(body.ok());
    auto parsed = dsn::ParseDsn(body.ok() ? *body : "");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return parsed.ok() ? *parsed : dsn::ParsedDsn();
  }

  StatusOr<queue::OpCounts> Op(std::function<void(Scheduler::OpDone)> start) {
    std::optional<StatusOr<queue::OpCounts>> result;
    start([&](StatusOr<queue::OpCounts> r) { result.emplace(std::move(r)); });
    dispatcher.RunUntil([&] { return result.has_value(); });
    Settle();
    return result ? *result : StatusOr<queue::OpCounts>(Status::Internal("no result"));
  }

  // Destroys the scheduler and the store (a restart), keeping the data directory.
  void Stop() {
    scheduler.reset();
    store.reset();
  }

  const std::string& dir() const { return tmp_.path(); }

 private:
  ::outpost::testing::TempDir tmp_{"outpost-sched"};  // first: removed after everything

 protected:
  CapturingSink logs;
  FakeClock clock;
  FakeDispatcher dispatcher{clock};
  std::unique_ptr<queue::QueueStore> store;
  std::shared_ptr<const router::Router> router;
  FakeAgent local{dispatcher};
  FakeAgent mx{dispatcher};
  FakeAgent relay{dispatcher};
  std::unique_ptr<Scheduler> scheduler;
  uint64_t jitter_value = 10000;  // RetryDelay factor exactly 1.0
};

}  // namespace outpost::scheduler::testing
