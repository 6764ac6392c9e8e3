#include "router/router.h"

#include "router/json.h"

namespace outpost::router {
namespace {

// Evaluation memory reused across calls on the same thread (no steady-state allocation).
EvalScratch& Scratch() {
  thread_local EvalScratch scratch;
  return scratch;
}

template <typename T>
StatusOr<Decision<T>> Decide(const Config& config, const CompiledStrategy& strategy,
                             const std::vector<T>& objects, const StringMap<int>& index,
                             std::string_view kind, const Envelope& env) {
  EvalScratch& scratch = Scratch();
  scratch.read = 0;
  EvalInputs in{&env, &config.lookups};
  IfBlock::Result r = strategy.block.Evaluate(in, scratch);
  Decision<T> d;
  d.rule = r.rule;
  d.variables_read = scratch.read;
  int target = r.rule >= 0 ? strategy.rule_targets[r.rule] : strategy.else_target;
  if (target >= 0) {
    d.object = &objects[target];
    return d;
  }
  std::string rule = r.rule >= 0 ? "rule " + std::to_string(r.rule) : std::string("else");
  if (!r.value.is_string()) {
    return Status::NotFound("strategy." + std::string(kind) + " (" + rule + ") returned " +
                            r.value.ToString() + ", which is not a " + std::string(kind) +
                            " name");
  }
  auto it = index.find(r.value.str());
  if (it == index.end()) {
    return Status::NotFound("strategy." + std::string(kind) + " (" + rule + ") returned '" +
                            std::string(r.value.str()) + "', but no " + std::string(kind) +
                            " has that name");
  }
  d.object = &objects[it->second];
  return d;
}

std::vector<std::pair<std::string, Value>> DescribeVariables(VariableMask mask,
                                                             const Envelope& env) {
  std::vector<std::pair<std::string, Value>> out;
  for (int i = 0; i < static_cast<int>(Variable::kCount); ++i) {
    auto v = static_cast<Variable>(i);
    if ((mask & VariableBit(v)) != 0) {
      out.emplace_back(std::string(VariableName(v)), ReadVariable(v, env).Detached());
    }
  }
  return out;
}

template <typename Writer>
void WriteValue(Writer& w, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kInteger:
      w.Int64(v.integer());
      break;
    case Value::Kind::kFloat:
      w.Double(v.floating());
      break;
    case Value::Kind::kString:
      w.String(v.str().data(), static_cast<rj::SizeType>(v.str().size()));
      break;
    case Value::Kind::kArray:
      w.StartArray();
      for (const Value& item : v.array()) WriteValue(w, item);
      w.EndArray();
      break;
  }
}

template <typename T>
ExplainedDecision ExplainOne(const StatusOr<Decision<T>>& d, const Envelope& env) {
  ExplainedDecision out;
  if (!d.ok()) {
    out.error = d.status().message();
    return out;
  }
  out.name = d->object->name;
  out.rule = d->rule;
  out.variables = DescribeVariables(d->variables_read, env);
  return out;
}

template <typename Writer>
void WriteDecision(Writer& w, const char* key, const ExplainedDecision& d) {
  w.Key(key);
  w.StartObject();
  if (!d.error.empty()) {
    w.Key("error");
    w.String(d.error.c_str(), static_cast<rj::SizeType>(d.error.size()));
  } else {
    w.Key("name");
    w.String(d.name.c_str(), static_cast<rj::SizeType>(d.name.size()));
    w.Key("rule");
    if (d.rule >= 0) {
      w.Int(d.rule);
    } else {
      w.String("else");
    }
    w.Key("variables");
    w.StartObject();
    for (const auto& [name, value] : d.variables) {
      w.Key(name.c_str(), static_cast<rj::SizeType>(name.size()));
      WriteValue(w, value);
    }
    w.EndObject();
  }
  if (!d.policy.empty()) {
    w.Key("policy");
    w.StartObject();
    for (const auto& [name, value] : d.policy) {
      w.Key(name.c_str(), static_cast<rj::SizeType>(name.size()));
      w.String(value.c_str(), static_cast<rj::SizeType>(value.size()));
    }
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace

StatusOr<Decision<Route>> Router::DecideRoute(const Envelope& env) const {
  return Decide(*config_, config_->route_strategy, config_->routes, config_->route_index, "route",
                env);
}

StatusOr<Decision<Schedule>> Router::DecideSchedule(const Envelope& env) const {
  return Decide(*config_, config_->schedule_strategy, config_->schedules,
                config_->schedule_index, "schedule", env);
}

StatusOr<Decision<ConnectionStrategy>> Router::DecideConnection(const Envelope& env) const {
  return Decide(*config_, config_->connection_strategy, config_->connection_strategies,
                config_->connection_index, "connection", env);
}

StatusOr<Decision<TlsStrategy>> Router::DecideTls(const Envelope& env) const {
  return Decide(*config_, config_->tls_strategy, config_->tls_strategies, config_->tls_index,
                "tls", env);
}

Explanation Explain(const Router& router, const ExplainQuery& query) {
  SplitAddressResult to = NormalizeAddress(query.rcpt);
  SplitAddressResult from = NormalizeAddress(query.sender);
  std::vector<std::string> recipients = {to.address};
  Envelope env;
  env.rcpt = to.address;
  env.rcpt_domain = to.domain;
  env.recipients = recipients;
  env.sender = from.address;
  env.sender_domain = from.domain;
  env.retry_num = query.retry_num;
  env.last_error = query.last_error;
  env.source = query.source;
  env.mx = query.mx;
  env.remote_ip = query.remote_ip;
  return Explain(router, env);
}

namespace {

// The TLS policy that would apply (DESIGN.md §3, docs/TLS-POLICY.md): DANE and MTA-STS are
// looked up per MX host on Mx routes only; a relay route that would require them is an error.
void DescribeTlsPolicy(const StatusOr<Decision<Route>>& route, const TlsStrategy& s,
                       ExplainedDecision* out) {
  auto ms = [](Millis m) { return std::to_string(m.count()) + "ms"; };
  out->policy = {{"startTls", std::string(TlsRequirementName(s.start_tls))},
                 {"dane", std::string(TlsRequirementName(s.dane))},
                 {"mtaSts", std::string(TlsRequirementName(s.mta_sts))},
                 {"allowInvalidCerts", s.allow_invalid_certs ? "true" : "false"},
                 {"tlsTimeout", ms(s.tls_timeout)},
                 {"mtaStsTimeout", ms(s.mta_sts_timeout)}};
  std::string applies;
  if (!route.ok()) {
    applies = "unknown (no route)";
  } else if (route->object->kind == Route::Kind::kLocal) {
    applies = "none: local delivery";
  } else if (route->object->kind == Route::Kind::kRelay) {
    std::string key = RelayTlsRequirementKey(s);
    if (!key.empty()) {
      out->error = key + ": 'require' cannot apply to relay route '" + route->object->name +
                   "' (DANE and MTA-STS are only used on Mx routes)";
    }
    applies = "startTls only: DANE and MTA-STS are not used on relay routes";
  } else {
    std::vector<std::string> parts;
    if (s.dane != TlsRequirement::kDisable) {
      parts.push_back(std::string("DANE ") + std::string(TlsRequirementName(s.dane)) +
                      " (TLSA of each DNSSEC-secure MX host)");
    }
    if (s.mta_sts != TlsRequirement::kDisable) {
      parts.push_back(std::string("MTA-STS ") + std::string(TlsRequirementName(s.mta_sts)) +
                      " (policy of the recipient domain, where DANE does not apply)");
    }
    if (parts.empty()) applies = "startTls only: DANE and MTA-STS disabled";
    for (const auto& p : parts) applies += (applies.empty() ? "" : "; ") + p;
  }
  out->policy.emplace_back("applies", applies);
}

}  // namespace

Explanation Explain(const Router& router, const Envelope& env) {
  Explanation e;
  auto route = router.DecideRoute(env);
  auto tls = router.DecideTls(env);
  e.route = ExplainOne(route, env);
  e.schedule = ExplainOne(router.DecideSchedule(env), env);
  e.connection = ExplainOne(router.DecideConnection(env), env);
  e.tls = ExplainOne(tls, env);
  if (tls.ok()) DescribeTlsPolicy(route, *tls->object, &e.tls);
  return e;
}

std::string ExplanationToJson(const Explanation& e) {
  rj::StringBuffer buf;
  rj::PrettyStringWriter w(buf);
  w.SetIndent(' ', 2);
  w.StartObject();
  WriteDecision(w, "route", e.route);
  WriteDecision(w, "schedule", e.schedule);
  WriteDecision(w, "connection", e.connection);
  WriteDecision(w, "tls", e.tls);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string ExplanationToText(const Explanation& e) {
  std::string out;
  auto line = [&out](std::string_view label, const ExplainedDecision& d) {
    out += std::string(label);
    if (!d.error.empty()) {
      out += "ERROR " + d.error + "\n";
      return;
    }
    std::string policy;
    for (const auto& [name, value] : d.policy) {
      policy.append(policy.empty() ? "" : " ").append(name).append("=").append(value);
    }
    out += d.name + "  (" + (d.rule >= 0 ? "rule " + std::to_string(d.rule) : "else") + ")";
    if (!d.variables.empty()) {
      out += "  with";
      for (const auto& [name, value] : d.variables) {
        out.append(" ").append(name).append("=");
        // Appended piecewise: GCC 12 reports a false -Wrestrict for "'" + std::string.
        if (value.is_string()) out.append("'").append(value.str()).append("'");
        if (!value.is_string()) out.append(value.ToString());
      }
    }
    out += "\n";
    if (!policy.empty()) out.append("            policy: ").append(policy).append("\n");
  };
  line("route:      ", e.route);
  line("schedule:   ", e.schedule);
  line("connection: ", e.connection);
  line("tls:        ", e.tls);
  return out;
}

}  // namespace outpost::router
