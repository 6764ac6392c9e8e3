// Every routing example of the seeds, loaded from JSON and from legacy TOML (through the
// importer), routes as the seed's text says.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/config_loader.h"
#include "router/json.h"
#include "router/legacy_import.h"
#include "router/router.h"
#include "tests/router/test_support.h"

namespace outpost::router {
namespace {

// The importer cannot know Stalwart's directory, so (as its warning says) the operator adds
// localDomains; the test does the same.
StatusOr<std::shared_ptr<const Config>> LoadImported(const std::string& toml_file,
                                                     LegacyImport* import_out) {
  OUTPOST_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(TestdataPath(toml_file)));
  OUTPOST_ASSIGN_OR_RETURN(LegacyImport imported, ImportLegacyToml(text));
  rj::Document doc;
  doc.Parse(imported.json.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return Status::Internal("importer wrote bad JSON");
  rj::Value domains(rj::kArrayType);
  domains.PushBack("example.org", doc.GetAllocator());
  doc.AddMember("localDomains", domains, doc.GetAllocator());
  rj::StringBuffer buf;
  rj::StringWriter w(buf);
  doc.Accept(w);
  if (import_out) *import_out = imported;
  FakeSecrets secrets;
  auto config = LoadConfig(std::string(buf.GetString(), buf.GetSize()), &secrets);
  if (!config.ok()) return config.status().Annotate(imported.json);
  return config;
}

StatusOr<std::shared_ptr<const Config>> LoadSeedConfig(const std::string& file) {
  if (file.ends_with(".toml")) return LoadImported(file, nullptr);
  FakeSecrets secrets;
  return LoadConfigFile(TestdataPath(file), &secrets);
}

struct RouteCase {
  const char* scenario;
  const char* file;
  const char* rcpt;
  int retry_num;
  const char* want_route;
  int want_rule;  // -1 = else
};

class SeedRoutes : public ::testing::TestWithParam<RouteCase> {};

TEST_P(SeedRoutes, RoutesAsTheSeedSays) {
  const RouteCase& c = GetParam();
  auto config = LoadSeedConfig(c.file);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Router router(*config);
  SplitAddressResult to = NormalizeAddress(c.rcpt);
  Envelope env;
  env.rcpt = to.address;
  env.rcpt_domain = to.domain;
  env.retry_num = c.retry_num;
  auto d = router.DecideRoute(env);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->object->name, c.want_route) << c.scenario;
  EXPECT_EQ(d->rule, c.want_rule) << c.scenario;
}

const RouteCase kRouteCases[] = {
    {"local delivery, local domain (JSON)", "local.json", "user@example.org", 0, "local", 0},
    {"local delivery, remote domain (JSON)", "local.json", "user@remote.net", 0, "mx", -1},
    {"local delivery, local domain (TOML)", "local.toml", "User@Example.ORG", 0, "local", 0},
    {"local delivery, remote domain (TOML) false->mx", "local.toml", "user@remote.net", 0, "mx", -1},
    {"relay host picks relay (JSON)", "relay.json", "user@example.org", 0, "relay", 0},
    {"relay host otherwise mx (JSON)", "relay.json", "user@remote.net", 0, "mx", -1},
    {"relay host picks relay (TOML)", "relay.toml", "user@example.org", 0, "relay", 0},
    {"relay host otherwise mx (TOML)", "relay.toml", "user@remote.net", 0, "mx", -1},
    {"failover: first attempt by MX (JSON)", "failover.json", "user@remote.net", 0, "mx", -1},
    {"failover: after one failure still MX (JSON)", "failover.json", "user@remote.net", 1, "mx", -1},
    {"failover: after the second failure (JSON)", "failover.json", "user@remote.net", 2, "fallback", 1},
    {"failover: later attempts stay on fallback (JSON)", "failover.json", "user@remote.net", 7, "fallback", 1},
    {"failover: local domains stay local (JSON)", "failover.json", "user@example.org", 3, "local", 0},
    {"failover: first attempt by MX (TOML)", "failover.toml", "user@remote.net", 0, "mx", -1},
    {"failover: after one failure still MX (TOML)", "failover.toml", "user@remote.net", 1, "mx", -1},
    {"failover: after the second failure (TOML)", "failover.toml", "user@remote.net", 2, "fallback", 1},
    {"failover: local domains stay local (TOML)", "failover.toml", "user@example.org", 3, "local", 0},
    {"LMTP for local domains (JSON)", "lmtp.json", "user@example.org", 0, "lmtp", 0},
    {"LMTP: remote by MX (JSON)", "lmtp.json", "user@remote.net", 0, "mx", -1},
    {"LMTP for local domains (TOML)", "lmtp.toml", "user@example.org", 0, "lmtp", 0},
    {"LMTP: remote by MX (TOML)", "lmtp.toml", "user@remote.net", 0, "mx", -1},
    {"LMTP by list membership (early TOML form)", "lmtp_list.toml", "user@foobar.net", 0, "lmtp", 0},
    {"LMTP list: other list entry", "lmtp_list.toml", "user@FOOBAR.org", 0, "lmtp", 0},
    {"LMTP list: not in list -> mx", "lmtp_list.toml", "user@example.org", 0, "mx", -1},
    {"SQL list imported empty -> mx", "lmtp_sql.toml", "user@foobar.net", 0, "mx", -1},
    {"seed 004 route local (JSON)", "strategies.json", "user@example.org", 0, "local", 0},
    {"seed 004 route mx (JSON)", "strategies.json", "user@remote.net", 0, "mx", -1},
    {"seed 004 route local (TOML 0.13-0.15)", "strategies.toml", "user@example.org", 0, "local", 0},
    {"seed 004 route mx (TOML 0.13-0.15)", "strategies.toml", "user@remote.net", 0, "mx", -1},
};

INSTANTIATE_TEST_SUITE_P(Seeds, SeedRoutes, ::testing::ValuesIn(kRouteCases));

// Seed 004: all four expressions.
struct StrategyCase {
  const char* rcpt;
  const char* source;
  int retry_num;
  const char* last_error;
  const char* route;
  const char* schedule;
  const char* connection;
  const char* tls;
};

class Seed004 : public ::testing::TestWithParam<const char*> {};

TEST_P(Seed004, FourExpressions) {
  auto config = LoadSeedConfig(GetParam());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Router router(*config);
  const StrategyCase cases[] = {
      {"a@example.org", "authenticated", 0, "none", "local", "local", "default", "default"},
      {"a@remote.net", "authenticated", 0, "none", "mx", "remote", "default", "default"},
      {"a@remote.net", "dsn", 0, "none", "mx", "dsn", "default", "default"},
      {"a@remote.net", "report", 0, "none", "mx", "report", "default", "default"},
      {"a@remote.net", "authenticated", 1, "connection", "mx", "remote", "long-timeout", "default"},
      {"a@remote.net", "authenticated", 0, "connection", "mx", "remote", "default", "default"},
      {"a@remote.net", "authenticated", 2, "tls", "mx", "remote", "default", "invalid-tls"},
      {"a@example.org", "dsn", 0, "none", "local", "local", "default", "default"},
  };
  for (const StrategyCase& c : cases) {
    SplitAddressResult to = NormalizeAddress(c.rcpt);
    Envelope env;
    env.rcpt = to.address;
    env.rcpt_domain = to.domain;
    env.source = c.source;
    env.retry_num = c.retry_num;
    env.last_error = c.last_error;
    env.mx = "mx.remote.net";
    std::string what = std::string(c.rcpt) + " " + c.source + " " + c.last_error;
    EXPECT_EQ(router.DecideRoute(env)->object->name, c.route) << what;
    EXPECT_EQ(router.DecideSchedule(env)->object->name, c.schedule) << what;
    EXPECT_EQ(router.DecideConnection(env)->object->name, c.connection) << what;
    EXPECT_EQ(router.DecideTls(env)->object->name, c.tls) << what;
  }
  const ConnectionStrategy* lt = (*config)->FindConnectionStrategy("long-timeout");
  ASSERT_NE(lt, nullptr);
  EXPECT_EQ(lt->connect_timeout, std::chrono::minutes(15));
  EXPECT_EQ(lt->data_timeout, std::chrono::minutes(30));
}

INSTANTIATE_TEST_SUITE_P(JsonAndToml, Seed004, ::testing::Values("strategies.json", "strategies.toml"));

// The relay objects carry the seed's fields, from both generations.
TEST(SeedObjects, LmtpRelayFieldsFromJsonAndToml) {
  for (const char* file : {"lmtp.json", "lmtp.toml"}) {
    auto config = LoadSeedConfig(file);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    const Route* r = (*config)->FindRoute("lmtp");
    ASSERT_NE(r, nullptr) << file;
    EXPECT_EQ(r->kind, Route::Kind::kRelay);
    EXPECT_EQ(r->address, "localhost");
    EXPECT_EQ(r->port, 24);
    EXPECT_EQ(r->protocol, RelayProtocol::kLmtp);
    EXPECT_FALSE(r->implicit_tls);
    EXPECT_TRUE(r->allow_invalid_certs);
    EXPECT_EQ(r->auth_username, "relay_server");
    EXPECT_EQ(r->auth_secret.source, Secret::Source::kValue);
    EXPECT_EQ(r->auth_secret.value, "123456");
  }
}

TEST(SeedObjects, FailoverRelayKeepsLegacyImplicitTlsWithWarning) {
  LegacyImport imported;
  auto config = LoadImported("failover.toml", &imported);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const Route* r = (*config)->FindRoute("fallback");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->implicit_tls);  // Stalwart <= 0.12 default, kept faithfully
  bool warned = false;
  for (const std::string& w : imported.warnings) {
    warned = warned || (w.find("remote.fallback.tls.implicit") != std::string::npos &&
                        w.find("port 25") != std::string::npos);
  }
  EXPECT_TRUE(warned);
  // The JSON model's default is the opposite.
  auto json = LoadSeedConfig("failover.json");
  ASSERT_TRUE(json.ok());
  EXPECT_FALSE((*json)->FindRoute("fallback")->implicit_tls);
}

TEST(SeedObjects, SqlListIsReportedNotDropped) {
  LegacyImport imported;
  auto config = LoadImported("lmtp_sql.toml", &imported);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  bool warned = false;
  for (const std::string& w : imported.warnings) {
    warned = warned || w.find("'sql/domains' is a sql lookup") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  ASSERT_NE((*config)->lookups.FindList("domains"), nullptr);
}

TEST(SeedObjects, ExamplesAreReadyToRun) {
  for (const char* name : {"local.json", "relay.json", "failover.json", "lmtp.json",
                           "strategies.json"}) {
    FakeSecrets secrets;
    secrets.env["OUTPOST_ADMIN_TOKEN"] = "example-token";
    auto config = LoadConfigFile(SourceDir() + "/examples/" + name, &secrets);
    ASSERT_TRUE(config.ok()) << name << ": " << config.status().ToString();
    EXPECT_FALSE((*config)->server.data_dir.empty()) << name;
    EXPECT_FALSE((*config)->listeners.empty()) << name;
  }
}

}  // namespace
}  // namespace outpost::router
