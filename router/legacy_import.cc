#include "router/legacy_import.h"

#include <functional>
#include <map>
#include <tuple>
#include <optional>
#include <set>

#include "router/envelope.h"
#include "router/expression.h"
#include "router/json.h"
#include "router/toml.h"
#include "router/units.h"

namespace outpost::router {
namespace {

using JValue = rj::Value;

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

bool IsBareWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Early (<= 0.5) rule form: {if = "<variable>", <op> = "<value>", then = "<id>"}.
constexpr std::string_view kEarlyOps[] = {"in-list", "not-in-list", "eq", "ne", "starts-with",
                                          "ends-with", "matches"};

class Importer {
 public:
  explicit Importer(const TomlValue& root) : root_(root) { out_.SetObject(); }

  LegacyImport Run() {
    CollectRouteIds();
    ConvertServer();
    ConvertLists();
    ConvertRemotes();
    ConvertRoutes013();
    ConvertMxSettings();
    ConvertNextHop();
    ConvertStrategies013();
    ConvertVirtualQueues();
    ConvertSchedules();
    ConvertConnections();
    ConvertTls();
    ReportUnused(root_, "");
    if (uses_local_domain_) {
      Warn("localDomains", 0,
           "is_local_domain() used Stalwart's directory; list your local domains in "
           "\"localDomains\" of the converted config");
    }
    return Finish();
  }

 private:
  // ---- navigation and bookkeeping
  const TomlValue* Get(std::initializer_list<std::string_view> path) const {
    const TomlValue* v = &root_;
    for (std::string_view p : path) {
      if (!v->is_table()) return nullptr;
      v = v->Find(p);
      if (v == nullptr) return nullptr;
    }
    return v;
  }
  const TomlValue* Take(std::initializer_list<std::string_view> path) {
    const TomlValue* v = Get(path);
    if (v != nullptr) used_.insert(v);
    return v;
  }
  static std::string Join(std::initializer_list<std::string_view> path) {
    std::string out;
    for (std::string_view p : path) {
      if (!out.empty()) out.push_back('.');
      out.append(p);
    }
    return out;
  }
  void Warn(std::string_view key, int line, std::string_view what) {
    std::string w(key);
    if (line > 0) w += " (line " + std::to_string(line) + ")";
    warnings_.push_back(w + ": " + std::string(what));
  }
  rj::Document::AllocatorType& A() { return out_.GetAllocator(); }
  JValue Str(std::string_view s) { return JValue(s.data(), static_cast<rj::SizeType>(s.size()), A()); }
  void Set(JValue& obj, std::string_view key, JValue v) {
    // HasMember/operator[] rather than comparing rapidjson's non-const member iterators,
    // which clang rejects as ambiguous in C++20.
    JValue name = Str(key);
    if (obj.HasMember(name)) {
      obj[name] = std::move(v);
    } else {
      obj.AddMember(std::move(name), std::move(v), A());
    }
  }
  // Named objects of a section, in first-seen order.
  JValue& Named(std::vector<std::pair<std::string, JValue>>& section, std::string_view name,
                const char* type) {
    for (auto& [n, v] : section) {
      if (n == name) return v;
    }
    JValue obj(rj::kObjectType);
    if (type != nullptr) obj.AddMember("@type", JValue(type, A()), A());
    obj.AddMember("name", Str(name), A());
    section.emplace_back(std::string(name), std::move(obj));
    return section.back().second;
  }

  void ReportUnused(const TomlValue& v, const std::string& path) {
    if (used_.count(&v)) return;
    if (v.is_table()) {
      for (const auto& [k, child] : v.table) ReportUnused(child, path.empty() ? k : path + "." + k);
      return;
    }
    Warn(path, v.line, "not converted (no Outpost equivalent); review it by hand");
  }

