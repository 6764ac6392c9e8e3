#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "router/config.h"
#include "router/envelope.h"
#include "router/value.h"

namespace outpost::router {

// The outcome of one strategy expression: the object it named (owned by the Config, valid
// while the Router's config is held), which rule matched (index, or -1 for else) and the
// variables the evaluation read.
template <typename T>
struct Decision {
  const T* object = nullptr;
  int rule = -1;
  VariableMask variables_read = 0;
};

// Evaluates the four strategy expressions of a Config (DESIGN.md §3).
//
// Route and schedule are evaluated per recipient (RCPT variables); connection and tls per
// host (the Envelope's mx/remote_ip/local_ip set as far as known). Every Decide* is const,
// allocation-light and safe to call from any thread. A computed name that names no object, or
// a non-string result, is a NotFound error: the scheduler turns it into a temporary failure
// with last_error 'config' (DESIGN.md §4) — never a silent fallback.
//
// Hold a Router as std::shared_ptr<const Router>; a SIGHUP reload builds a new one from the
// new Config and swaps the pointer atomically (std::atomic_store); decisions in flight keep
// the old config alive through their copy of the pointer.
class Router {
 public:
  explicit Router(std::shared_ptr<const Config> config) : config_(std::move(config)) {}

  StatusOr<Decision<Route>> DecideRoute(const Envelope& env) const;
  StatusOr<Decision<Schedule>> DecideSchedule(const Envelope& env) const;
  StatusOr<Decision<ConnectionStrategy>> DecideConnection(const Envelope& env) const;
  StatusOr<Decision<TlsStrategy>> DecideTls(const Envelope& env) const;

  const Config& config() const { return *config_; }
  const std::shared_ptr<const Config>& shared_config() const { return config_; }

 private:
  std::shared_ptr<const Config> config_;
};

// Why each strategy chose what it chose: for `route explain` (CLI and admin API).
struct ExplainedDecision {
  std::string name;   // "" when error is set
  int rule = -1;      // matching rule index, -1 = else
  std::vector<std::pair<std::string, Value>> variables;  // variables read (owned), slot order
  std::string error;  // non-empty when the decision failed (unknown computed name, ...)
  // tls only: the settings of the chosen strategy and which policies (DANE, MTA-STS) would
  // apply on the chosen route, as (key, text) pairs in display order.
  std::vector<std::pair<std::string, std::string>> policy;
};

struct Explanation {
  ExplainedDecision route, schedule, connection, tls;
  bool ok() const {
    return route.error.empty() && schedule.error.empty() && connection.error.empty() &&
           tls.error.empty();
  }
};

Explanation Explain(const Router& router, const Envelope& env);

// What `route explain` asks about (CLI and admin API): one recipient of a hypothetical
// message; fields left alone keep a fresh recipient's first-attempt values.
struct ExplainQuery {
  std::string rcpt;
  std::string sender;
  int64_t retry_num = 0;
  std::string last_error = "none";
  std::string source = "unauthenticated";
  std::string mx;
  std::string remote_ip;
};
// Builds the Envelope for `query` (addresses normalized) and explains it.
Explanation Explain(const Router& router, const ExplainQuery& query);

// DESIGN.md §6 shape: {"route": {"name", "rule", "variables": {...}}, "schedule": ...,
// "connection": ..., "tls": ...}; "rule" is the index of the matching if or "else"; a failed
// decision has "error" instead of "name".
std::string ExplanationToJson(const Explanation& e);
// Human-readable, one line per decision.
std::string ExplanationToText(const Explanation& e);

}  // namespace outpost::router
