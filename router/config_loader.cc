#include "router/config_loader.h"

#include <arpa/inet.h>

#include <charconv>
#include <functional>

#include "router/functions.h"
#include "router/router.h"
#include "router/json_reader.h"
#include "router/units.h"

namespace outpost::router {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

bool IsIpLiteral(std::string_view s) {
  unsigned char buf[16];
  std::string z(s);
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

// "host:port" or "[v6]:port"; the host must be an IP literal or a name.
bool ValidHostPort(std::string_view s, bool need_ip) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) return false;
  return !host.empty() && (!need_ip || IsIpLiteral(host));
}

bool ValidCidr(std::string_view cidr) {
  std::string_view net = cidr.substr(0, cidr.find('/'));
  return IsIpLiteral(net) && IpInCidr(net, cidr);
}

// ---------------------------------------------------------------------------------------
// Built-in objects (DESIGN.md §3 table).

std::vector<Millis> DefaultRetry() {
  return {minutes(2), minutes(5), minutes(10), minutes(15), minutes(30), hours(1), hours(2)};
}

Schedule MakeSchedule(std::string name, std::vector<Millis> retry, std::vector<Millis> notify,
                      Schedule::ExpiryKind expiry, Millis ttl, uint32_t attempts) {
  Schedule s;
  s.queue_id = name;
  s.name = std::move(name);
  s.retry = std::move(retry);
  s.notify = std::move(notify);
  s.expiry = expiry;
  s.ttl = ttl;
  s.max_attempts = attempts;
  return s;
}

constexpr const char* kDefaultRoute[][2] = {{"is_local_domain(rcpt_domain)", "'local'"}};
constexpr const char* kDefaultSchedule[][2] = {{"is_local_domain(rcpt_domain)", "'local'"},
                                               {"source == 'dsn'", "'dsn'"},
                                               {"source == 'report'", "'report'"}};
constexpr const char* kDefaultTls[][2] = {{"retry_num > 0 && last_error == 'tls'", "'invalid-tls'"}};

IfBlock BuiltinBlock(std::span<const char* const[2]> rules, const char* otherwise,
                     VariableSet vars) {
  std::vector<IfBlock::Rule> out;
  for (const auto& r : rules) {
    out.push_back({Expression::Compile(r[0], vars, nullptr).value(),
                   Expression::Compile(r[1], vars, nullptr).value()});
  }
  return IfBlock(std::move(out), Expression::Compile(otherwise, vars, nullptr).value());
}

void AddBuiltins(Config* c) {
  Route local;
  local.name = "local";
  local.kind = Route::Kind::kLocal;
  Route mx;
  mx.name = "mx";
  mx.kind = Route::Kind::kMx;
  c->routes = {local, mx};
  for (auto [name, threads] : {std::pair{"local", 25}, {"remote", 50}, {"dsn", 5}, {"report", 5}}) {
    c->virtual_queues.push_back({name, "", static_cast<uint32_t>(threads)});
  }
  const std::vector<Millis> notify = {hours(24), hours(72)};
  using EK = Schedule::ExpiryKind;
  c->schedules = {
      MakeSchedule("local", DefaultRetry(), notify, EK::kTtl, hours(24 * 5), 5),
      MakeSchedule("remote", DefaultRetry(), notify, EK::kTtl, hours(24 * 5), 5),
      MakeSchedule("dsn", {minutes(15), minutes(30), hours(1), hours(2)}, notify, EK::kAttempts,
                   hours(24 * 5), 10),
      MakeSchedule("report", {minutes(30), hours(1), hours(2)}, {}, EK::kAttempts, hours(24 * 5), 8),
  };
  ConnectionStrategy conn;
  conn.name = "default";
  c->connection_strategies = {conn};
  TlsStrategy tls;
  tls.name = "default";
  TlsStrategy invalid = tls;
  invalid.name = "invalid-tls";
  invalid.allow_invalid_certs = true;
  c->tls_strategies = {tls, invalid};
  c->route_strategy.block = BuiltinBlock(kDefaultRoute, "'mx'", VariableSet::kRcpt);
  c->schedule_strategy.block = BuiltinBlock(kDefaultSchedule, "'remote'", VariableSet::kRcpt);
  c->connection_strategy.block = BuiltinBlock({}, "'default'", VariableSet::kHost);
  c->tls_strategy.block = BuiltinBlock(kDefaultTls, "'default'", VariableSet::kHost);
}

// ---------------------------------------------------------------------------------------
// The loader proper: one method per section, errors collected in `d_`.

class Loader {
 public:
  Loader(const SecretResolver* secrets, Config* out) : secrets_(secrets), c_(out) {}