  // ---- scalar helpers
  // The constant of a legacy expression-valued key: a rule list yields its else value (with a
  // warning, as a fixed field cannot vary).
  const TomlValue* Constant(const TomlValue* v, const std::string& key) {
    if (v == nullptr || !v->is_array() || v->array.empty() || !v->array[0].is_table()) return v;
    Warn(key, v->line, "rules cannot be converted for this setting; only its else value is kept");
    for (const TomlValue& rule : v->array) {
      if (const TomlValue* e = rule.Find("else")) return e;
    }
    return nullptr;
  }
  std::optional<std::string> StringOf(const TomlValue* v, const std::string& key) {
    v = Constant(v, key);
    if (v == nullptr) return std::nullopt;
    if (v->type == TomlValue::Type::kInteger) return std::to_string(v->integer);
    if (!v->is_string()) {
      Warn(key, v->line, "expected a string; not converted");
      return std::nullopt;
    }
    std::string s = v->str;
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
      s = s.substr(1, s.size() - 2);
    }
    return s;
  }
  std::optional<int64_t> IntOf(const TomlValue* v, const std::string& key) {
    v = Constant(v, key);
    if (v == nullptr) return std::nullopt;
    if (v->type == TomlValue::Type::kInteger) return v->integer;
    if (v->is_string()) {
      try {
        return std::stoll(v->str);
      } catch (...) {
      }
    }
    Warn(key, v->line, "expected an integer; not converted");
    return std::nullopt;
  }
  std::optional<bool> BoolOf(const TomlValue* v, const std::string& key) {
    v = Constant(v, key);
    if (v == nullptr) return std::nullopt;
    if (v->type == TomlValue::Type::kBool) return v->boolean;
    if (v->is_string() && (v->str == "true" || v->str == "false")) return v->str == "true";
    Warn(key, v->line, "expected true or false; not converted");
    return std::nullopt;
  }
  void SetDuration(JValue& obj, std::string_view field, const TomlValue* v, const std::string& key) {
    auto s = StringOf(v, key);
    if (!s) return;
    if (!ParseDuration(*s)) {
      Warn(key, v->line, "'" + *s + "' is not a duration; not converted");
      return;
    }
    Set(obj, field, Str(*s));
  }
  // A value or the elements of an array value.
  static std::vector<const TomlValue*> Items(const TomlValue* v) {
    std::vector<const TomlValue*> items;
    if (v->is_array()) {
      for (const TomlValue& i : v->array) items.push_back(&i);
    } else {
      items.push_back(v);
    }
    return items;
  }

  JValue DurationList(const TomlValue* v, const std::string& key) {
    JValue arr(rj::kArrayType);
    v = Constant(v, key);
    if (v == nullptr) return arr;
    for (const TomlValue* i : Items(v)) {
      auto s = StringOf(i, key);
      if (s && ParseDuration(*s)) {
        arr.PushBack(Str(*s), A());
      } else {
        Warn(key, i->line, "an interval is not a duration; dropped from the list");
      }
    }
    return arr;
  }
  std::string RequirementOf(const TomlValue* v, const std::string& key) {
    auto s = StringOf(v, key);
    if (!s) return "";
    if (*s == "require" || *s == "required") return "require";
    if (*s == "disable" || *s == "disabled" || *s == "none" || *s == "false") return "disable";
    if (*s == "optional") return "optional";
    Warn(key, v->line, "'" + *s + "' is not optional/require/disable; not converted");
    return "";
  }

  // ---- expressions
  enum class ExprKind { kRouteName, kStrategyName, kPlain };

  // A legacy expression text, checked by compiling it (the warning tells the operator what
  // will fail at `config check`).
  std::string CheckedExpression(std::string text, const std::string& key, int line,
                                VariableSet vars) {
    if (text.find("is_local_domain") != std::string::npos) uses_local_domain_ = true;
    auto e = Expression::Compile(text, vars, nullptr);
    if (!e.ok()) {
      Warn(key, line, "expression '" + text + "' does not compile in Outpost (" +
                          e.status().message() + "); kept as is, fix it by hand");
    }
    return text;
  }

  // A `then`/`else` value. Booleans `false` in next-hop mean "use MX"; bare identifiers that
  // name a route/remote are quoted (the early rule form wrote them unquoted).
  std::optional<std::string> ResultText(const TomlValue& v, const std::string& key, ExprKind kind,
                                        VariableSet vars) {
    if (v.type == TomlValue::Type::kBool) {
      if (kind == ExprKind::kRouteName && !v.boolean) return "'mx'";
      if (kind == ExprKind::kPlain) return v.boolean ? "true" : "false";
      Warn(key, v.line, "a boolean cannot name a strategy; not converted");
      return std::nullopt;
    }
    if (v.type == TomlValue::Type::kInteger) return std::to_string(v.integer);
    if (!v.is_string()) {
      Warn(key, v.line, "unsupported value; not converted");
      return std::nullopt;
    }
    if (kind != ExprKind::kPlain && IsBareWord(v.str) && !VariableByName(v.str) &&
        (route_ids_.count(v.str) || kind == ExprKind::kRouteName)) {
      if (v.str != "true" && v.str != "false") return Quote(v.str);
    }
    return CheckedExpression(v.str, key, v.line, vars);
  }

