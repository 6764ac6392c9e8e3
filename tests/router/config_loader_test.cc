#include "router/config_loader.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/router/test_support.h"

namespace outpost::router {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::string Errors(std::string_view json, const FakeSecrets& secrets = FakeSecrets()) {
  auto c = LoadConfig(json, &secrets);
  return c.ok() ? "ok" : c.status().message();
}

std::shared_ptr<const Config> Load(std::string_view json, const FakeSecrets& secrets = FakeSecrets()) {
  auto c = LoadConfig(json, &secrets);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : nullptr;
}

TEST(ConfigLoader, EmptyConfigHasEveryBuiltIn) {
  auto c = Load("{}");
  ASSERT_NE(c, nullptr);
  ASSERT_NE(c->FindRoute("local"), nullptr);
  EXPECT_EQ(c->FindRoute("local")->kind, Route::Kind::kLocal);
  const Route* mx = c->FindRoute("mx");
  ASSERT_NE(mx, nullptr);
  EXPECT_EQ(mx->max_mx_hosts, 5u);
  EXPECT_EQ(mx->max_multihomed, 2u);
  EXPECT_EQ(mx->ip_lookup, IpLookup::kV4ThenV6);
  EXPECT_EQ(c->FindVirtualQueue("local")->threads_per_node, 25u);
  EXPECT_EQ(c->FindVirtualQueue("remote")->threads_per_node, 50u);
  EXPECT_EQ(c->FindVirtualQueue("dsn")->threads_per_node, 5u);
  EXPECT_EQ(c->FindVirtualQueue("report")->threads_per_node, 5u);
  const Schedule* remote = c->FindSchedule("remote");
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->retry, (std::vector<milliseconds>{minutes(2), minutes(5), minutes(10),
                                                       minutes(15), minutes(30), hours(1), hours(2)}));
  EXPECT_EQ(remote->notify, (std::vector<milliseconds>{hours(24), hours(72)}));
  EXPECT_EQ(remote->expiry, Schedule::ExpiryKind::kTtl);
  EXPECT_EQ(remote->ttl, hours(24 * 5));
  EXPECT_EQ(c->FindSchedule("dsn")->expiry, Schedule::ExpiryKind::kAttempts);
  EXPECT_EQ(c->FindSchedule("dsn")->max_attempts, 10u);
  EXPECT_EQ(c->FindSchedule("report")->max_attempts, 8u);
  EXPECT_TRUE(c->FindSchedule("report")->notify.empty());
  EXPECT_EQ(c->FindConnectionStrategy("default")->data_timeout, minutes(10));
  EXPECT_EQ(c->FindConnectionStrategy("default")->connect_timeout, minutes(5));
  EXPECT_FALSE(c->FindTlsStrategy("default")->allow_invalid_certs);
  EXPECT_TRUE(c->FindTlsStrategy("invalid-tls")->allow_invalid_certs);
  EXPECT_EQ(c->queue.max_message_size, 50u * 1024 * 1024);
  EXPECT_EQ(c->queue.mx_concurrency, 20u);
  EXPECT_EQ(c->queue.failed_retention, hours(24 * 7));
  EXPECT_EQ(c->queue.completed_retention, hours(24));
}

TEST(ConfigLoader, ConfiguredObjectReplacesBuiltInByName) {
  auto c = Load(R"j({"routes": [{"@type": "Mx", "name": "mx", "maxMxHosts": 3}],
                    "tlsStrategies": [{"name": "default", "startTls": "require"}]})j");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->FindRoute("mx")->max_mx_hosts, 3u);
  EXPECT_EQ(c->FindTlsStrategy("default")->start_tls, TlsRequirement::kRequire);
  EXPECT_NE(c->FindTlsStrategy("invalid-tls"), nullptr);
}