  void Load(const rj::Value& root) {
    AddBuiltins(c_);
    ObjectReader top(root, "", &d_);
    if (const rj::Value* v = top.Take("server")) LoadServer(*v);
    if (const rj::Value* v = top.Take("listeners")) LoadListeners(*v);
    if (const rj::Value* v = top.Take("admin")) LoadAdmin(*v);
    if (const rj::Value* v = top.Take("dns")) LoadDns(*v);
    if (const rj::Value* v = top.Take("localDomains")) LoadLocalDomains(*v);
    if (const rj::Value* v = top.Take("lists")) LoadLists(*v);
    if (const rj::Value* v = top.Take("local")) LoadLocal(*v);
    if (const rj::Value* v = top.Take("queue")) LoadQueue(*v);
    if (const rj::Value* v = top.Take("tlsPolicy")) LoadTlsPolicy(*v);
    LoadNamed<Route>(top.Take("routes"), "routes", &c_->routes,
                     [this](ObjectReader& r, Route* o) { LoadRoute(r, o); });
    LoadNamed<VirtualQueue>(top.Take("virtualQueues"), "virtualQueues", &c_->virtual_queues,
                            [](ObjectReader& r, VirtualQueue* q) {
                              r.Uint("threadsPerNode", &q->threads_per_node, 1, 100000);
                            });
    LoadNamed<Schedule>(top.Take("schedules"), "schedules", &c_->schedules,
                        [this](ObjectReader& r, Schedule* s) { LoadSchedule(r, s); });
    LoadNamed<ConnectionStrategy>(
        top.Take("connectionStrategies"), "connectionStrategies", &c_->connection_strategies,
        [this](ObjectReader& r, ConnectionStrategy* s) { LoadConnection(r, s); });
    LoadNamed<TlsStrategy>(top.Take("tlsStrategies"), "tlsStrategies", &c_->tls_strategies,
                           [this](ObjectReader& r, TlsStrategy* s) { LoadTls(r, s); });
    const rj::Value* strategy = top.Take("strategy");
    top.Finish();
    BuildIndexes();
    CheckScheduleQueues();
    LoadStrategies(strategy);
  }

  Diagnostics& diagnostics() { return d_; }

 private:
  void LoadServer(const rj::Value& v) {
    ObjectReader r(v, "server", &d_);
    r.String("hostname", &c_->server.hostname);
    r.String("dataDir", &c_->server.data_dir);
    r.Finish();
  }