  // {if = "rcpt-domain", in-list = "list/domains", then = "lmtp"} -> a condition text.
  std::optional<std::string> EarlyCondition(const TomlValue& rule, const std::string& key) {
    const TomlValue* var = rule.Find("if");
    if (var == nullptr || !var->is_string()) return std::nullopt;
    std::string name = var->str;
    for (char& c : name) c = c == '-' ? '_' : c;
    if (!VariableByName(name)) {
      Warn(key, rule.line, "unknown variable '" + var->str + "' in rule; not converted");
      return std::nullopt;
    }
    for (std::string_view op : kEarlyOps) {
      const TomlValue* arg = rule.Find(op);
      if (arg == nullptr) continue;
      if (!arg->is_string()) {
        Warn(key, rule.line, std::string(op) + " needs a string; not converted");
        return std::nullopt;
      }
      if (op == "in-list" || op == "not-in-list") {
        std::string list = ListReference(arg->str, key, rule.line);
        std::string cond = "key_exists(" + Quote(list) + ", " + name + ")";
        return op == "in-list" ? cond : "!" + cond;
      }
      if (op == "eq") return name + " == " + Quote(arg->str);
      if (op == "ne") return name + " != " + Quote(arg->str);
      if (op == "starts-with") return "starts_with(" + name + ", " + Quote(arg->str) + ")";
      if (op == "ends-with") return "ends_with(" + name + ", " + Quote(arg->str) + ")";
      return "matches(" + Quote(arg->str) + ", " + name + ")";
    }
    return std::nullopt;
  }

  // "list/domains" -> "domains". Other stores (sql/, ldap/, ...) cannot be converted: an empty
  // list of the same name is created so the rule survives, and the operator is told.
  std::string ListReference(const std::string& ref, const std::string& key, int line) {
    size_t slash = ref.find('/');
    std::string store = slash == std::string::npos ? "list" : ref.substr(0, slash);
    std::string name = slash == std::string::npos ? ref : ref.substr(slash + 1);
    if (store != "list") {
      Warn(key, line, "list '" + ref + "' is a " + store +
                          " lookup, which cannot be converted; created an empty list '" + name +
                          "': fill in its entries");
      if (!lists_.IsObject()) lists_.SetObject();
      if (!lists_.HasMember(Str(name))) lists_.AddMember(Str(name), JValue(rj::kArrayType), A());
    } else if (Get({"list", name}) == nullptr) {
      Warn(key, line, "list '" + name + "' is not defined in [list]");
    }
    return name;
  }

  // A legacy expression setting (string, value, or array of rule tables) -> JSON setting.
  std::optional<JValue> ConvertExpression(const TomlValue* v, const std::string& key,
                                          ExprKind kind, VariableSet vars) {
    if (v == nullptr) return std::nullopt;
    if (!v->is_array()) {
      auto text = ResultText(*v, key, kind, vars);
      if (!text) return std::nullopt;
      return Str(*text);
    }
    JValue match(rj::kArrayType);
    std::optional<std::string> otherwise;
    for (size_t i = 0; i < v->array.size(); ++i) {
      const TomlValue& rule = v->array[i];
      std::string rkey = key + "[" + std::to_string(i) + "]";
      if (!rule.is_table()) {
        Warn(rkey, rule.line, "expected {if, then} or {else}; not converted");
        continue;
      }
      if (const TomlValue* e = rule.Find("else")) {
        otherwise = ResultText(*e, rkey + ".else", kind, vars);
        continue;
      }
      const TomlValue* cond = rule.Find("if");
      const TomlValue* then = rule.Find("then");
      if (cond == nullptr || then == nullptr) {
        Warn(rkey, rule.line, "rule without if/then; not converted");
        continue;
      }
      bool early = false;
      for (std::string_view op : kEarlyOps) early = early || rule.Find(op) != nullptr;
      std::optional<std::string> cond_text;
      if (early) {
        cond_text = EarlyCondition(rule, rkey);
      } else if (cond->is_string()) {
        cond_text = CheckedExpression(cond->str, rkey + ".if", rule.line, vars);
      } else if (cond->type == TomlValue::Type::kBool) {
        cond_text = cond->boolean ? "true" : "false";
      }
      auto then_text = ResultText(*then, rkey + ".then", kind, vars);
      if (!cond_text || !then_text) continue;
      JValue item(rj::kObjectType);
      item.AddMember("if", Str(*cond_text), A());
      item.AddMember("then", Str(*then_text), A());
      match.PushBack(std::move(item), A());
    }
    if (!otherwise) {
      otherwise = kind == ExprKind::kRouteName ? "'mx'" : kind == ExprKind::kPlain ? "false" : "'default'";
      Warn(key, v->line, "no else branch; using " + *otherwise);
    }
    JValue obj(rj::kObjectType);
    obj.AddMember("match", std::move(match), A());
    obj.AddMember("else", Str(*otherwise), A());
    return obj;
  }

