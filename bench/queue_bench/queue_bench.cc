// queue_bench: prints figures for the durable queue (never pass/fail).
//   queue_bench [--dir D] [--messages N] [--scan-recipients N] [--skip-enqueue] [--skip-scan]
// 1. Durable enqueue throughput, 1/8/64 concurrent producers x 2 KiB/50 KiB bodies, with group
//    commit and with one fsync per message (the writer limited to one batch per write).
// 2. Time to pick 1,000 due recipients out of N queued (default 1,000,000).
// 3. Store open + recovery time at N recipients, and peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/fake_dispatcher.h"
#include "queue/queue_store.h"

namespace outpost {
namespace {

using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

long PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

queue::NewMessage Message(int64_t now, size_t body_bytes, int recipients, int64_t due) {
  queue::NewMessage m;
  m.return_path = "bench@example.org";
  m.body.assign(body_bytes, 'x');
  m.received_unix_ms = now;
  m.source = proto::SOURCE_AUTHENTICATED;
  for (int i = 0; i < recipients; ++i) {
    queue::NewRecipient r;
    r.address = "rcpt" + std::to_string(i) + "@d" + std::to_string(i % 50) + ".example";
    r.virtual_queue = "remote";
    r.schedule = "remote";
    r.next_attempt_unix_ms = due;
    r.expiry_unix_ms = due + 5LL * 86400 * 1000;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

std::unique_ptr<queue::QueueStore> OpenStore(const std::string& path, Dispatcher& d,
                                             bool group_commit, bool flush_on_close = true) {
  queue::QueueStoreOptions o;
  o.store.path = path;
  o.store.flush_on_close = flush_on_close;
  o.store.min_free_space_bytes = 0;
  if (!group_commit) o.store.max_group_bytes = 0;  // every batch alone: one fsync each
  auto q = queue::QueueStore::Open(o, d);
  if (!q.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), q.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(q).value();
}

// Keeps `producers` enqueues outstanding until `total` completed. Returns messages/s.
double RunEnqueue(queue::QueueStore& qs, FakeDispatcher& loop, int producers, int total,
                  size_t body_bytes, uint64_t* syncs) {
  int started = 0, done = 0, failed = 0;
  const uint64_t syncs_before = qs.store().synced_writes();
  std::function<void()> start_one = [&] {
    ++started;
    qs.Enqueue(Message(loop.clock().NowUnixMs(), body_bytes, 1, loop.clock().NowUnixMs()),
               [&](StatusOr<uint64_t> r) {
                 ++done;
                 failed += r.ok() ? 0 : 1;
                 if (started < total) start_one();
               });
  };
  auto t0 = Steady::now();
  for (int i = 0; i < producers && started < total; ++i) start_one();
  while (done < total) loop.RunUntil([&] { return done >= total; }, std::chrono::seconds(60));
  auto t1 = Steady::now();
  if (failed) std::fprintf(stderr, "%d enqueues failed\n", failed);
  *syncs = qs.store().synced_writes() - syncs_before;
  return total / Seconds(t0, t1);
}

void EnqueueTable(const std::string& dir, int messages) {
  std::printf("\n## Durable enqueue (1 recipient, synced; %d messages per row)\n\n", messages);
  std::printf("| body | producers | mode | msgs/s | fsyncs | msgs/fsync |\n");
  std::printf("|---|---|---|---|---|---|\n");
  FakeClock clock;
  FakeDispatcher loop(clock);
  for (size_t body : {size_t{2048}, size_t{50 * 1024}}) {
    for (bool group : {true, false}) {
      for (int producers : {1, 8, 64}) {
        if (!group && producers != 64) continue;  // the baseline: one fsync per message
        const std::string path = dir + "/enqueue-" + std::to_string(body) + "-" +
                                 std::to_string(producers) + (group ? "-g" : "-s");
        std::filesystem::remove_all(path);
        auto qs = OpenStore(path, loop, group);
        const int n = producers == 1 || !group ? std::max(200, messages / 5) : messages;
        uint64_t syncs = 0;
        double rate = RunEnqueue(*qs, loop, producers, n, body, &syncs);
        std::printf("| %zu KiB | %d | %s | %.0f | %llu | %.1f |\n", body / 1024, producers,
                    group ? "group commit" : "fsync per message", rate,
                    static_cast<unsigned long long>(syncs), syncs ? double(n) / syncs : 0.0);
        std::fflush(stdout);
        qs.reset();
        std::filesystem::remove_all(path);
      }
    }
  }
}

void ScanAndRecovery(const std::string& dir, int recipients) {
  const std::string path = dir + "/scan";
  std::filesystem::remove_all(path);
  FakeClock clock;
  FakeDispatcher loop(clock);
  const int64_t now = clock.NowUnixMs();
  constexpr int kPerMessage = 100;
  const int messages = recipients / kPerMessage;
  const int due_messages = 1000 / kPerMessage;  // 1,000 recipients due now
  {
    auto qs = OpenStore(path, loop, true, /*flush_on_close=*/false);
    auto t0 = Steady::now();
    int started = 0, done = 0;
    std::function<void()> start_one = [&] {
      int i = started++;
      // Due ones spread through the id range so nothing about position helps.
      bool due_now = i % (messages / due_messages) == 0;
      qs->Enqueue(Message(now, 2048, kPerMessage, due_now ? now : now + 3600 * 1000 + i),
                  [&](StatusOr<uint64_t> r) {
                    if (!r.ok()) std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
                    ++done;
                    if (started < messages) start_one();
                  });
    };
    for (int i = 0; i < 64 && started < messages; ++i) start_one();
    while (done < messages) loop.RunUntil([&] { return done >= messages; });
    std::printf("\n## Due scan and recovery at %d recipients (%d messages x %d)\n\n", recipients,
                messages, kPerMessage);
    std::printf("- fill: %.1f s (%.0f recipients/s)\n", Seconds(t0, Steady::now()),
                recipients / Seconds(t0, Steady::now()));
    auto s0 = Steady::now();
    auto due = qs->DueScan("remote", now, 1000);
    auto s1 = Steady::now();
    std::printf("- pick 1,000 due (warm, same process): %.2f ms, got %zu, keys visited %llu\n",
                Seconds(s0, s1) * 1000, due.ok() ? due->size() : 0,
                static_cast<unsigned long long>(qs->due_keys_visited()));
  }
  // The fill store above closed without flushing (like a crash): first open replays the WAL.
  for (const char* how : {"after crash (WAL replay)", "after clean shutdown"}) {
    auto o0 = Steady::now();
    auto qs = OpenStore(path, loop, true);
    auto o1 = Steady::now();
    auto due = qs->LeaseDue("remote", now, 1000);
    auto o2 = Steady::now();
    auto stats = qs->Stats();
    auto o3 = Steady::now();
    std::printf("- open + recovery %s: %.0f ms\n", how, Seconds(o0, o1) * 1000);
    std::printf(
        "  - then pick + lease 1,000 due: %.2f ms (got %zu); Stats: %.2f ms (%lld "
        "scheduled)\n",
        Seconds(o1, o2) * 1000, due.ok() ? due->size() : 0, Seconds(o2, o3) * 1000,
        stats.ok() ? static_cast<long long>(stats->by_state["scheduled"]) : -1LL);
  }
  std::filesystem::remove_all(path);
}

}  // namespace
}  // namespace outpost

int main(int argc, char** argv) {
  std::string dir = "/tmp/outpost-queue-bench";
  int messages = 5000;
  int scan_recipients = 1000000;
  bool enqueue = true, scan = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir")
      dir = next();
    else if (a == "--messages")
      messages = std::stoi(next());
    else if (a == "--scan-recipients")
      scan_recipients = std::stoi(next());
    else if (a == "--skip-enqueue")
      enqueue = false;
    else if (a == "--skip-scan")
      scan = false;
    else {
      std::fprintf(stderr,
                   "usage: queue_bench [--dir D] [--messages N] [--scan-recipients N] "
                   "[--skip-enqueue] [--skip-scan]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  if (enqueue) outpost::EnqueueTable(dir, messages);
  if (scan) outpost::ScanAndRecovery(dir, scan_recipients);
  std::printf("\n- peak RSS: %ld MB\n", outpost::PeakRssMb());
  std::filesystem::remove_all(dir);
  return 0;
}