  void LoadListeners(const rj::Value& v) {
    if (!v.IsArray()) {
      d_.Add("listeners", "expected an array of listener objects");
      return;
    }
    for (rj::SizeType i = 0; i < v.Size(); ++i) {
      ObjectReader r(v[i], IndexPath("listeners", i), &d_);
      ListenerConfig l;
      r.String("name", &l.name);
      if (l.name.empty()) l.name = "listener" + std::to_string(i);
      if (r.Require("bind") != nullptr) {
        r.String("bind", &l.bind);
        if (!l.bind.empty() && !ValidHostPort(l.bind, false)) {
          d_.Add(r.PathOf("bind"), "'" + l.bind + "' is not host:port");
        }
        // Two listeners on one address would fail at bind; say which keys instead. Port 0
        // gives each its own port.
        for (size_t j = 0; j < c_->listeners.size(); ++j) {
          if (!l.bind.empty() && c_->listeners[j].bind == l.bind && !l.bind.ends_with(":0")) {
            d_.Add(r.PathOf("bind"), "'" + l.bind + "' is also the bind of " +
                                         IndexPath("listeners", j) + " ('" + c_->listeners[j].name +
                                         "')");
          }
        }
      }
      r.StringList("relayNetworks", &l.relay_networks);
      for (size_t n = 0; n < l.relay_networks.size(); ++n) {
        if (!ValidCidr(l.relay_networks[n])) {
          d_.Add(IndexPath(r.PathOf("relayNetworks"), n),
                 "'" + l.relay_networks[n] + "' is not an IP network (e.g. 10.0.0.0/8)");
        }
      }
      if (const rj::Value* t = r.Take("tls")) {
        ObjectReader tr(*t, r.PathOf("tls"), &d_);
        std::string cert, key;
        if (tr.Require("certFile")) tr.String("certFile", &cert);
        if (tr.Require("keyFile")) tr.String("keyFile", &key);
        tr.Finish();
        l.tls_cert_file = cert;
        l.tls_key_file = key;
      }
      r.Bool("requireAuth", &l.require_auth);
      r.Bool("allowPlaintextAuth", &l.allow_plaintext_auth);
      if (const rj::Value* u = r.Take("users")) LoadUsers(*u, r.PathOf("users"), &l.users);
      r.Uint("maxConnections", &l.max_connections, 1, 1'000'000);
      r.Uint("maxConnectionsPerIp", &l.max_connections_per_ip, 1, 1'000'000);
      r.Uint("maxRecipients", &l.max_recipients, 1, 1'000'000);
      r.Uint("maxReceivedHeaders", &l.max_received_headers, 1, 10'000);
      uint64_t size = 0;
      if (const rj::Value* s = r.Take("maxMessageSize");
          s && ReadSize(*s, r.PathOf("maxMessageSize"), &d_, &size)) {
        l.max_message_size = size;
      }
      r.Duration("commandTimeout", &l.command_timeout);
      r.Duration("dataTimeout", &l.data_timeout);
      r.Finish();
      if (l.require_auth && l.users.empty()) {
        d_.Add(r.PathOf("users"), "requireAuth is true but no users are configured");
      }
      c_->listeners.push_back(std::move(l));
    }
  }

  void LoadUsers(const rj::Value& v, const std::string& path, std::vector<ListenerUser>* out) {
    if (!v.IsArray()) {
      d_.Add(path, "expected an array of {name, passwordHash}");
      return;
    }
    for (rj::SizeType i = 0; i < v.Size(); ++i) {
      ObjectReader r(v[i], IndexPath(path, i), &d_);
      ListenerUser u;
      if (r.Require("name")) r.String("name", &u.name);
      if (r.Require("passwordHash")) r.String("passwordHash", &u.password_hash);
      r.Finish();
      out->push_back(std::move(u));
    }
  }

  void LoadAdmin(const rj::Value& v) {
    ObjectReader r(v, "admin", &d_);
    r.String("bind", &c_->admin.bind);
    if (!ValidHostPort(c_->admin.bind, false)) {
      d_.Add(r.PathOf("bind"), "'" + c_->admin.bind + "' is not host:port");
    }
    if (const rj::Value* t = r.Take("token")) LoadSecret(*t, r.PathOf("token"), &c_->admin.token);
    r.Finish();
  }

  void LoadDns(const rj::Value& v) {
    ObjectReader r(v, "dns", &d_);
    r.StringList("servers", &c_->dns.servers);
    for (size_t i = 0; i < c_->dns.servers.size(); ++i) {
      if (!ValidHostPort(c_->dns.servers[i], true)) {
        d_.Add(IndexPath(r.PathOf("servers"), i),
               "'" + c_->dns.servers[i] + "' is not ip:port (e.g. 127.0.0.1:53)");
      }
    }
    r.Duration("timeout", &c_->dns.timeout);
    r.Finish();
  }

  void LoadTlsPolicy(const rj::Value& v) {
    ObjectReader r(v, "tlsPolicy", &d_);
    TlsPolicyConfig& t = c_->tls_policy;
    r.String("caFile", &t.ca_file);
    r.Uint("mtaStsPort", &t.mta_sts_port, 1, 65535);
    r.Bool("reports", &t.reports);
    r.Duration("reportInterval", &t.report_interval);
    if (t.report_interval < Millis(1000)) {
      d_.Add(r.PathOf("reportInterval"), "must be at least 1s");
    }
    r.String("reportOrganization", &t.report_organization);
    r.String("reportContact", &t.report_contact);
    r.String("reportSender", &t.report_sender);
    r.Finish();
  }

  void LoadLocalDomains(const rj::Value& v) {
    if (!ReadStringList(v, "localDomains", &d_, &c_->local_domains)) return;
    for (std::string& dom : c_->local_domains) {
      dom = Lower(dom);
      c_->lookups.local_domains.insert(dom);
    }
  }

  void LoadLists(const rj::Value& v) {
    if (!v.IsObject()) {
      d_.Add("lists", "expected an object of named lists");
      return;
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      NamedList list;
      list.name.assign(it->name.GetString(), it->name.GetStringLength());
      std::string path = JoinPath("lists", list.name);
      if (it->value.IsArray()) {
        std::vector<std::string> items;
        ReadStringList(it->value, path, &d_, &items);
        for (std::string& s : items) list.entries.emplace(s, s);
      } else if (it->value.IsObject()) {
        for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
          std::string key(m->name.GetString(), m->name.GetStringLength()), val;
          if (ReadString(m->value, JoinPath(path, key), &d_, &val)) list.entries.emplace(key, val);
        }
      } else {
        d_.Add(path, "expected an array of strings or an object of strings");
        continue;
      }
      if (c_->lookups.list_index.count(list.name)) {
        d_.Add(path, "duplicate list");
        continue;
      }
      c_->lookups.list_index.emplace(list.name, c_->lookups.lists.size());
      c_->lookups.lists.push_back(std::move(list));
    }
  }

