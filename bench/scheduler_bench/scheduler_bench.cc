// scheduler_bench: the delivery engine on a real loop and a real (synced, group-committed)
// QueueStore, with an agent that completes every transaction at once (posted).
//
//   1. throughput: --messages M messages of --rcpts R recipients (--domains D each) are
//      submitted, scheduled, dispatched and completed; prints recipients/s end to end (Submit
//      and delivery overlapping), then again with the M messages enqueued before the scheduler
//      starts (pre-queued: scheduling, dispatch and durable outcomes only). --timeline 1
//      prints progress every 0.5 s.
//      --threads (threadsPerNode of the queue, 500) and --scan-batch (256) tune the engine.
//   2. idle: --idle-recipients N recipients wait deferred (next attempt in 1 h); the loop runs
//      --idle-seconds; prints the process CPU (getrusage) and due-index keys visited.
//
// Prints figures only; never pass/fail.
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "common/libevent_dispatcher.h"
#include "common/logging.h"
#include "queue/queue_store.h"
#include "router/config_loader.h"
#include "scheduler/scheduler.h"

namespace {

using namespace outpost;  // NOLINT: a benchmark's main

class InstantAgent final : public transport::DeliveryAgent {
 public:
  explicit InstantAgent(Dispatcher& d) : d_(d) {}
  void Deliver(transport::DeliveryRequest req, DoneCallback done) override {
    transport::DeliveryResult r;
    transport::RecipientOutcome ok;
    ok.kind = transport::OutcomeKind::kDelivered;
    ok.reply = {250, "2.0.0", "ok"};
    ok.host = "sink.test";
    r.outcomes.assign(req.recipients.size(), ok);
    d_.Post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

 private:
  Dispatcher& d_;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

long Flag(int argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return def;
}

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view) override {}
};

long g_domains = 1;  // recipient domains per message (one transaction per domain)

queue::NewMessage BenchMessage(long rcpts, long serial) {
  queue::NewMessage m;
  m.return_path = "bench@origin.test";
  m.body = "Subject: bench\r\n\r\n" + std::string(1000, 'x') + "\r\n";
  m.source = proto::SOURCE_AUTHENTICATED;
  for (long r = 0; r < rcpts; ++r) {
    queue::NewRecipient nr;
    char addr[96];
    std::snprintf(addr, sizeof(addr), "u%ld_%ld@d%ld.test", r, serial, r % g_domains);
    nr.address = addr;
    m.recipients.push_back(std::move(nr));
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const long messages = Flag(argc, argv, "--messages", 20000);
  const long rcpts = Flag(argc, argv, "--rcpts", 5);
  const long idle_rcpts = Flag(argc, argv, "--idle-recipients", 1000000);
  const long idle_seconds = Flag(argc, argv, "--idle-seconds", 5);
  g_domains = std::max(1L, Flag(argc, argv, "--domains", 1));
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up when piped to a file
  NullSink sink;
  SetLogSink(&sink);  // one line per delivery would measure stderr, not the engine

  std::string dir = "/tmp/outpost-sched-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return 1;
  LibeventDispatcher loop;
  queue::QueueStoreOptions o;
  o.store.path = dir + "/db";
  o.store.min_free_space_bytes = 0;
  auto store = queue::QueueStore::Open(o, loop);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const long threads = Flag(argc, argv, "--threads", 500);
  const std::string json = R"({"server": {"hostname": "bench.test"}, "virtualQueues": [{"name": "remote", "threadsPerNode": )" +
                           std::to_string(threads) + R"(}], "queue": {"mxConcurrency": 100000}})";
  auto config = router::LoadConfig(json, nullptr);
  if (!config.ok()) {
    std::fprintf(stderr, "config: %s\n", config.status().ToString().c_str());
    return 1;
  }
  InstantAgent agent(loop);
  scheduler::AgentMap agents{{router::Route::Kind::kMx, &agent},
                             {router::Route::Kind::kLocal, &agent},
                             {router::Route::Kind::kRelay, &agent}};
  scheduler::SchedulerOptions opts;
  opts.scan_batch = static_cast<size_t>(Flag(argc, argv, "--scan-batch", 256));
  std::unique_ptr<scheduler::Scheduler> sched;

  // ---- 1. throughput ----
  // "end to end": Submit (durable enqueue) and delivery overlap, the clock starts at the first
  // Submit. "pre-queued": everything is enqueued and durable first, the clock starts at
  // Scheduler::Start (schedule + dispatch + durable outcome only).
  const uint64_t total = static_cast<uint64_t>(messages * rcpts);
  const bool timeline = Flag(argc, argv, "--timeline", 0) != 0;
  auto sent_so_far = [&]() {
    uint64_t sent = 0;
    for (const auto& [k, v] : sched->metrics().deliveries) sent += k.first == "sent" ? v : 0;
    return sent;
  };
  auto run = [&](bool prequeued) {
    sched = std::make_unique<scheduler::Scheduler>(
        loop, **store, std::make_shared<const router::Router>(*config), agents, opts);
    const uint64_t synced0 = (*store)->store().synced_writes();
    const uint64_t visited0 = (*store)->due_keys_visited();
    auto t0 = std::chrono::steady_clock::now();
    double cpu0 = CpuSeconds();
    long accepted = 0;
    double accept_secs = 0;
    loop.Post([&]() {
      if (!prequeued) sched->Start();
      for (long i = 0; i < messages; ++i) {
        sched->Submit(BenchMessage(rcpts, i), [&](StatusOr<uint64_t> id) {
          if (id.ok() && ++accepted == messages) {
            accept_secs = Since(t0);
            if (prequeued) loop.Exit();
          }
        });
      }
    });
    if (prequeued) {
      loop.Run();
      t0 = std::chrono::steady_clock::now();
      cpu0 = CpuSeconds();
      loop.Post([&]() { sched->Start(); });
    }
    auto poll = loop.CreateTimer(nullptr);
    double last_tick = 0;
    uint64_t last_sent = 0;
    std::function<void()> check = [&]() {
      const uint64_t sent = sent_so_far();
      if (timeline && Since(t0) - last_tick >= 0.5) {
        last_tick = Since(t0);
        std::printf("    t=%.1f s sent %llu (+%llu) pending writes %zu synced %llu\n", last_tick,
                    static_cast<unsigned long long>(sent),
                    static_cast<unsigned long long>(sent - last_sent), sched->pending_writes(),
                    static_cast<unsigned long long>((*store)->store().synced_writes() - synced0));
        last_sent = sent;
      }
      if (sent >= total && sched->pending_writes() == 0) {
        loop.Exit();
        return;
      }
      poll->Enable(Millis(5));
    };
    poll = loop.CreateTimer([&]() { check(); });
    poll->Enable(Millis(5));
    loop.Run();
    const double secs = Since(t0);
    const double cpu = CpuSeconds() - cpu0;
    std::printf("throughput (%s): %ld messages x %ld recipients (%ld domains) = %llu recipients "
                "in %.2f s\n",
                prequeued ? "pre-queued" : "end to end", messages, rcpts, g_domains,
                static_cast<unsigned long long>(total), secs);
    std::printf("  %.0f recipients/s scheduled+dispatched+completed (durable), %.0f messages/s\n",
                total / secs, messages / secs);
    std::printf("  CPU %.2f s (%.0f%% of one core), %s %.2f s\n", cpu, 100 * cpu / secs,
                prequeued ? "enqueue beforehand took" : "all accepted (durable) after",
                accept_secs);
    std::printf("  due-index keys visited %llu, synced writes %llu\n",
                static_cast<unsigned long long>((*store)->due_keys_visited() - visited0),
                static_cast<unsigned long long>((*store)->store().synced_writes() - synced0));
    poll.reset();
    sched.reset();
  };
  run(false);
  run(true);

  // ---- 2. idle with deferred work ----
  if (idle_rcpts <= 0) {  // --idle-recipients 0: throughput only (nothing would end the fill)
    store->reset();
    std::filesystem::remove_all(dir);
    SetLogSink(nullptr);
    return 0;
  }
  const int64_t later = RealClock::Instance().NowUnixMs() + 3600 * 1000;
  const long per_msg = 100;
  long enqueued = 0, pending = 0;
  auto t1 = std::chrono::steady_clock::now();
  // Enqueue in waves to bound memory; straight into the store with the policy fields set.
  std::function<void()> wave = [&]() {
    while (pending < 64 && enqueued < idle_rcpts) {
      queue::NewMessage m = BenchMessage(std::min(per_msg, idle_rcpts - enqueued), enqueued);
      for (auto& r : m.recipients) {
        r.virtual_queue = "remote";
        r.schedule = "remote";
        r.next_attempt_unix_ms = later;
        r.expiry_unix_ms = later + 3600 * 1000;
      }
      enqueued += static_cast<long>(m.recipients.size());
      ++pending;
      (*store)->Enqueue(std::move(m), [&](StatusOr<uint64_t>) {
        --pending;
        if (enqueued >= idle_rcpts && pending == 0) {
          loop.Exit();
        } else {
          wave();
        }
      });
    }
  };
  loop.Post(wave);
  loop.Run();
  std::printf("idle setup: %ld deferred recipients enqueued in %.1f s\n", enqueued, Since(t1));

  sched = std::make_unique<scheduler::Scheduler>(
      loop, **store, std::make_shared<const router::Router>(*config), agents);
  auto stop = loop.CreateTimer([&]() { loop.Exit(); });
  loop.Post([&]() {
    sched->Start();
    stop->Enable(Millis(200));  // let Start's scan settle before measuring
  });
  loop.Run();
  const uint64_t visited0 = (*store)->due_keys_visited();
  const double cpu2 = CpuSeconds();
  auto t2 = std::chrono::steady_clock::now();
  loop.Post([&]() { stop->Enable(std::chrono::seconds(idle_seconds)); });
  loop.Run();
  const double idle_secs = Since(t2);
  const double idle_cpu = CpuSeconds() - cpu2;
  std::printf("idle: %ld recipients deferred, loop ran %.1f s: CPU %.4f s (%.3f%%), due keys "
              "visited %llu, in flight %zu\n",
              idle_rcpts, idle_secs, idle_cpu, 100 * idle_cpu / idle_secs,
              static_cast<unsigned long long>((*store)->due_keys_visited() - visited0),
              sched->in_flight_transactions());
  sched.reset();
  stop.reset();
  store->reset();
  std::filesystem::remove_all(dir);
  SetLogSink(nullptr);
  return 0;
}
