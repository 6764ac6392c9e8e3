// Decisions per second for the seed 004 strategy, with the route expression grown to 10 and
// 100 rules (per-domain relays in front of the seed's local/mx rule). Prints figures only.
//
//   router_bench [seconds_per_case]   (default 1)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "router/config_loader.h"
#include "router/router.h"

namespace {

using outpost::router::Envelope;
using outpost::router::Router;

// `indexable`: per-domain rules `rcpt_domain == '...'` (answered by one hash lookup per run);
// otherwise `ends_with(rcpt_domain, '...')`, which must be tested rule by rule.
std::string ConfigWithRules(int rules, bool indexable) {
  std::string routes = R"j({"@type": "Local", "name": "local"}, {"@type": "Mx", "name": "mx"})j";
  std::string match;
  // rules-1 relay rules, then the seed's is_local_domain rule.
  for (int i = 0; i + 1 < rules; ++i) {
    std::string n = std::to_string(i);
    routes += R"j(, {"@type": "Relay", "name": "relay-)j" + n + R"j(", "address": "127.0.0.1"})j";
    std::string domain = "customer-" + n + ".example";
    std::string cond = indexable ? "rcpt_domain == '" + domain + "'"
                                 : "ends_with(rcpt_domain, '" + domain + "')";
    match += R"j({"if": ")j" + cond + R"j(", "then": "'relay-)j" + n + R"j('"}, )j";
  }
  match += R"j({"if": "is_local_domain('', rcpt_domain)", "then": "'local'"})j";
  return R"j({"localDomains": ["example.org"], "routes": [)j" + routes +
         R"j(], "strategy": {"route": {"match": [)j" + match + R"j(], "else": "'mx'"},
    "schedule": {"match": [{"if": "is_local_domain('*', rcpt_domain)", "then": "'local'"},
                           {"if": "source == 'dsn'", "then": "'dsn'"},
                           {"if": "source == 'report'", "then": "'report'"}], "else": "'remote'"},
    "connection": {"match": [{"if": "retry_num > 0 && last_error == 'connection'", "then": "'long-timeout'"}], "else": "'default'"},
    "tls": {"match": [{"if": "retry_num > 0 && last_error == 'tls'", "then": "'invalid-tls'"}], "else": "'default'"}},
  "connectionStrategies": [{"name": "long-timeout", "connectTimeout": "15m"}]})j";
}

struct Recipient {
  std::string address, domain;
};

template <typename F>
double PerSecond(double seconds, F&& decide) {
  using Clock = std::chrono::steady_clock;
  uint64_t n = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (true) {
    for (int i = 0; i < 1000; ++i) decide(n++);
    if (Clock::now() >= deadline) break;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  for (auto [rules, indexable] : {std::pair{10, true}, {100, true}, {10, false}, {100, false}}) {
    auto config = outpost::router::LoadConfig(ConfigWithRules(rules, indexable), nullptr);
    if (!config.ok()) {
      std::fprintf(stderr, "config: %s\n", config.status().message().c_str());
      return 1;
    }
    Router router(*config);
    // A mix: half fall through every rule to 'mx' (the worst case), the rest spread over the
    // relay rules and the local rule.
    std::vector<Recipient> rcpts;
    for (int i = 0; i < 64; ++i) {
      std::string domain = i % 2 ? "remote-" + std::to_string(i) + ".net"
                         : i % 8 == 0 ? std::string("example.org")
                                      : "customer-" + std::to_string(i % (rules - 1)) + ".example";
      rcpts.push_back({"user@" + domain, domain});
    }
    std::vector<Envelope> envs(rcpts.size());
    for (size_t i = 0; i < rcpts.size(); ++i) {
      envs[i].rcpt = rcpts[i].address;
      envs[i].rcpt_domain = rcpts[i].domain;
      envs[i].retry_num = static_cast<int64_t>(i % 3);
      envs[i].last_error = i % 3 ? "tls" : "none";
    }
    uint64_t sink = 0;
    double route = PerSecond(seconds, [&](uint64_t n) {
      auto d = router.DecideRoute(envs[n % envs.size()]);
      sink += d.ok() ? d->object->name.size() : 0;
    });
    Envelope worst = envs[1];  // matches no rule: every condition evaluated
    double route_worst = PerSecond(seconds, [&](uint64_t) {
      auto d = router.DecideRoute(worst);
      sink += d.ok() ? d->object->name.size() : 0;
    });
    double all_four = PerSecond(seconds, [&](uint64_t n) {
      const Envelope& env = envs[n % envs.size()];
      auto r = router.DecideRoute(env);
      auto s = router.DecideSchedule(env);
      auto c = router.DecideConnection(env);
      auto t = router.DecideTls(env);
      sink += r.ok() + s.ok() + c.ok() + t.ok();
    });
    const char* kind = indexable ? "rcpt_domain == '..'" : "ends_with(rcpt_domain, ..)";
    std::printf("%3d rules %-26s route decisions/s, mixed recipients: %11.0f\n", rules, kind, route);
    std::printf("%3d rules %-26s route decisions/s, no rule matches:  %11.0f\n", rules, kind,
                route_worst);
    std::printf("%3d rules %-26s route+schedule+connection+tls /s:    %11.0f\n", rules, kind,
                all_four);
    if (sink == 42) std::printf(" \n");
  }
  return 0;
}