TEST(ConfigLoader, FullSketchFromDesignLoads) {
  FakeSecrets secrets;
  secrets.env["OUTPOST_ADMIN_TOKEN"] = "s3cret";
  auto c = Load(R"j({
    "server": {"hostname": "mx.example.org", "dataDir": "var/outpost"},
    "listeners": [{"name": "submit", "bind": "127.0.0.1:2525", "relayNetworks": ["127.0.0.0/8", "::1/128"],
                   "tls": {"certFile": "c.pem", "keyFile": "k.pem"}, "requireAuth": true,
                   "users": [{"name": "u", "passwordHash": "$h"}], "maxMessageSize": "10MB",
                   "maxConnectionsPerIp": 7, "commandTimeout": "30s"}],
    "admin": {"bind": "127.0.0.1:8025", "token": {"@type": "EnvironmentVariable", "variable": "OUTPOST_ADMIN_TOKEN"}},
    "dns": {"servers": ["127.0.0.1:53", "[::1]:5353"], "timeout": "5s"},
    "localDomains": ["Example.org"],
    "lists": {"domains": ["foobar.net", "foobar.org"], "map": {"a": "b"}},
    "local": {"maildirRoot": "var/mail", "users": null},
    "queue": {"failedRetention": "7d", "maxMessageSize": "50MB", "minFreeSpace": "2GB", "mxConcurrency": 4},
    "routes": [{"@type": "Local", "name": "local"},
               {"@type": "Mx", "name": "mx", "maxMxHosts": 5, "maxMultihomed": 2, "ipLookupStrategy": "v6Only"},
               {"@type": "Relay", "name": "lmtp", "address": "localhost", "port": 24, "protocol": "lmtp",
                "implicitTls": false, "allowInvalidCerts": true, "concurrency": 10,
                "authUsername": "relay_server", "authSecret": {"@type": "Value", "secret": "123456"}}],
    "strategy": {"route": {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}], "else": "'mx'"},
                 "schedule": {"else": "'remote'"},
                 "connection": {"else": "'default'"},
                 "tls": {"match": [{"if": "retry_num > 0 && last_error == 'tls'", "then": "'invalid-tls'"}], "else": "'default'"}},
    "virtualQueues": [{"name": "remote", "threadsPerNode": 50}],
    "schedules": [{"name": "remote", "queueId": "remote", "retry": ["2m","5m","10m","15m","30m","1h","2h"],
                   "notify": ["1d","3d"], "expiry": {"@type": "Ttl", "expire": "5d"}}],
    "connectionStrategies": [{"name": "default", "ehloHostname": null, "sourceIps": [],
                              "connectTimeout": "5m", "greetingTimeout": "5m", "ehloTimeout": "5m",
                              "mailFromTimeout": "5m", "rcptToTimeout": "5m", "dataTimeout": "10m"}],
    "tlsStrategies": [{"name": "default", "startTls": "optional", "dane": "optional", "mtaSts": "optional",
                       "allowInvalidCerts": false, "tlsTimeout": "3m", "mtaStsTimeout": "5m"}]
  })j", secrets);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->server.hostname, "mx.example.org");
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(*c->listeners[0].max_message_size, 10u * 1024 * 1024);
  EXPECT_EQ(c->listeners[0].max_connections_per_ip, 7u);
  EXPECT_EQ(c->listeners[0].command_timeout, seconds(30));
  EXPECT_EQ(c->listeners[0].max_recipients, 100u);
  EXPECT_EQ(c->admin.token.value, "s3cret");
  EXPECT_EQ(c->admin.token.reference, "OUTPOST_ADMIN_TOKEN");
  EXPECT_EQ(c->dns.servers.size(), 2u);
  EXPECT_EQ(c->local_domains, std::vector<std::string>{"example.org"});
  EXPECT_EQ(c->queue.min_free_space, 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(c->FindRoute("mx")->ip_lookup, IpLookup::kV6Only);
  EXPECT_EQ(c->FindRoute("lmtp")->concurrency, 10u);
  EXPECT_EQ(c->lookups.FindList("map")->entries.at("a"), "b");
}

TEST(ConfigLoader, StalwartShapesAreAccepted) {
  auto c = Load(R"j({
    "schedules": [{"name": "s", "queueId": "remote",
                   "retry": {"@type": "Custom", "intervals": {"0": {"duration": 60000}, "1": {"duration": "2m"}}},
                   "notify": {"@type": "Custom", "intervals": []},
                   "expiry": {"@type": "Attempts", "maxAttempts": 3}},
                  {"name": "t", "queueId": "remote", "retry": {"@type": "Default"}}],
    "strategy": {"route": {"match": {"0": {"if": "retry_num > 1", "then": "'local'"},
                                     "1": {"if": "retry_num > 0", "then": "'mx'"}},
                           "else": "'mx'"},
                 "schedule": "'s'"}
  })j");
  ASSERT_NE(c, nullptr);
  const Schedule* s = c->FindSchedule("s");
  EXPECT_EQ(s->retry, (std::vector<milliseconds>{minutes(1), minutes(2)}));
  EXPECT_TRUE(s->notify.empty());
  EXPECT_EQ(s->expiry, Schedule::ExpiryKind::kAttempts);
  EXPECT_EQ(s->max_attempts, 3u);
  EXPECT_EQ(c->FindSchedule("t")->retry.size(), 7u);
  EXPECT_EQ(c->route_strategy.block.rules().size(), 2u);
  EXPECT_EQ(c->schedule_strategy.else_target, c->schedule_index.at("s"));
}

