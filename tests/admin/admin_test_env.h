#pragma once
// Test harness for the admin API: a REAL LibeventDispatcher running on its own thread, a
// REAL QueueStore (RocksDB in a temp dir), a REAL Scheduler with a hand-written delivery
// agent, the REAL AdminApi + AdminHttpServer on 127.0.0.1 (port 0), and the CLI's blocking
// AdminClient as the HTTP client on the test thread. Loop objects are created, used and
// destroyed on the loop thread through OnLoop().
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "common/logging.h"
#include "queue/queue_store.h"
#include "router/config_loader.h"
#include "router/router.h"
#include "router/secret_resolver.h"
#include "scheduler/scheduler.h"
#include "tests/common/temp_dir.h"
#include "tools/admin/admin_api.h"
#include "tools/admin/admin_http_server.h"
#include "tools/outpost/admin_client.h"
#include "transport/api/delivery.h"

namespace outpost::admin::testing {

inline constexpr const char* kToken = "s3cret-admin-token";

// Completes each request with what `script` returns for it (posted, as the contract
// demands); nullopt keeps the request open until the scheduler goes away. Loop thread only.
class ScriptedAgent final : public transport::DeliveryAgent {
 public:
  using Script = std::function<std::optional<transport::RecipientOutcome>(
      const transport::DeliveryRecipient&)>;
  ScriptedAgent(Dispatcher& d, Script script) : d_(d), script_(std::move(script)) {}

  void Deliver(transport::DeliveryRequest request, DoneCallback done) override {
    ++calls_;
    transport::DeliveryResult result;
    for (const auto& r : request.recipients) {
      auto o = script_(r);
      if (!o) {
        open_.push_back(std::move(done));
        return;
      }
      result.outcomes.push_back(*o);
    }
    d_.Post([done = std::move(done), result = std::move(result)]() { done(result); });
  }
  int calls() const { return calls_; }

 private:
  Dispatcher& d_;
  Script script_;
  std::vector<DoneCallback> open_;
  int calls_ = 0;
};

inline transport::RecipientOutcome PermanentFailure() {
  transport::RecipientOutcome o;
  o.kind = transport::OutcomeKind::kPermFail;
  o.error = transport::ErrorClass::kUnexpectedReply;
  o.reply = {550, "5.1.1", "no such user"};
  o.host = "mx.peer.test";
  o.ip = "127.0.0.2";
  return o;
}

class NoSecrets final : public router::SecretResolver {
 public:
  StatusOr<std::string> GetEnv(std::string_view n) const override {
    return Status::NotFound(std::string(n));
  }
  StatusOr<std::string> ReadFile(std::string_view p) const override {
    return Status::IoError(std::string(p));
  }
};

// Every recipient goes through the relay route "primary"; the agent decides by domain:
// fail.test fails permanently, everything else stays in flight.
inline const char* kConfig = R"({
  "server": {"hostname": "mta.outpost.test"},
  "routes": [{"@type": "Relay", "name": "primary", "address": "127.0.0.1", "port": 2525}],
  "strategy": {"route": {"else": "'primary'"}}
})";

class AdminEnv : public ::testing::Test {
 public:
  AdminEnv() {
    loop_ = std::make_unique<LibeventDispatcher>();
    // The loop must keep running while idle: a never-firing timer keeps libevent busy.
    thread_ = std::thread([this]() {
      keepalive_ = loop_->CreateTimer([]() {});
      keepalive_->Enable(std::chrono::hours(24));
      loop_->Run();
    });
  }
  ~AdminEnv() override {
    OnLoop([this]() { StopAll(); keepalive_.reset(); });
    loop_->Exit();
    thread_.join();
    loop_.reset();
  }

