#include "router/legacy_import.h"

#include <gtest/gtest.h>

#include <string>

#include "router/config_loader.h"
#include "router/json.h"

namespace outpost::router {
namespace {

bool HasWarning(const LegacyImport& r, std::string_view needle) {
  for (const std::string& w : r.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string AllWarnings(const LegacyImport& r) {
  std::string out;
  for (const std::string& w : r.warnings) out += w + "\n";
  return out;
}

TEST(LegacyImport, Generation013FamilyConverts) {
  auto r = ImportLegacyToml(R"t(
[queue.strategy]
route = [ { if = "rcpt_domain == 'lmtp.test'", then = "'store'" }, { else = "'mx'" } ]
schedule = "'slow'"
connection = "'ipv6'"
# DANE does not apply to the relay 'store' (a config error if it would get 'strict').
tls = [ { if = "mx == '127.0.0.1'", then = "'default'" }, { else = "'strict'" } ]

[queue.route."store"]
type = "relay"
address = "127.0.0.1"
port = 2424
protocol = "lmtp"
tls.implicit = false
auth.username = "u"
auth.secret = "%{env:STORE_PASS}%"

[queue.route."mx"]
type = "mx"
limits.mx = 3
ip-lookup = "ipv6_then_ipv4"

[queue.schedule."slow"]
queue-name = "bulk"
retry = ["10m", "1h"]
notify = []
max-attempts = 4

[queue.virtual."bulk"]
threads-per-node = 3

[queue.connection."ipv6"]
source-ips = ["::1"]
ehlo-hostname = "out.example.org"
timeout.connect = "1m"

[queue.tls."strict"]
starttls = "require"
dane = "require"
allow-invalid-certs = false
timeout.tls = "30s"
)t");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(HasWarning(*r, "queue.tls.strict.dane")) << AllWarnings(*r);
  auto c = LoadConfig(r->json, nullptr);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << r->json;
  const Route* store = (*c)->FindRoute("store");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->port, 2424);
  EXPECT_EQ(store->protocol, RelayProtocol::kLmtp);
  EXPECT_EQ(store->auth_secret.source, Secret::Source::kEnvironmentVariable);
  EXPECT_EQ(store->auth_secret.reference, "STORE_PASS");
  EXPECT_EQ((*c)->FindRoute("mx")->max_mx_hosts, 3u);
  EXPECT_EQ((*c)->FindRoute("mx")->ip_lookup, IpLookup::kV6ThenV4);
  const Schedule* slow = (*c)->FindSchedule("slow");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->queue_id, "bulk");
  EXPECT_EQ(slow->retry.size(), 2u);
  EXPECT_TRUE(slow->notify.empty());
  EXPECT_EQ(slow->expiry, Schedule::ExpiryKind::kAttempts);
  EXPECT_EQ(slow->max_attempts, 4u);
  EXPECT_EQ((*c)->FindVirtualQueue("bulk")->threads_per_node, 3u);
  const ConnectionStrategy* v6 = (*c)->FindConnectionStrategy("ipv6");
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->ehlo_hostname, "out.example.org");
  ASSERT_EQ(v6->source_ips.size(), 1u);
  EXPECT_EQ(v6->connect_timeout, std::chrono::minutes(1));
  const TlsStrategy* strict = (*c)->FindTlsStrategy("strict");
  EXPECT_EQ(strict->start_tls, TlsRequirement::kRequire);
  EXPECT_EQ(strict->dane, TlsRequirement::kRequire);  // kept (DANE is implemented)
  EXPECT_EQ(strict->tls_timeout, std::chrono::seconds(30));
}

TEST(LegacyImport, Generation012OutboundSettings) {
  auto r = ImportLegacyToml(R"t(
[server]
hostname = "mx.example.org"

[queue.outbound]
hostname = "'out.example.org'"
ip-strategy = "ipv4_only"

[queue.outbound.source-ip]
v4 = ["10.0.0.10", "10.0.0.11"]

[queue.outbound.limits]
mx = 7
multihomed = 3

[queue.outbound.timeouts]
connect = "3m"
data = "10m"
tls = "2m"

[queue.outbound.tls]
starttls = "optional"
allow-invalid-certs = [ { if = "retry_num > 0 && last_error == 'tls'", then = true }, { else = false } ]

[queue.schedule]
retry = ["1m", "10m"]
notify = ["12h"]
expire = "2d"

[session.rcpt]
relay = true
)t");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(HasWarning(*r, "session.rcpt.relay")) << AllWarnings(*r);
  auto c = LoadConfig(r->json, nullptr);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << r->json;
  EXPECT_EQ((*c)->server.hostname, "mx.example.org");
  const ConnectionStrategy* def = (*c)->FindConnectionStrategy("default");
  EXPECT_EQ(def->ehlo_hostname, "out.example.org");
  EXPECT_EQ(def->source_ips.size(), 2u);
  EXPECT_EQ(def->connect_timeout, std::chrono::minutes(3));
  const Route* mx = (*c)->FindRoute("mx");
  EXPECT_EQ(mx->max_mx_hosts, 7u);
  EXPECT_EQ(mx->max_multihomed, 3u);
  EXPECT_EQ(mx->ip_lookup, IpLookup::kV4Only);
  EXPECT_EQ((*c)->FindTlsStrategy("default")->tls_timeout, std::chrono::minutes(2));
  EXPECT_EQ((*c)->tls_strategy.block.rules().size(), 1u);
  const Schedule* remote = (*c)->FindSchedule("remote");
  EXPECT_EQ(remote->retry.size(), 2u);
  EXPECT_EQ(remote->ttl, std::chrono::hours(48));
}

TEST(LegacyImport, UnknownKeysAndUncompilableExpressionsAreReported) {
  auto r = ImportLegacyToml(R"t(
[queue.outbound]
next-hop = [ { if = "config_get('x') == 'y'", then = "'mx'" }, { else = false } ]
hostname = "'a'"
weird-key = 1
)t");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(HasWarning(*r, "queue.outbound.weird-key (line 5): not converted")) << AllWarnings(*r);
  EXPECT_TRUE(HasWarning(*r, "unknown function 'config_get'")) << AllWarnings(*r);
}

TEST(LegacyImport, NextHopReturningUnknownRemoteIsKeptForCheckToReport) {
  auto r = ImportLegacyToml(R"t(
[queue.outbound]
next-hop = [ { if = "retry_num > 0", then = "'backup'" }, { else = false } ]
)t");
  ASSERT_TRUE(r.ok());
  auto c = LoadConfig(r->json, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("strategy.route.match[0].then: no route named 'backup'"),
            std::string::npos)
      << c.status().message();
}

TEST(LegacyImport, TomlErrorsHaveLineNumbers) {
  auto r = ImportLegacyToml("[queue.outbound]\nnext-hop = [ { if = \"a\" \n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace outpost::router