struct ErrorCase {
  const char* name;
  const char* json;
  const char* want;  // a line of the error message
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, NamesThePath) {
  const ErrorCase& c = GetParam();
  std::string errors = Errors(c.json);
  EXPECT_NE(errors.find(c.want), std::string::npos) << c.name << "\n got: " << errors;
}

const ErrorCase kErrorCases[] = {
    {"port out of range",
     R"j({"routes": [{"@type": "Local", "name": "a"}, {"@type": "Mx", "name": "b"},
                    {"@type": "Relay", "name": "c", "address": "x", "port": 70000}]})j",
     "routes[2].port: 70000 is not a port"},
    {"unknown key (typo)", R"j({"routes": [{"@type": "Relay", "name": "r", "adress": "x"}]})j",
     "routes[0].adress: unknown key"},
    {"missing relay address", R"j({"routes": [{"@type": "Relay", "name": "r"}]})j",
     "routes[0].address: missing (required)"},
    {"unknown top-level key", R"j({"rootes": []})j", "rootes: unknown key"},
    {"unknown route type", R"j({"routes": [{"@type": "Smtp", "name": "r"}]})j",
     "routes[0].@type: 'Smtp' is not one of Local, Mx, Relay"},
    {"bad protocol", R"j({"routes": [{"@type": "Relay", "name": "r", "address": "a", "protocol": "http"}]})j",
     "routes[0].protocol: 'http' is not smtp or lmtp"},
    {"bad ip strategy", R"j({"routes": [{"@type": "Mx", "name": "mx", "ipLookupStrategy": "both"}]})j",
     "routes[0].ipLookupStrategy: 'both' is not one of"},
    {"duplicate names", R"j({"routes": [{"@type": "Local", "name": "a"}, {"@type": "Local", "name": "a"}]})j",
     "routes[1].name: duplicate name 'a'"},
    {"unknown variable with column",
     R"j({"strategy": {"route": {"match": [{"if": "rcpt_domian == 'x'", "then": "'mx'"}], "else": "'mx'"}}})j",
     "strategy.route.match[0].if: column 1: unknown variable 'rcpt_domian'"},
    {"host variable in route expression",
     R"j({"strategy": {"route": {"match": [{"if": "retry_num > 0 && mx == 'a'", "then": "'mx'"}], "else": "'mx'"}}})j",
     "strategy.route.match[0].if: column 18: variable 'mx' is only available in connection and tls"},
    {"wrong arity", R"j({"strategy": {"tls": {"match": [{"if": "starts_with(mx)", "then": "'default'"}], "else": "'default'"}}})j",
     "strategy.tls.match[0].if: column 1: function 'starts_with' expects 2 arguments, got 1"},
    {"bad regex", R"j({"strategy": {"route": {"match": [{"if": "matches('[', rcpt)", "then": "'mx'"}], "else": "'mx'"}}})j",
     "strategy.route.match[0].if: column 1: invalid regular expression '['"},
    {"unknown list", R"j({"strategy": {"route": {"match": [{"if": "key_exists('nope', rcpt)", "then": "'mx'"}], "else": "'mx'"}}})j",
     "strategy.route.match[0].if: column 1: unknown list 'nope'"},
    {"literal names a missing route",
     R"j({"strategy": {"route": {"match": [{"if": "true", "then": "'lmtpp'"}], "else": "'mx'"}}})j",
     "strategy.route.match[0].then: no route named 'lmtpp'"},
    {"else names a missing schedule", R"j({"strategy": {"schedule": {"else": "'nightly'"}}})j",
     "strategy.schedule.else: no schedule named 'nightly'"},
    {"plain string names a missing tls strategy", R"j({"strategy": {"tls": "'strict'"}})j",
     "strategy.tls: no tls strategy named 'strict'"},
    {"non-string literal", R"j({"strategy": {"route": {"else": "false"}}})j",
     "strategy.route.else: returns 0, not a route name"},
    {"missing else", R"j({"strategy": {"route": {"match": [{"if": "true", "then": "'mx'"}]}}})j",
     "strategy.route.else: missing (required)"},
    {"match object with a gap", R"j({"strategy": {"route": {"match": {"0": {"if": "true", "then": "'mx'"}, "2": {"if": "true", "then": "'mx'"}}, "else": "'mx'"}}})j",
     "strategy.route.match: keys must be \"0\", \"1\""},
    {"dane require on a relay route",
     R"j({"routes": [{"@type": "Relay", "name": "hub", "address": "10.0.0.1"}], "tlsStrategies": [{"name": "default", "dane": "require"}]})j",
     "tlsStrategies.default.dane: 'require' cannot apply to relay route 'hub'"},
    {"mtaSts require on a relay route",
     R"j({"routes": [{"@type": "Relay", "name": "hub", "address": "10.0.0.1"}], "tlsStrategies": [{"name": "default", "mtaSts": "require"}]})j",
     "tlsStrategies.default.mtaSts: 'require' cannot apply to relay route 'hub'"},
    {"bad mtaStsPort", R"j({"tlsPolicy": {"mtaStsPort": 0}})j", "tlsPolicy.mtaStsPort"},
    {"short reportInterval", R"j({"tlsPolicy": {"reportInterval": "10ms"}})j",
     "tlsPolicy.reportInterval: must be at least 1s"},
    {"bad duration", R"j({"queue": {"failedRetention": "7 days"}})j",
     "queue.failedRetention: '7 days' is not a duration"},
    {"negative duration", R"j({"queue": {"failedRetention": -5}})j",
     "queue.failedRetention: expected a duration"},
    {"bad size", R"j({"queue": {"maxMessageSize": "50TB"}})j",
     "queue.maxMessageSize: '50TB' is not a size"},
    {"schedule names a missing queue", R"j({"schedules": [{"name": "s", "queueId": "nope"}]})j",
     "schedules[0].queueId: no virtual queue named 'nope'"},
    {"empty retry", R"j({"schedules": [{"name": "s", "queueId": "remote", "retry": []}]})j",
     "schedules[0].retry: needs at least one interval"},
    {"bad expiry", R"j({"schedules": [{"name": "s", "queueId": "remote", "expiry": {"@type": "Never"}}]})j",
     "schedules[0].expiry.@type: 'Never' is not Ttl or Attempts"},
    {"unset env secret", R"j({"admin": {"token": {"@type": "EnvironmentVariable", "variable": "NOPE"}}})j",
     "admin.token: environment variable NOPE is not set"},
    {"unreadable file secret", R"j({"routes": [{"@type": "Relay", "name": "r", "address": "a", "authUsername": "u", "authSecret": {"@type": "File", "filePath": "/nope"}}]})j",
     "routes[0].authSecret: cannot read /nope"},
    {"username without secret", R"j({"routes": [{"@type": "Relay", "name": "r", "address": "a", "authUsername": "u"}]})j",
     "routes[0].authSecret: authUsername is set but there is no secret"},
    {"bad secret type", R"j({"admin": {"token": {"@type": "Vault"}}})j",
     "admin.token.@type: 'Vault' is not one of None, Value, EnvironmentVariable, File"},
    {"bad relay network", R"j({"listeners": [{"bind": "127.0.0.1:25", "relayNetworks": ["10.0.0.0/40"]}]})j",
     "listeners[0].relayNetworks[0]: '10.0.0.0/40' is not an IP network"},
    {"listener needs bind", R"j({"listeners": [{"name": "x"}]})j", "listeners[0].bind: missing (required)"},
    {"bad bind", R"j({"listeners": [{"bind": "localhost"}]})j", "listeners[0].bind: 'localhost' is not host:port"},
    {"duplicate bind",
     R"j({"listeners": [{"name": "submit", "bind": "127.0.0.1:25", "requireAuth": true,
                         "users": [{"name": "u", "passwordHash": "x"}]},
                        {"name": "mx", "bind": "127.0.0.1:25"}]})j",
     "listeners[1].bind: '127.0.0.1:25' is also the bind of listeners[0] ('submit')"},
    {"dns server must be ip:port", R"j({"dns": {"servers": ["ns.example:53"]}})j",
     "dns.servers[0]: 'ns.example:53' is not ip:port"},
    {"wrong type", R"j({"localDomains": "example.org"})j", "localDomains: expected an array of strings, found a string"},
    {"wrong bool", R"j({"listeners": [{"bind": "127.0.0.1:25", "requireAuth": "yes"}]})j",
     "listeners[0].requireAuth: expected true or false, found a string"},
    {"duplicate key", R"j({"queue": {"mxConcurrency": 1, "mxConcurrency": 2}})j",
     "queue.mxConcurrency: duplicate key"},
    {"invalid JSON with position", "{\n  \"queue\": {,}\n}", "invalid JSON at line 2, column 13"},
    {"trailing garbage", "{} x", "invalid JSON at line 1, column 4"},
    {"root not an object", "[]", "(top level): expected an object, found an array"},
};