  // ---- sections
  void CollectRouteIds() {
    for (const char* section : {"remote"}) {
      if (const TomlValue* t = Get({section}); t && t->is_table()) {
        for (const auto& [id, v] : t->table) route_ids_.insert(id);
      }
    }
    if (const TomlValue* t = Get({"queue", "route"}); t && t->is_table()) {
      for (const auto& [id, v] : t->table) route_ids_.insert(id);
    }
  }

  void ConvertServer() {
    if (auto h = StringOf(Take({"server", "hostname"}), "server.hostname")) {
      JValue server(rj::kObjectType);
      server.AddMember("hostname", Str(*h), A());
      Set(out_, "server", std::move(server));
    }
  }

  void ConvertLists() {
    const TomlValue* lists = Get({"list"});
    if (lists == nullptr || !lists->is_table()) return;
    if (!lists_.IsObject()) lists_.SetObject();
    for (const auto& [name, v] : lists->table) {
      std::string key = "list." + name;
      JValue arr(rj::kArrayType);
      if (!v.is_array()) {
        Warn(key, v.line, "expected an array of strings; not converted");
        continue;
      }
      used_.insert(&v);
      for (const TomlValue& item : v.array) {
        if (item.is_string()) {
          arr.PushBack(Str(item.str), A());
        } else {
          Warn(key, item.line, "non-string entry dropped");
        }
      }
      lists_.AddMember(Str(name), std::move(arr), A());
    }
  }

  // Relay fields shared by remote.<id> (<= 0.12) and queue.route.<id> (0.13-0.15).
  void ConvertRelay(std::initializer_list<std::string_view> base, const std::string& id) {
    std::string prefix = Join(base) + "." + id;
    auto key = [&](std::string_view k) { return prefix + "." + std::string(k); };
    auto take = [&](std::initializer_list<std::string_view> rest) {
      std::vector<std::string_view> path(base);
      path.push_back(id);
      path.insert(path.end(), rest);
      const TomlValue* v = &root_;
      for (std::string_view p : path) {
        v = v && v->is_table() ? v->Find(p) : nullptr;
      }
      if (v) used_.insert(v);
      return v;
    };
    JValue& r = Named(routes_, id, "Relay");
    if (auto a = StringOf(take({"address"}), key("address"))) {
      Set(r, "address", Str(*a));
    } else {
      Warn(prefix, 0, "relay without an address");
    }
    int64_t port = IntOf(take({"port"}), key("port")).value_or(25);
    Set(r, "port", JValue(port));
    if (auto p = StringOf(take({"protocol"}), key("protocol"))) Set(r, "protocol", Str(*p));
    const TomlValue* implicit = take({"tls", "implicit"});
    bool implicit_tls = BoolOf(implicit, key("tls.implicit")).value_or(true);
    if (implicit == nullptr) {
      Warn(key("tls.implicit"), 0, "not set: Stalwart's legacy default (implicit TLS = true) is kept");
    }
    if (implicit_tls && port == 25) {
      Warn(key("tls.implicit"), implicit ? implicit->line : 0,
           "implicit TLS on port 25 is almost certainly wrong (port 25 speaks plaintext + "
           "STARTTLS); set implicitTls to false");
    }
    Set(r, "implicitTls", JValue(implicit_tls));
    if (auto b = BoolOf(take({"tls", "allow-invalid-certs"}), key("tls.allow-invalid-certs"))) {
      Set(r, "allowInvalidCerts", JValue(*b));
    }
    if (auto u = StringOf(take({"auth", "username"}), key("auth.username"))) {
      Set(r, "authUsername", Str(*u));
    }
    if (auto s = StringOf(take({"auth", "secret"}), key("auth.secret"))) {
      Set(r, "authSecret", SecretValue(*s));
    }
    if (auto c = IntOf(take({"concurrency"}), key("concurrency"))) Set(r, "concurrency", JValue(*c));
    if (const TomlValue* t = take({"timeout"})) {
      Warn(key("timeout"), t->line,
           "per-relay timeouts are not converted; set connectTimeout in a connection strategy");
    }
  }

  // "%{env:NAME}%" and "%{file:/path}%" macros become EnvironmentVariable / File secrets.
  JValue SecretValue(const std::string& s) {
    JValue secret(rj::kObjectType);
    auto macro = [&](std::string_view prefix) -> std::optional<std::string> {
      std::string open = "%{" + std::string(prefix) + ":";
      if (s.rfind(open, 0) == 0 && s.size() > open.size() + 2 && s.ends_with("}%")) {
        return s.substr(open.size(), s.size() - open.size() - 2);
      }
      return std::nullopt;
    };
    if (auto env = macro("env")) {
      secret.AddMember("@type", "EnvironmentVariable", A());
      secret.AddMember("variable", Str(*env), A());
    } else if (auto file = macro("file")) {
      secret.AddMember("@type", "File", A());
      secret.AddMember("filePath", Str(*file), A());
    } else {
      secret.AddMember("@type", "Value", A());
      secret.AddMember("secret", Str(s), A());
    }
    return secret;
  }