  void LoadLocal(const rj::Value& v) {
    ObjectReader r(v, "local", &d_);
    r.String("maildirRoot", &c_->local.maildir_root);
    if (const rj::Value* u = r.Take("users")) {
      std::vector<std::string> users;
      if (ReadStringList(*u, r.PathOf("users"), &d_, &users)) {
        StringSet set;
        for (const std::string& name : users) set.insert(Lower(name));
        c_->lookups.local_users = std::move(set);
        c_->local.users = std::move(users);
      }
    }
    r.Finish();
  }

  void LoadQueue(const rj::Value& v) {
    ObjectReader r(v, "queue", &d_);
    QueueConfig& q = c_->queue;
    r.Duration("failedRetention", &q.failed_retention);
    r.Duration("completedRetention", &q.completed_retention);
    r.Size("maxMessageSize", &q.max_message_size);
    r.Size("minFreeSpace", &q.min_free_space);
    r.Uint("mxConcurrency", &q.mx_concurrency, 1, 100000);
    r.Finish();
  }

  // Named objects: configured ones replace built-ins of the same name, others are appended.
  template <typename T>
  void LoadNamed(const rj::Value* v, const std::string& section, std::vector<T>* items,
                 const std::function<void(ObjectReader&, T*)>& load) {
    if (v == nullptr) return;
    if (!v->IsArray()) {
      d_.Add(section, "expected an array of objects");
      return;
    }
    std::vector<std::string> seen;
    for (rj::SizeType i = 0; i < v->Size(); ++i) {
      ObjectReader r((*v)[i], IndexPath(section, i), &d_);
      if (!r.valid()) continue;
      T obj;
      if (r.Require("name")) r.String("name", &obj.name);
      r.String("description", &obj.description);
      load(r, &obj);
      r.Finish();
      if (obj.name.empty()) continue;
      if (std::find(seen.begin(), seen.end(), obj.name) != seen.end()) {
        d_.Add(r.PathOf("name"), "duplicate name '" + obj.name + "'");
        continue;
      }
      seen.push_back(obj.name);
      auto existing = std::find_if(items->begin(), items->end(),
                                   [&](const T& o) { return o.name == obj.name; });
      if (existing != items->end()) {
        *existing = std::move(obj);
      } else {
        items->push_back(std::move(obj));
      }
    }
  }

  void LoadRoute(ObjectReader& r, Route* route) {
    std::optional<std::string> type = r.Type();
    if (!type) {
      d_.Add(r.PathOf("@type"), "missing (one of Local, Mx, Relay)");
      return;
    }
    if (*type == "Local") {
      route->kind = Route::Kind::kLocal;
    } else if (*type == "Mx") {
      route->kind = Route::Kind::kMx;
      r.Uint("maxMxHosts", &route->max_mx_hosts, 1, 100);
      r.Uint("maxMultihomed", &route->max_multihomed, 1, 100);
      std::string lookup;
      r.String("ipLookupStrategy", &lookup);
      if (lookup == "v4ThenV6" || lookup.empty()) {
        route->ip_lookup = IpLookup::kV4ThenV6;
      } else if (lookup == "v6ThenV4") {
        route->ip_lookup = IpLookup::kV6ThenV4;
      } else if (lookup == "v4Only") {
        route->ip_lookup = IpLookup::kV4Only;
      } else if (lookup == "v6Only") {
        route->ip_lookup = IpLookup::kV6Only;
      } else {
        d_.Add(r.PathOf("ipLookupStrategy"),
               "'" + lookup + "' is not one of v4ThenV6, v6ThenV4, v4Only, v6Only");
      }
    } else if (*type == "Relay") {
      route->kind = Route::Kind::kRelay;
      LoadRelay(r, route);
    } else {
      d_.Add(r.PathOf("@type"), "'" + *type + "' is not one of Local, Mx, Relay");
    }
  }