INSTANTIATE_TEST_SUITE_P(Table, ConfigErrors, ::testing::ValuesIn(kErrorCases));

TEST(ConfigLoader, EveryErrorIsCollected) {
  std::string errors = Errors(R"j({"routes": [{"@type": "Relay", "name": "r", "address": "a", "port": 0}],
                                  "queue": {"mxConcurrency": "many"},
                                  "strategy": {"route": "'nowhere'"}})j");
  EXPECT_NE(errors.find("routes[0].port: 0 is not a port"), std::string::npos) << errors;
  EXPECT_NE(errors.find("queue.mxConcurrency: expected a number"), std::string::npos) << errors;
  EXPECT_NE(errors.find("strategy.route: no route named 'nowhere'"), std::string::npos) << errors;
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 2) << errors;
}

TEST(ConfigLoader, SecretsResolveThroughTheResolver) {
  FakeSecrets secrets;
  secrets.env["RELAY_PASS"] = "from-env";
  secrets.files["/run/secret"] = "from-file\n";
  auto c = Load(R"j({"routes": [
      {"@type": "Relay", "name": "a", "address": "h", "authUsername": "u", "authSecret": {"@type": "EnvironmentVariable", "variable": "RELAY_PASS"}},
      {"@type": "Relay", "name": "b", "address": "h", "authUsername": "u", "authSecret": {"@type": "File", "filePath": "/run/secret"}},
      {"@type": "Relay", "name": "c", "address": "h", "authSecret": {"@type": "None"}}]})j",
                secrets);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->FindRoute("a")->auth_secret.value, "from-env");
  EXPECT_EQ(c->FindRoute("b")->auth_secret.value, "from-file");
  EXPECT_EQ(c->FindRoute("b")->auth_secret.source, Secret::Source::kFile);
  EXPECT_FALSE(c->FindRoute("c")->auth_secret.present());
}