  void ConvertRemotes() {
    const TomlValue* remotes = Get({"remote"});
    if (remotes == nullptr || !remotes->is_table()) return;
    for (const auto& [id, v] : remotes->table) ConvertRelay({"remote"}, id);
  }

  void ConvertRoutes013() {
    const TomlValue* routes = Get({"queue", "route"});
    if (routes == nullptr || !routes->is_table()) return;
    for (const auto& [id, v] : routes->table) {
      std::string prefix = "queue.route." + id;
      auto type = StringOf(Take({"queue", "route", id, "type"}), prefix + ".type");
      if (type == "relay") {
        ConvertRelay({"queue", "route"}, id);
      } else if (type == "local") {
        Named(routes_, id, "Local");
      } else if (type == "mx") {
        JValue& r = Named(routes_, id, "Mx");
        ConvertMxFields(r, {Take({"queue", "route", id, "limits", "mx"}), prefix + ".limits.mx"},
                        {Take({"queue", "route", id, "limits", "multihomed"}), prefix + ".limits.multihomed"},
                        {Take({"queue", "route", id, "ip-lookup"}), prefix + ".ip-lookup"});
      } else {
        Warn(prefix + ".type", 0, "missing or unknown route type (relay, local, mx); not converted");
      }
    }
  }

  using KeyedValue = std::pair<const TomlValue*, std::string>;

  void ConvertMxFields(JValue& r, KeyedValue mx, KeyedValue multihomed, KeyedValue lookup) {
    if (auto n = IntOf(mx.first, mx.second)) Set(r, "maxMxHosts", JValue(*n));
    if (auto n = IntOf(multihomed.first, multihomed.second)) Set(r, "maxMultihomed", JValue(*n));
    if (auto s = StringOf(lookup.first, lookup.second)) {
      std::string v = *s;
      for (char& c : v) c = c == '-' ? '_' : c;
      const char* mapped = v == "ipv4_then_ipv6" ? "v4ThenV6"
                           : v == "ipv6_then_ipv4" ? "v6ThenV4"
                           : v == "ipv4_only"      ? "v4Only"
                           : v == "ipv6_only"      ? "v6Only"
                                                   : nullptr;
      if (mapped) {
        Set(r, "ipLookupStrategy", JValue(mapped, A()));
      } else {
        Warn(lookup.second, lookup.first->line, "'" + *s + "' is not an IP strategy; not converted");
      }
    }
  }

  void ConvertMxSettings() {
    KeyedValue mx{Take({"queue", "outbound", "limits", "mx"}), "queue.outbound.limits.mx"};
    KeyedValue mh{Take({"queue", "outbound", "limits", "multihomed"}), "queue.outbound.limits.multihomed"};
    KeyedValue ip{Take({"queue", "outbound", "ip-strategy"}), "queue.outbound.ip-strategy"};
    if (!mx.first && !mh.first && !ip.first) return;
    ConvertMxFields(Named(routes_, "mx", "Mx"), mx, mh, ip);
  }

  void ConvertNextHop() {
    const TomlValue* v = Take({"queue", "outbound", "next-hop"});
    if (v == nullptr) return;
    if (auto e = ConvertExpression(v, "queue.outbound.next-hop", ExprKind::kRouteName,
                                   VariableSet::kRcpt)) {
      strategy_["route"] = std::move(*e);
    }
  }

  void ConvertStrategies013() {
    for (const char* name : {"route", "schedule", "connection", "tls"}) {
      const TomlValue* v = Take({"queue", "strategy", name});
      if (v == nullptr) continue;
      VariableSet vars = (std::string_view(name) == "route" || std::string_view(name) == "schedule")
                             ? VariableSet::kRcpt
                             : VariableSet::kHost;
      ExprKind kind = std::string_view(name) == "route" ? ExprKind::kRouteName : ExprKind::kStrategyName;
      if (auto e = ConvertExpression(v, "queue.strategy." + std::string(name), kind, vars)) {
        strategy_[name] = std::move(*e);
      }
    }
  }