  void LoadRelay(ObjectReader& r, Route* route) {
    if (r.Require("address")) r.String("address", &route->address);
    if (const rj::Value* p = r.Take("port")) {
      if (p->IsUint64() && (p->GetUint64() == 0 || p->GetUint64() > 65535)) {
        d_.Add(r.PathOf("port"), std::to_string(p->GetUint64()) + " is not a port");
      } else {
        uint64_t port = 25;
        if (ReadUint(*p, r.PathOf("port"), &d_, 1, 65535, &port)) {
          route->port = static_cast<uint16_t>(port);
        }
      }
    }
    std::string protocol = "smtp";
    r.String("protocol", &protocol);
    if (protocol == "smtp") {
      route->protocol = RelayProtocol::kSmtp;
    } else if (protocol == "lmtp") {
      route->protocol = RelayProtocol::kLmtp;
    } else {
      d_.Add(r.PathOf("protocol"), "'" + protocol + "' is not smtp or lmtp");
    }
    r.Bool("implicitTls", &route->implicit_tls);
    r.Bool("allowInvalidCerts", &route->allow_invalid_certs);
    r.String("authUsername", &route->auth_username);
    if (const rj::Value* s = r.Take("authSecret")) {
      LoadSecret(*s, r.PathOf("authSecret"), &route->auth_secret);
    }
    r.Uint("concurrency", &route->concurrency, 1, 100000);
    if (!route->auth_username.empty() && !route->auth_secret.present()) {
      d_.Add(r.PathOf("authSecret"), "authUsername is set but there is no secret");
    }
  }

  void LoadSecret(const rj::Value& v, const std::string& path, Secret* out) {
    ObjectReader r(v, path, &d_);
    if (!r.valid()) return;
    std::string type = r.Type().value_or("");
    if (type == "None") {
      out->source = Secret::Source::kNone;
    } else if (type == "Value") {
      out->source = Secret::Source::kValue;
      if (r.Require("secret")) r.String("secret", &out->value);
    } else if (type == "EnvironmentVariable") {
      out->source = Secret::Source::kEnvironmentVariable;
      if (r.Require("variable")) r.String("variable", &out->reference);
      if (!out->reference.empty() && secrets_ != nullptr) {
        auto value = secrets_->GetEnv(out->reference);
        if (value.ok()) {
          out->value = *value;
        } else {
          d_.Add(path, value.status().message());
        }
      }
    } else if (type == "File") {
      out->source = Secret::Source::kFile;
      if (r.Require("filePath")) r.String("filePath", &out->reference);
      if (!out->reference.empty() && secrets_ != nullptr) {
        auto value = secrets_->ReadFile(out->reference);
        if (value.ok()) {
          out->value = *value;
          if (!out->value.empty() && out->value.back() == '\n') out->value.pop_back();
          if (!out->value.empty() && out->value.back() == '\r') out->value.pop_back();
        } else {
          d_.Add(path, value.status().message());
        }
      }
    } else {
      d_.Add(JoinPath(path, "@type"),
             "'" + type + "' is not one of None, Value, EnvironmentVariable, File");
    }
    r.Finish();
  }

  // A retry/notify list: an array of durations, or {"@type":"Custom","intervals":...} with
  // intervals an array or an object keyed "0","1",... of durations or {"duration": d}, or
  // {"@type":"Default"}.
  void LoadIntervals(const rj::Value& v, const std::string& path, std::vector<Millis> defaults,
                     std::vector<Millis>* out) {
    const rj::Value* list = &v;
    if (v.IsObject()) {
      ObjectReader r(v, path, &d_);
      std::string type = r.Type().value_or("Custom");
      if (type == "Default") {
        r.Finish();
        *out = std::move(defaults);
        return;
      }
      if (type != "Custom") {
        d_.Add(JoinPath(path, "@type"), "'" + type + "' is not Default or Custom");
      }
      list = r.Require("intervals");
      r.Finish();
      if (list == nullptr) return;
    }
    std::string list_path = list == &v ? path : JoinPath(path, "intervals");
    std::vector<std::pair<std::string, const rj::Value*>> items;
    if (list->IsArray()) {
      for (rj::SizeType i = 0; i < list->Size(); ++i) {
        items.emplace_back(IndexPath(list_path, i), &(*list)[i]);
      }
    } else if (list->IsObject()) {
      for (rj::SizeType i = 0; i < list->MemberCount(); ++i) {
        auto m = list->FindMember(std::to_string(i).c_str());
        if (m == list->MemberEnd()) {
          d_.Add(list_path, "keys must be \"0\", \"1\", ... without gaps");
          return;
        }
        items.emplace_back(JoinPath(list_path, std::to_string(i)), &m->value);
      }
    } else {
      d_.Add(list_path, "expected an array of durations");
      return;
    }
    out->clear();
    for (auto& [item_path, item] : items) {
      const rj::Value* d = item;
      if (item->IsObject()) {
        ObjectReader r(*item, item_path, &d_);
        d = r.Require("duration");
        r.Finish();
        if (d == nullptr) continue;
      }
      Millis ms{0};
      if (ReadDuration(*d, item_path, &d_, &ms)) out->push_back(ms);
    }
  }

