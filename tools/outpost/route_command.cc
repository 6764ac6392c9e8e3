// `outpost route explain`: which route, schedule, connection and TLS strategy apply to a
// recipient, and which rule matched (DESIGN.md §6).
#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

#include "router/config_loader.h"
#include "router/router.h"
#include "tools/outpost/args.h"
#include "tools/outpost/cli.h"

namespace outpost::cli {
namespace {

constexpr const char* kUsage =
    "usage: outpost route explain --config F --rcpt A [--sender S] [--retry-num N]\n"
    "         [--last-error E] [--source S] [--mx H] [--remote-ip IP] [--json]\n"
    "       (--config defaults to $OUTPOST_CONFIG)\n";

bool ParseCount(const std::string& s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

int Usage(Io& io, const std::string& why) {
  if (!why.empty()) io.err << "outpost route: " << why << "\n";
  io.err << kUsage;
  return kExitUsage;
}

}  // namespace

int RunRouteCommand(std::span<const std::string> args, Io& io) {
  auto parsed = Args::Parse(
      args, {"config", "rcpt", "sender", "retry-num", "last-error", "source", "mx", "remote-ip"},
      {"json"});
  if (!parsed.ok()) return Usage(io, parsed.status().message());
  const Args& a = *parsed;
  if (a.positional().size() != 1 || a.positional()[0] != "explain") return Usage(io, "");
  std::optional<std::string> config_path = a.Get("config");
  if (!config_path) {
    if (const char* env = std::getenv("OUTPOST_CONFIG")) config_path = env;
  }
  if (!config_path) return Usage(io, "--config is required");
  std::optional<std::string> rcpt = a.Get("rcpt");
  if (!rcpt || rcpt->empty()) return Usage(io, "--rcpt is required");
  int64_t retry_num = 0;
  if (auto r = a.Get("retry-num"); r && !ParseCount(*r, &retry_num)) {
    return Usage(io, "--retry-num must be a non-negative integer");
  }

  // Policy evaluation needs no secrets: they are not resolved (an unset admin token
  // variable must not stop an explanation).
  auto config = router::LoadConfigFile(*config_path, nullptr);
  if (!config.ok()) {
    io.err << config.status().message() << "\n";
    return kExitFailure;
  }
  router::Router router(*config);

  router::ExplainQuery query;
  query.rcpt = *rcpt;
  query.sender = a.Get("sender").value_or("");
  query.retry_num = retry_num;
  query.last_error = a.Get("last-error").value_or("none");
  query.source = a.Get("source").value_or("unauthenticated");
  query.mx = a.Get("mx").value_or("");
  query.remote_ip = a.Get("remote-ip").value_or("");

  router::Explanation e = router::Explain(router, query);
  if (a.Has("json")) {
    io.out << router::ExplanationToJson(e);
  } else {
    io.out << router::ExplanationToText(e);
  }
  if (!e.ok()) {
    io.err << "outpost route: a strategy named no existing object (see \"error\")\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace outpost::cli