  void ConvertVirtualQueues() {
    if (const TomlValue* q = Get({"queue", "virtual"}); q && q->is_table()) {
      for (const auto& [id, v] : q->table) {
        JValue& obj = Named(virtual_queues_, id, nullptr);
        if (auto n = IntOf(Take({"queue", "virtual", id, "threads-per-node"}),
                           "queue.virtual." + id + ".threads-per-node")) {
          Set(obj, "threadsPerNode", JValue(*n));
        }
      }
    }
    for (const char* id : {"remote", "local"}) {
      if (auto n = IntOf(Take({"queue", "threads", id}), "queue.threads." + std::string(id))) {
        Set(Named(virtual_queues_, id, nullptr), "threadsPerNode", JValue(*n));
      }
    }
    if (auto n = IntOf(Take({"queue", "outbound", "concurrency"}), "queue.outbound.concurrency")) {
      Set(Named(virtual_queues_, "remote", nullptr), "threadsPerNode", JValue(*n));
    }
  }

  void ConvertSchedules() {
    const TomlValue* s = Get({"queue", "schedule"});
    if (s == nullptr || !s->is_table()) return;
    // <= 0.12: queue.schedule.{retry,notify,expire} apply to every recipient.
    const TomlValue* retry = Take({"queue", "schedule", "retry"});
    const TomlValue* notify = Take({"queue", "schedule", "notify"});
    const TomlValue* expire = Take({"queue", "schedule", "expire"});
    if (retry || notify || expire) {
      for (const char* id : {"remote", "local"}) {
        JValue& obj = Named(schedules_, id, nullptr);
        Set(obj, "queueId", Str(id));
        if (retry) Set(obj, "retry", DurationList(retry, "queue.schedule.retry"));
        if (notify) Set(obj, "notify", DurationList(notify, "queue.schedule.notify"));
        if (auto d = StringOf(expire, "queue.schedule.expire"); d && ParseDuration(*d)) {
          Set(obj, "expiry", TtlExpiry(*d));
        }
      }
    }
    // 0.13-0.15: queue.schedule.<id>.*
    for (const auto& [id, v] : s->table) {
      if (!v.is_table()) continue;
      std::string prefix = "queue.schedule." + id;
      JValue& obj = Named(schedules_, id, nullptr);
      if (auto q = StringOf(Take({"queue", "schedule", id, "queue-name"}), prefix + ".queue-name")) {
        Set(obj, "queueId", Str(*q));
      }
      if (const TomlValue* r = Take({"queue", "schedule", id, "retry"})) {
        Set(obj, "retry", DurationList(r, prefix + ".retry"));
      }
      if (const TomlValue* n = Take({"queue", "schedule", id, "notify"})) {
        Set(obj, "notify", DurationList(n, prefix + ".notify"));
      }
      const TomlValue* exp = Take({"queue", "schedule", id, "expire"});
      const TomlValue* max = Take({"queue", "schedule", id, "max-attempts"});
      if (exp && max) Warn(prefix, v.line, "both expire and max-attempts set; expire is used");
      if (auto d = StringOf(exp, prefix + ".expire"); d && ParseDuration(*d)) {
        Set(obj, "expiry", TtlExpiry(*d));
      } else if (auto m = IntOf(max, prefix + ".max-attempts")) {
        JValue e(rj::kObjectType);
        e.AddMember("@type", "Attempts", A());
        e.AddMember("maxAttempts", JValue(*m), A());
        Set(obj, "expiry", std::move(e));
      }
    }
  }

  JValue TtlExpiry(const std::string& d) {
    JValue e(rj::kObjectType);
    e.AddMember("@type", "Ttl", A());
    e.AddMember("expire", Str(d), A());
    return e;
  }

  void ConvertTimeouts(JValue& obj, std::initializer_list<std::string_view> base,
                       std::initializer_list<std::pair<const char*, const char*>> fields) {
    for (auto [legacy, field] : fields) {
      std::vector<std::string_view> path(base);
      path.push_back(legacy);
      const TomlValue* v = &root_;
      for (std::string_view p : path) v = v && v->is_table() ? v->Find(p) : nullptr;
      if (v == nullptr) continue;
      used_.insert(v);
      SetDuration(obj, field, v, Join(base) + "." + legacy);
    }
  }

  void SourceIps(JValue& conn, const TomlValue* v, const std::string& key) {
    if (v == nullptr) return;
    if (!conn.HasMember("sourceIps")) Set(conn, "sourceIps", JValue(rj::kArrayType));
    JValue& arr = conn["sourceIps"];
    for (const TomlValue* i : Items(v)) {
      if (i->is_string()) {
        arr.PushBack(Str(i->str), A());
      } else if (i->is_table() && i->Find("source-ip") && i->Find("source-ip")->is_string()) {
        JValue o(rj::kObjectType);
        o.AddMember("sourceIp", Str(i->Find("source-ip")->str), A());
        if (const TomlValue* h = i->Find("ehlo-hostname"); h && h->is_string()) {
          o.AddMember("ehloHostname", Str(h->str), A());
        }
        arr.PushBack(std::move(o), A());
      } else {
        Warn(key, i->line, "unsupported source IP entry; not converted");
      }
    }
  }