  void LoadSchedule(ObjectReader& r, Schedule* s) {
    // Unspecified fields take the `remote` built-in's values.
    s->retry = DefaultRetry();
    s->notify = {hours(24), hours(72)};
    s->queue_id.clear();
    r.String("queueId", &s->queue_id);
    if (s->queue_id.empty()) s->queue_id = s->name;
    if (const rj::Value* v = r.Take("retry")) {
      LoadIntervals(*v, r.PathOf("retry"), DefaultRetry(), &s->retry);
      if (s->retry.empty()) d_.Add(r.PathOf("retry"), "needs at least one interval");
    }
    if (const rj::Value* v = r.Take("notify")) {
      LoadIntervals(*v, r.PathOf("notify"), {hours(24), hours(72)}, &s->notify);
    }
    if (const rj::Value* v = r.Take("expiry")) {
      ObjectReader e(*v, r.PathOf("expiry"), &d_);
      std::string type = e.Type().value_or("");
      if (type == "Ttl") {
        s->expiry = Schedule::ExpiryKind::kTtl;
        if (e.Require("expire")) e.Duration("expire", &s->ttl);
      } else if (type == "Attempts") {
        s->expiry = Schedule::ExpiryKind::kAttempts;
        if (e.Require("maxAttempts")) e.Uint("maxAttempts", &s->max_attempts, 1, 100000);
      } else if (e.valid()) {
        d_.Add(e.PathOf("@type"), "'" + type + "' is not Ttl or Attempts");
      }
      e.Finish();
    }
    schedule_paths_[s->name] = r.PathOf("queueId");
  }

  void LoadConnection(ObjectReader& r, ConnectionStrategy* s) {
    r.String("ehloHostname", &s->ehlo_hostname);
    if (const rj::Value* v = r.Take("sourceIps")) {
      std::string path = r.PathOf("sourceIps");
      if (!v->IsArray()) {
        d_.Add(path, "expected an array");
      } else {
        for (rj::SizeType i = 0; i < v->Size(); ++i) {
          SourceIp ip;
          std::string item_path = IndexPath(path, i);
          if ((*v)[i].IsString()) {
            ReadString((*v)[i], item_path, &d_, &ip.ip);
          } else {
            ObjectReader o((*v)[i], item_path, &d_);
            if (o.Require("sourceIp")) o.String("sourceIp", &ip.ip);
            o.String("ehloHostname", &ip.ehlo_hostname);
            o.Finish();
          }
          if (!ip.ip.empty() && !IsIpLiteral(ip.ip)) {
            d_.Add(item_path, "'" + ip.ip + "' is not an IP address");
          }
          s->source_ips.push_back(std::move(ip));
        }
      }
    }
    r.Duration("connectTimeout", &s->connect_timeout);
    r.Duration("greetingTimeout", &s->greeting_timeout);
    r.Duration("ehloTimeout", &s->ehlo_timeout);
    r.Duration("mailFromTimeout", &s->mail_from_timeout);
    r.Duration("rcptToTimeout", &s->rcpt_to_timeout);
    r.Duration("dataTimeout", &s->data_timeout);
  }

  void ReadRequirement(ObjectReader& r, std::string_view key, TlsRequirement* out) {
    const rj::Value* v = r.Take(key);
    std::string s;
    if (v == nullptr || !ReadString(*v, r.PathOf(key), &d_, &s)) return;
    if (s == "optional") {
      *out = TlsRequirement::kOptional;
    } else if (s == "require" || s == "required") {
      *out = TlsRequirement::kRequire;
    } else if (s == "disable" || s == "disabled") {
      *out = TlsRequirement::kDisable;
    } else {
      d_.Add(r.PathOf(key), "'" + s + "' is not one of optional, require, disable");
    }
  }

  void LoadTls(ObjectReader& r, TlsStrategy* s) {
    ReadRequirement(r, "startTls", &s->start_tls);
    ReadRequirement(r, "dane", &s->dane);
    ReadRequirement(r, "mtaSts", &s->mta_sts);
    r.Bool("allowInvalidCerts", &s->allow_invalid_certs);
    r.Duration("tlsTimeout", &s->tls_timeout);
    r.Duration("mtaStsTimeout", &s->mta_sts_timeout);
  }

  template <typename T>
  void Index(const std::vector<T>& items, StringMap<int>* index) {
    index->clear();
    for (size_t i = 0; i < items.size(); ++i) index->emplace(items[i].name, static_cast<int>(i));
  }