  // Runs `fn` on the loop thread and waits for it.
  void OnLoop(std::function<void()> fn) {
    std::promise<void> done;
    loop_->Post([&]() {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Opens the store, starts the scheduler, the API and the HTTP server.
  void StartAll(std::string token = kToken) {
    OnLoop([this, token]() {
      queue::QueueStoreOptions o;
      o.store.path = dir_ + "/db";
      o.store.min_free_space_bytes = 0;
      auto s = queue::QueueStore::Open(o, *loop_);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store = std::move(*s);
      NoSecrets secrets;
      auto config = router::LoadConfig(kConfig, &secrets);
      ASSERT_TRUE(config.ok()) << config.status().ToString();
      auto router = std::make_shared<const router::Router>(*config);
      agent = std::make_unique<ScriptedAgent>(
          *loop_, [](const transport::DeliveryRecipient& r)
                      -> std::optional<transport::RecipientOutcome> {
            if (r.address.ends_with("@fail.test")) return PermanentFailure();
            return std::nullopt;
          });
      scheduler::AgentMap agents{{router::Route::Kind::kRelay, agent.get()}};
      scheduler::SchedulerOptions so;
      so.random = []() { return 0.5; };
      sched = std::make_unique<scheduler::Scheduler>(*loop_, *store, router, agents, so);
      sched->Start();
      AdminApiOptions ao;
      ao.token = token;
      ao.max_message_size = 1 << 20;
      ao.batch = 300;  // several batches in the bulk tests
      api = std::make_unique<AdminApi>(*loop_, *store, *sched, ao);
      AdminHttpOptions ho;
      ho.bind = "127.0.0.1:0";
      auto srv = AdminHttpServer::Start(*loop_, *api, ho);
      ASSERT_TRUE(srv.ok()) << srv.status().ToString();
      server = std::move(*srv);
      url = "http://127.0.0.1:" + std::to_string(server->port());
    });
  }

  // Destroys in the daemon's order: HTTP, API, scheduler, agent, store. Loop thread only.
  void StopAll() {
    server.reset();
    api.reset();
    sched.reset();
    agent.reset();
    store.reset();
  }

  // Waits until every write of the store has completed.
  void Settle() {
    for (int i = 0; i < 2000; ++i) {
      size_t pending = 1;
      OnLoop([&]() { pending = store->pending_operations() + sched->pending_writes(); });
      if (pending == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "store never settled";
  }

  cli::AdminClient Client(std::string token = kToken) {
    auto c = cli::AdminClient::Create(url, std::move(token));
    EXPECT_TRUE(c.ok());
    return *c;
  }

  // Enqueues `n` messages straight into the store (policy decided here: due in a day, so
  // the scheduler leaves them alone), waiting for all to be durable.
  std::vector<uint64_t> Seed(size_t n, const std::string& domain = "example.test") {
    std::vector<uint64_t> ids;
    OnLoop([&]() {
      const int64_t now = loop_->clock().NowUnixMs();
      auto left = std::make_shared<size_t>(n);
      for (size_t i = 0; i < n; ++i) {
        queue::NewMessage m;
        m.return_path = "sender@origin.test";
        m.body = "Subject: seed\r\n\r\nhello\r\n";
        m.received_unix_ms = now;
        m.source = proto::SOURCE_API;
        queue::NewRecipient r;
        r.address = "user" + std::to_string(i) + "@" + domain;
        r.virtual_queue = "remote";
        r.schedule = "remote";
        r.next_attempt_unix_ms = now + 86'400'000;
        r.expiry_unix_ms = now + 5 * 86'400'000LL;
        m.recipients.push_back(r);
        store->Enqueue(std::move(m), [&ids](StatusOr<uint64_t> id) {
          ASSERT_TRUE(id.ok()) << id.status().ToString();
          ids.push_back(*id);
        });
      }
    });
    Settle();
    EXPECT_EQ(ids.size(), n);
    return ids;
  }

  std::optional<queue::QueuedMessage> Load(uint64_t id) {
    std::optional<queue::QueuedMessage> out;
    OnLoop([&]() {
      auto m = store->Get(id);
      if (m.ok()) out = std::move(*m);
    });
    return out;
  }

  ::outpost::testing::TempDir tmp_{"outpost-admin"};  // first: removed after everything
  const std::string dir_ = tmp_.path();
  std::unique_ptr<LibeventDispatcher> loop_;
  std::thread thread_;
  std::unique_ptr<Timer> keepalive_;
  // Loop-thread objects.
  std::unique_ptr<queue::QueueStore> store;
  std::unique_ptr<ScriptedAgent> agent;
  std::unique_ptr<scheduler::Scheduler> sched;
  std::unique_ptr<AdminApi> api;
  std::unique_ptr<AdminHttpServer> server;
  std::string url;
};

}  // namespace outpost::admin::testing
