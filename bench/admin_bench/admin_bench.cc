// admin_bench: prints figures for the admin API (never pass/fail).
//   admin_bench [--dir D] [--messages N] [--per-message K] [--failed-messages F]
// Fills a store with N messages x K queued recipients (default 100,000 x 10 = 1,000,000) plus
// F messages x K failed recipients (default 10,000 x 10 = 100,000), serves it with the real
// AdminApi + AdminHttpServer on 127.0.0.1, and times over real HTTP (and directly on the
// store): the first page of `queue list`, `queue stats`, /metrics, and a replay of every
// failed recipient in pages of 1,000 messages, printing its progress.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "queue/queue_store.h"
#include "router/config_loader.h"
#include "router/json.h"
#include "router/router.h"
#include "scheduler/scheduler.h"
#include "tools/admin/admin_api.h"
#include "tools/admin/admin_http_server.h"
#include "tools/outpost/admin_client.h"

namespace outpost {
namespace {

using Steady = std::chrono::steady_clock;
namespace rj = ::outpost::router::rj;

double Ms(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The loop runs on its own thread; the benchmark body is the HTTP client on the main thread.
class Loop {
 public:
  Loop() {
    thread_ = std::thread([this]() {
      keepalive_ = loop.CreateTimer([]() {});
      keepalive_->Enable(std::chrono::hours(24));
      loop.Run();
    });
  }
  ~Loop() {
    Sync([this]() { keepalive_.reset(); });
    loop.Exit();
    thread_.join();
  }
  // Runs `fn` on the loop and waits until it calls its `done`.
  void Async(std::function<void(std::function<void()>)> fn) {
    std::promise<void> p;
    loop.Post([&]() { fn([&p]() { p.set_value(); }); });
    p.get_future().wait();
  }
  void Sync(std::function<void()> fn) {
    Async([&](std::function<void()> done) {
      fn();
      done();
    });
  }
  LibeventDispatcher loop;

 private:
  std::thread thread_;
  std::unique_ptr<Timer> keepalive_;
};

queue::NewMessage Message(int64_t now, int recipients, const std::string& domain_prefix,
                          const std::string& queue, int64_t due, int seq) {
  queue::NewMessage m;
  m.return_path = "bench@origin.example";
  m.body.assign(2048, 'x');
  m.received_unix_ms = now;
  m.source = proto::SOURCE_AUTHENTICATED;
  for (int i = 0; i < recipients; ++i) {
    queue::NewRecipient r;
    r.address = "rcpt" + std::to_string(i) + "@" + domain_prefix +
                std::to_string((seq + i) % 50) + ".example";
    r.virtual_queue = queue;
    r.schedule = "remote";
    r.next_attempt_unix_ms = due;
    r.expiry_unix_ms = now + 5LL * 86400 * 1000;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

// Enqueues `messages` messages with 64 in flight (group commit). Loop thread.
void Fill(queue::QueueStore& qs, Dispatcher& d, int messages, int per_message,
          const std::string& domain_prefix, const std::string& queue, int64_t due,
          std::function<void()> done) {
  struct State {
    int started = 0, finished = 0, failed = 0;
    std::function<void()> start_one;
  };
  auto st = std::make_shared<State>();
  const int64_t now = d.clock().NowUnixMs();
  st->start_one = [&qs, st, messages, per_message, domain_prefix, queue, due, now, done]() {
    int seq = st->started++;
    qs.Enqueue(Message(now, per_message, domain_prefix, queue, due, seq),
               [st, messages, done](StatusOr<uint64_t> r) {
                 st->failed += r.ok() ? 0 : 1;
                 if (++st->finished == messages) {
                   if (st->failed) std::fprintf(stderr, "%d enqueues failed\n", st->failed);
                   auto keep = st;  // breaks the cycle below after the last use
                   keep->start_one = nullptr;
                   done();
                   return;
                 }
                 if (st->started < messages) st->start_one();
               });
  };
  for (int i = 0; i < 64 && st->started < messages; ++i) st->start_one();
}

// Leases every due recipient of `queue` and records a permanent failure for it. Loop thread.
void FailAll(queue::QueueStore& qs, Dispatcher& d, const std::string& queue,
             std::function<void()> done) {
  auto items = qs.LeaseDue(queue, d.clock().NowUnixMs() + 1000, 100000000);
  if (!items.ok()) {
    std::fprintf(stderr, "lease: %s\n", items.status().ToString().c_str());
    return done();
  }
  std::map<uint64_t, std::vector<uint32_t>> by_msg;
  for (const auto& it : *items) by_msg[it.rcpt.msg_id].push_back(it.rcpt.idx);
  auto left = std::make_shared<size_t>(by_msg.size());
  if (by_msg.empty()) return done();
  const int64_t now = d.clock().NowUnixMs();
  for (const auto& [id, idxs] : by_msg) {
    queue::OutcomeBatch b;
    b.msg_id = id;
    for (uint32_t idx : idxs) {
      queue::RecipientChange c;
      c.idx = idx;
      c.new_state = queue::RecipientState::kFailed;
      queue::AttemptInfo a;
      a.at_unix_ms = now;
      a.kind = queue::OutcomeKind::kPermanent;
      a.route = "mx";
      a.host = "mx.fail.example";
      a.reply_code = 550;
      a.reply_enhanced = "5.1.1";
      a.reply_text = "no such user";
      a.error_class = "unexpected-reply";
      c.attempt = a;
      c.retry_increment = 1;
      b.changes.push_back(std::move(c));
    }
    qs.ApplyOutcome(std::move(b), [left, done](StatusOr<queue::OutcomeResult> r) {
      if (!r.ok()) std::fprintf(stderr, "outcome: %s\n", r.status().ToString().c_str());
      if (--*left == 0) done();
    });
  }
}

// Median of `runs` timings of `fn` (ms).
double Median(int runs, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto a = Steady::now();
    fn();
    t.push_back(Ms(a, Steady::now()));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

uint64_t UintOf(const std::string& body, const char* key) {
  rj::Document d;
  d.Parse(body.c_str());
  return !d.HasParseError() && d.IsObject() && d.HasMember(key) && d[key].IsUint64()
             ? d[key].GetUint64()
             : 0;
}

std::string StrOf(const std::string& body, const char* key) {
  rj::Document d;
  d.Parse(body.c_str());
  return !d.HasParseError() && d.IsObject() && d.HasMember(key) && d[key].IsString()
             ? d[key].GetString()
             : "";
}

int Main(int argc, char** argv) {
  std::string dir = "/tmp/outpost-admin-bench";
  int messages = 100000, per_message = 10, failed_messages = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--messages")) messages = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--per-message")) per_message = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--failed-messages")) failed_messages = std::atoi(argv[i + 1]);
  }
  std::filesystem::remove_all(dir);
  const char* kToken = "bench";
  Loop l;
  std::unique_ptr<queue::QueueStore> qs;
  std::unique_ptr<scheduler::Scheduler> sched;
  std::unique_ptr<admin::AdminApi> api;
  std::unique_ptr<admin::AdminHttpServer> http;
  l.Sync([&]() {
    queue::QueueStoreOptions o;
    o.store.path = dir;
    o.store.min_free_space_bytes = 0;
    auto s = queue::QueueStore::Open(o, l.loop);
    if (!s.ok()) {
      std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
      std::exit(1);
    }
    qs = std::move(*s);
    auto config = router::LoadConfig("{}", nullptr);
    auto router = std::make_shared<const router::Router>(*config);
    // Not started: nothing is delivered while the benchmark runs; operator actions still work.
    sched = std::make_unique<scheduler::Scheduler>(l.loop, *qs, router, scheduler::AgentMap{});
    admin::AdminApiOptions ao;
    ao.token = kToken;
    api = std::make_unique<admin::AdminApi>(l.loop, *qs, *sched, ao);
    admin::AdminHttpOptions ho;
    ho.bind = "127.0.0.1:0";
    auto started = admin::AdminHttpServer::Start(l.loop, *api, ho);
    if (!started.ok()) {
      std::fprintf(stderr, "admin: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    http = std::move(*started);
  });
  auto client = *cli::AdminClient::Create("http://127.0.0.1:" + std::to_string(http->port()),
                                          kToken);

  std::printf("# admin_bench: %d x %d queued recipients, %d x %d failed\n\n", messages,
              per_message, failed_messages, per_message);
  auto t0 = Steady::now();
  const int64_t later = l.loop.clock().NowUnixMs() + 3600 * 1000;
  l.Async([&](auto done) { Fill(*qs, l.loop, messages, per_message, "d", "remote", later, done); });
  auto t1 = Steady::now();
  l.Async([&](auto done) {
    Fill(*qs, l.loop, failed_messages, per_message, "fail", "failq", 0, done);
  });
  l.Async([&](auto done) { FailAll(*qs, l.loop, "failq", done); });
  auto t2 = Steady::now();
  const long total = static_cast<long>(messages + failed_messages) * per_message;
  std::printf("| step | figure |\n|---|---|\n");
  std::printf("| fill %ld queued recipients | %.1f s |\n",
              static_cast<long>(messages) * per_message, Ms(t0, t1) / 1000);
  std::printf("| fill + fail %ld recipients | %.1f s |\n",
              static_cast<long>(failed_messages) * per_message, Ms(t1, t2) / 1000);
  std::fflush(stdout);

  std::string body;
  double list_store = Median(5, [&]() {
    l.Sync([&]() {
      queue::ListOptions lo;
      lo.limit = 100;
      auto page = qs->List(lo);
      if (!page.ok() || page->items.size() != 100) std::fprintf(stderr, "list failed\n");
    });
  });
  double list_http = Median(5, [&]() { body = client.Get("/api/queue/messages?limit=100")->body; });
  std::printf("| list first page (100 messages), store | %.2f ms |\n", list_store);
  std::printf("| list first page (100 messages), HTTP + JSON (%zu bytes) | %.2f ms |\n",
              body.size(), list_http);
  double list_filter = Median(5, [&]() {
    body = client.Get("/api/queue/messages?limit=100&state=failed&rcptDomain=fail7.example")->body;
  });
  std::printf("| list first page, filter state=failed rcptDomain=fail7.example, HTTP | %.2f ms |\n",
              list_filter);
  double stats_store = Median(5, [&]() { l.Sync([&]() { (void)qs->Stats(10); }); });
  double stats_http = Median(5, [&]() { body = client.Get("/api/queue/stats")->body; });
  std::printf("| stats, store | %.2f ms |\n| stats, HTTP + JSON | %.2f ms |\n", stats_store,
              stats_http);
  double metrics_http = Median(5, [&]() { body = client.Get("/metrics")->body; });
  std::printf("| /metrics, HTTP | %.2f ms |\n", metrics_http);
  std::fflush(stdout);

  auto d0 = Steady::now();
  body = client.Post("/api/queue/replay", R"({"dryRun": true})")->body;
  auto d1 = Steady::now();
  const uint64_t to_replay = UintOf(body, "recipients");
  std::printf("| replay dry run: %llu failed recipients in %llu messages | %.0f ms |\n",
              static_cast<unsigned long long>(to_replay),
              static_cast<unsigned long long>(UintOf(body, "messages")), Ms(d0, d1));
  std::fflush(stdout);

  // The replay itself, one page of 1,000 messages per request, with progress (as the CLI).
  std::string cursor;
  uint64_t changed = 0, pages = 0;
  double slowest_page = 0;
  auto r0 = Steady::now();
  do {
    auto p0 = Steady::now();
    body = client.Post("/api/queue/replay",
                       R"({"maxMessages": 1000, "cursor": ")" + cursor + "\"}")->body;
    slowest_page = std::max(slowest_page, Ms(p0, Steady::now()));
    changed += UintOf(body, "changed");
    cursor = StrOf(body, "cursor");
    ++pages;
    std::fprintf(stderr, "\rreplay: %llu/%llu recipients", static_cast<unsigned long long>(changed),
                 static_cast<unsigned long long>(to_replay));
  } while (!cursor.empty());
  auto r1 = Steady::now();
  std::fprintf(stderr, "\n");
  std::printf("| replay %llu failed recipients, %llu pages | %.1f s (%.0f recipients/s, slowest page %.0f ms) |\n",
              static_cast<unsigned long long>(changed), static_cast<unsigned long long>(pages),
              Ms(r0, r1) / 1000, changed / (Ms(r0, r1) / 1000), slowest_page);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("| peak RSS | %ld MB |\n| total recipients stored | %ld |\n", ru.ru_maxrss / 1024,
              total);
  l.Sync([&]() {
    http.reset();
    api.reset();
    sched.reset();
    qs.reset();
  });
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace outpost

int main(int argc, char** argv) { return outpost::Main(argc, argv); }