TEST(ConfigLoader, NullResolverLeavesSecretsUnresolved) {
  auto c = LoadConfig(R"j({"admin": {"token": {"@type": "EnvironmentVariable", "variable": "UNSET_VAR"}}})j",
                      nullptr);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)->admin.token.reference, "UNSET_VAR");
  EXPECT_TRUE((*c)->admin.token.value.empty());
}

TEST(ConfigLoader, DurationsAndSizes) {
  auto c = Load(R"j({"queue": {"failedRetention": 1500, "completedRetention": "500ms",
                              "maxMessageSize": 1000, "minFreeSpace": "1KB"},
                    "dns": {"timeout": "90s"}})j");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->queue.failed_retention, milliseconds(1500));
  EXPECT_EQ(c->queue.completed_retention, milliseconds(500));
  EXPECT_EQ(c->queue.max_message_size, 1000u);
  EXPECT_EQ(c->queue.min_free_space, 1024u);
  EXPECT_EQ(c->dns.timeout, seconds(90));
}

TEST(ConfigLoader, ComputedNamesAreLeftForRunTime) {
  auto c = Load(R"j({"strategy": {"route": {"match": [{"if": "true", "then": "'m' + 'x'"}], "else": "'mx'"}}})j");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->route_strategy.rule_targets[0], -1);
  EXPECT_EQ(c->route_strategy.else_target, c->route_index.at("mx"));
}

}  // namespace
}  // namespace outpost::router