  void ConvertConnections() {
    // <= 0.12 settings become the "default" connection strategy.
    bool legacy = Get({"queue", "outbound", "hostname"}) || Get({"queue", "outbound", "source-ip"}) ||
                  Get({"queue", "outbound", "timeouts"});
    if (legacy) {
      JValue& conn = Named(connections_, "default", nullptr);
      if (auto h = StringOf(Take({"queue", "outbound", "hostname"}), "queue.outbound.hostname")) {
        if (h->find('(') != std::string::npos) {
          Warn("queue.outbound.hostname", 0, "computed EHLO names are not supported; not converted");
        } else {
          Set(conn, "ehloHostname", Str(*h));
        }
      }
      SourceIps(conn, Take({"queue", "outbound", "source-ip", "v4"}), "queue.outbound.source-ip.v4");
      SourceIps(conn, Take({"queue", "outbound", "source-ip", "v6"}), "queue.outbound.source-ip.v6");
      ConvertTimeouts(conn, {"queue", "outbound", "timeouts"},
                      {{"connect", "connectTimeout"}, {"greeting", "greetingTimeout"},
                       {"ehlo", "ehloTimeout"}, {"mail-from", "mailFromTimeout"},
                       {"rcpt-to", "rcptToTimeout"}, {"data", "dataTimeout"}});
    }
    const TomlValue* c = Get({"queue", "connection"});
    if (c == nullptr || !c->is_table()) return;
    for (const auto& [id, v] : c->table) {
      std::string prefix = "queue.connection." + id;
      JValue& conn = Named(connections_, id, nullptr);
      if (auto h = StringOf(Take({"queue", "connection", id, "ehlo-hostname"}), prefix + ".ehlo-hostname")) {
        Set(conn, "ehloHostname", Str(*h));
      }
      SourceIps(conn, Take({"queue", "connection", id, "source-ips"}), prefix + ".source-ips");
      ConvertTimeouts(conn, {"queue", "connection", id, "timeout"},
                      {{"connect", "connectTimeout"}, {"greeting", "greetingTimeout"},
                       {"ehlo", "ehloTimeout"}, {"mail-from", "mailFromTimeout"},
                       {"rcpt-to", "rcptToTimeout"}, {"data", "dataTimeout"}});
    }
  }

  void TlsFields(JValue& tls, std::initializer_list<std::string_view> base) {
    auto get = [&](std::string_view k) {
      std::vector<std::string_view> path(base);
      path.push_back(k);
      const TomlValue* v = &root_;
      for (std::string_view p : path) v = v && v->is_table() ? v->Find(p) : nullptr;
      if (v) used_.insert(v);
      return v;
    };
    std::string prefix = Join(base) + ".";
    for (auto [legacy, field] : {std::pair{"starttls", "startTls"}, {"dane", "dane"},
                                 {"mta-sts", "mtaSts"}}) {
      if (const TomlValue* v = get(legacy)) {
        std::string r = RequirementOf(v, prefix + legacy);
        if (!r.empty()) Set(tls, field, Str(r));
      }
    }
  }

  void ConvertTls() {
    const TomlValue* outbound_tls = Get({"queue", "outbound", "tls"});
    bool legacy = Get({"queue", "outbound"}) != nullptr || Get({"remote"}) != nullptr;
    if (outbound_tls) {
      JValue& tls = Named(tls_, "default", nullptr);
      TlsFields(tls, {"queue", "outbound", "tls"});
      if (const TomlValue* a = Take({"queue", "outbound", "tls", "allow-invalid-certs"})) {
        ConvertAllowInvalidCerts(a, &tls);
      }
      ConvertTimeouts(tls, {"queue", "outbound", "timeouts"},
                      {{"tls", "tlsTimeout"}, {"mta-sts", "mtaStsTimeout"}});
    } else {
      JValue dummy(rj::kObjectType);
      ConvertTimeouts(dummy, {"queue", "outbound", "timeouts"},
                      {{"tls", "tlsTimeout"}, {"mta-sts", "mtaStsTimeout"}});
      if (dummy.MemberCount() > 0) {
        JValue& tls = Named(tls_, "default", nullptr);
        const JValue& timeouts = dummy;
        for (const auto& m : timeouts.GetObject()) {
          Set(tls, m.name.GetString(), JValue(m.value, A()));
        }
      }
    }
    if (legacy && !Get({"queue", "outbound", "tls", "starttls"})) {
      Warn("queue.outbound.tls.starttls", 0,
           "not set: Stalwart <= 0.12 required STARTTLS by default for MX delivery; the "
           "converted config uses 'optional' (set startTls to 'require' to keep the old rule)");
    }
    const TomlValue* t = Get({"queue", "tls"});
    if (t == nullptr || !t->is_table()) return;
    for (const auto& [id, v] : t->table) {
      std::string prefix = "queue.tls." + id;
      JValue& tls = Named(tls_, id, nullptr);
      TlsFields(tls, {"queue", "tls", id});
      if (auto b = BoolOf(Take({"queue", "tls", id, "allow-invalid-certs"}), prefix + ".allow-invalid-certs")) {
        Set(tls, "allowInvalidCerts", JValue(*b));
      }
      ConvertTimeouts(tls, {"queue", "tls", id, "timeout"},
                      {{"tls", "tlsTimeout"}, {"mta-sts", "mtaStsTimeout"}});
    }
  }