  void BuildIndexes() {
    Index(c_->routes, &c_->route_index);
    Index(c_->virtual_queues, &c_->virtual_queue_index);
    Index(c_->schedules, &c_->schedule_index);
    Index(c_->connection_strategies, &c_->connection_index);
    Index(c_->tls_strategies, &c_->tls_index);
  }

  void CheckScheduleQueues() {
    for (const Schedule& s : c_->schedules) {
      if (c_->FindVirtualQueue(s.queue_id) != nullptr) continue;
      auto it = schedule_paths_.find(s.name);
      d_.Add(it == schedule_paths_.end() ? "schedules" : it->second,
             "no virtual queue named '" + s.queue_id + "'");
    }
  }

  // ---- strategy expressions
  StatusOr<Expression> CompileAt(const rj::Value& v, const std::string& path, VariableSet vars) {
    std::string text;
    if (!ReadString(v, path, &d_, &text)) return Status::InvalidArgument("");
    auto e = Expression::Compile(text, vars, &c_->lookups);
    if (!e.ok()) d_.Add(path, e.status().message());
    return e;
  }

  // A string (constant expression) or {"match": [...] | {"0": ...}, "else": "..."}.
  std::optional<IfBlock> LoadIfBlock(const rj::Value& v, const std::string& path, VariableSet vars) {
    if (v.IsString()) {
      auto e = CompileAt(v, path, vars);
      if (!e.ok()) return std::nullopt;
      return IfBlock({}, std::move(*e));
    }
    ObjectReader r(v, path, &d_);
    if (!r.valid()) return std::nullopt;
    bool ok = true;
    std::vector<IfBlock::Rule> rules;
    if (const rj::Value* m = r.Take("match")) {
      std::string mpath = r.PathOf("match");
      std::vector<std::pair<std::string, const rj::Value*>> items;
      if (m->IsArray()) {
        for (rj::SizeType i = 0; i < m->Size(); ++i) items.emplace_back(IndexPath(mpath, i), &(*m)[i]);
      } else if (m->IsObject()) {
        for (rj::SizeType i = 0; i < m->MemberCount(); ++i) {
          auto it = m->FindMember(std::to_string(i).c_str());
          if (it == m->MemberEnd()) {
            d_.Add(mpath, "keys must be \"0\", \"1\", ... without gaps");
            return std::nullopt;
          }
          items.emplace_back(JoinPath(mpath, std::to_string(i)), &it->value);
        }
      } else {
        d_.Add(mpath, "expected an array of {\"if\", \"then\"} objects");
        return std::nullopt;
      }
      for (auto& [item_path, item] : items) {
        ObjectReader ir(*item, item_path, &d_);
        const rj::Value* cond = ir.Require("if");
        const rj::Value* then = ir.Require("then");
        ir.Finish();
        if (cond == nullptr || then == nullptr) {
          ok = false;
          continue;
        }
        auto c = CompileAt(*cond, ir.PathOf("if"), vars);
        auto t = CompileAt(*then, ir.PathOf("then"), vars);
        if (!c.ok() || !t.ok()) {
          ok = false;
          continue;
        }
        rules.push_back({std::move(*c), std::move(*t)});
      }
    }
    const rj::Value* otherwise = r.Require("else");
    r.Finish();
    if (otherwise == nullptr) return std::nullopt;
    auto e = CompileAt(*otherwise, r.PathOf("else"), vars);
    if (!e.ok() || !ok) return std::nullopt;
    return IfBlock(std::move(rules), std::move(*e));
  }

  // Resolves every literal result to an object index, or reports it.
  int ResolveLiteral(const Expression& e, const std::string& path, std::string_view kind,
                     const StringMap<int>& index) {
    const Value* c = e.constant();
    if (c == nullptr) return -1;
    if (!c->is_string()) {
      d_.Add(path, "returns " + c->ToString() + ", not a " + std::string(kind) + " name");
      return -1;
    }
    auto it = index.find(c->str());
    if (it == index.end()) {
      d_.Add(path, "no " + std::string(kind) + " named '" + std::string(c->str()) + "'");
      return -1;
    }
    return it->second;
  }

  void Resolve(CompiledStrategy* s, const std::string& path, bool configured, std::string_view kind,
               const StringMap<int>& index) {
    // Built-in defaults are checked against the final objects too (a user may have
    // configured no 'invalid-tls', but built-ins always exist, so this cannot fail).
    s->rule_targets.clear();
    for (size_t i = 0; i < s->block.rules().size(); ++i) {
      std::string p = configured ? IndexPath(JoinPath(path, "match"), i) + ".then" : path;
      s->rule_targets.push_back(ResolveLiteral(s->block.rules()[i].then, p, kind, index));
    }
    std::string else_path = configured ? (s->block.rules().empty() && plain_[path] ? path : JoinPath(path, "else")) : path;
    s->else_target = ResolveLiteral(s->block.otherwise(), else_path, kind, index);
  }

  void LoadStrategies(const rj::Value* strategy) {
    struct Item {
      const char* key;
      VariableSet vars;
      CompiledStrategy* target;
      const char* kind;
      const StringMap<int>* index;
    };
    Item items[] = {
        {"route", VariableSet::kRcpt, &c_->route_strategy, "route", &c_->route_index},
        {"schedule", VariableSet::kRcpt, &c_->schedule_strategy, "schedule", &c_->schedule_index},
        {"connection", VariableSet::kHost, &c_->connection_strategy, "connection strategy",
         &c_->connection_index},
        {"tls", VariableSet::kHost, &c_->tls_strategy, "tls strategy", &c_->tls_index},
    };
    std::optional<ObjectReader> r;
    if (strategy) r.emplace(*strategy, "strategy", &d_);
    for (Item& item : items) {
      std::string path = JoinPath("strategy", item.key);
      const rj::Value* v = r ? r->Take(item.key) : nullptr;
      if (v != nullptr) {
        plain_[path] = v->IsString();
        if (auto block = LoadIfBlock(*v, path, item.vars)) item.target->block = std::move(*block);
      }
      Resolve(item.target, path, v != nullptr, item.kind, *item.index);
    }
    if (r) r->Finish();
  }

  const SecretResolver* secrets_;  // null: do not resolve
  Config* c_;
  Diagnostics d_;
  StringMap<std::string> schedule_paths_;
  StringMap<bool> plain_;
};

std::string LineColumn(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

namespace {

std::vector<std::string> RelayTlsRequirementErrors(const std::shared_ptr<const Config>& config) {
  // DANE and MTA-STS never apply to a configured relay (as in Stalwart). The TLS strategy is
  // chosen per host by an expression, so the check asks what a first delivery through each
  // relay would get, and judges only when that answer depends on nothing but the host and the
  // attempt counters (not on the recipient or message, which a relay route does not fix).
  // Other cases are caught at delivery (a temporary `config` failure naming the same key).
  constexpr VariableMask kKnown =
      VariableBit(Variable::kMx) | VariableBit(Variable::kRemoteIp) |
      VariableBit(Variable::kLocalIp) | VariableBit(Variable::kRetryNum) |
      VariableBit(Variable::kNotifyNum) | VariableBit(Variable::kLastError) |
      VariableBit(Variable::kLastStatus);
  std::vector<std::string> errors;
  Router router(config);
  for (const Route& route : config->routes) {
    if (route.kind != Route::Kind::kRelay) continue;
    Envelope env;
    env.mx = route.address;
    auto tls = router.DecideTls(env);
    if (!tls.ok()) continue;  // computed names are reported when used
    if ((tls->variables_read & ~kKnown) != 0) continue;
    std::string key = RelayTlsRequirementKey(*tls->object);
    if (key.empty()) continue;
    errors.push_back(key + ": 'require' cannot apply to relay route '" + route.name +
                     "' (DANE and MTA-STS are only used on Mx routes); give relay hosts a TLS "
                     "strategy without it");
  }
  return errors;
}

}  // namespace

StatusOr<std::shared_ptr<const Config>> LoadConfig(std::string_view json,
                                                   const SecretResolver* secrets) {
  rj::Document doc;
  doc.Parse<rj::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return Status::InvalidArgument("invalid JSON at " + LineColumn(json, doc.GetErrorOffset()) +
                                   ": " + rj::GetParseError_En(doc.GetParseError()));
  }
  auto config = std::make_shared<Config>();
  Loader loader(secrets, config.get());
  loader.Load(doc);
  std::vector<std::string> errors = loader.diagnostics().errors();
  if (errors.empty()) errors = RelayTlsRequirementErrors(config);
  if (!errors.empty()) {
    std::string msg;
    for (const std::string& e : errors) {
      if (!msg.empty()) msg += "\n";
      msg += e;
    }
    return Status::InvalidArgument(msg);
  }
  return std::shared_ptr<const Config>(std::move(config));
}

StatusOr<std::shared_ptr<const Config>> LoadConfigFile(std::string_view path,
                                                       const SecretResolver* secrets) {
  OUTPOST_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  auto config = LoadConfig(text, secrets);
  if (!config.ok()) return config.status().Annotate(path);
  return config;
}

std::shared_ptr<const Config> DefaultConfig() { return LoadConfig("{}", nullptr).value(); }

}  // namespace outpost::router