  // <= 0.12 allow-invalid-certs is an expression: a constant sets the default strategy; rules
  // become the tls strategy expression choosing 'invalid-tls' or 'default'.
  void ConvertAllowInvalidCerts(const TomlValue* a, JValue* tls) {
    const std::string key = "queue.outbound.tls.allow-invalid-certs";
    if (!a->is_array()) {
      if (auto b = BoolOf(a, key)) Set(*tls, "allowInvalidCerts", JValue(*b));
      return;
    }
    JValue match(rj::kArrayType);
    std::string otherwise = "'default'";
    for (const TomlValue& rule : a->array) {
      auto pick = [&](const TomlValue* v) -> std::string {
        bool yes = v && ((v->type == TomlValue::Type::kBool && v->boolean) ||
                         (v->is_string() && v->str == "true"));
        return yes ? "'invalid-tls'" : "'default'";
      };
      if (const TomlValue* e = rule.Find("else")) {
        otherwise = pick(e);
      } else if (const TomlValue* c = rule.Find("if"); c && c->is_string()) {
        JValue item(rj::kObjectType);
        item.AddMember("if", Str(CheckedExpression(c->str, key, rule.line, VariableSet::kHost)), A());
        item.AddMember("then", Str(pick(rule.Find("then"))), A());
        match.PushBack(std::move(item), A());
      }
    }
    JValue obj(rj::kObjectType);
    obj.AddMember("match", std::move(match), A());
    obj.AddMember("else", Str(otherwise), A());
    strategy_["tls"] = std::move(obj);
  }

  // ---- output
  void AddSection(const char* name, std::vector<std::pair<std::string, JValue>>& items) {
    if (items.empty()) return;
    JValue arr(rj::kArrayType);
    for (auto& [n, v] : items) arr.PushBack(std::move(v), A());
    out_.AddMember(rj::StringRef(name), std::move(arr), A());
  }

  LegacyImport Finish() {
    if (lists_.IsObject() && lists_.MemberCount() > 0) out_.AddMember("lists", std::move(lists_), A());
    AddSection("routes", routes_);
    if (!strategy_.empty()) {
      JValue s(rj::kObjectType);
      for (const char* name : {"route", "schedule", "connection", "tls"}) {
        auto it = strategy_.find(name);
        if (it != strategy_.end()) s.AddMember(rj::StringRef(name), std::move(it->second), A());
      }
      out_.AddMember("strategy", std::move(s), A());
    }
    AddSection("virtualQueues", virtual_queues_);
    AddSection("schedules", schedules_);
    AddSection("connectionStrategies", connections_);
    AddSection("tlsStrategies", tls_);
    rj::StringBuffer buf;
    rj::PrettyStringWriter w(buf);
    w.SetIndent(' ', 2);
    out_.Accept(w);
    LegacyImport result;
    result.json = std::string(buf.GetString(), buf.GetSize()) + "\n";
    result.warnings = std::move(warnings_);
    return result;
  }

  const TomlValue& root_;
  rj::Document out_;
  JValue lists_;
  std::vector<std::pair<std::string, JValue>> routes_, virtual_queues_, schedules_, connections_, tls_;
  std::map<std::string, JValue> strategy_;
  std::set<const TomlValue*> used_;
  std::set<std::string> route_ids_;
  std::vector<std::string> warnings_;
  bool uses_local_domain_ = false;
};

}  // namespace

StatusOr<LegacyImport> ImportLegacyToml(std::string_view toml) {
  OUTPOST_ASSIGN_OR_RETURN(TomlValue root, ParseToml(toml));
  return Importer(root).Run();
}

}  // namespace outpost::router
