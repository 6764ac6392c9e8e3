// CaresResolver and MxResolver against a real dnsmasq on 127.0.0.1 (label integration).

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "common/libevent_dispatcher.h"
#include "tests/transport/dns/dnsmasq_process.h"
#include "transport/dns/cares_resolver.h"
#include "transport/dns/mx_resolver.h"

namespace outpost::transport::dns {
namespace {

const std::vector<std::string> kZone = {
    "--local=/test/",   // unknown names under .test are NXDOMAIN
    "--local-ttl=300",  // dnsmasq's default TTL for its own records is 0 (uncacheable)
    "--mx-host=example.test,mx2.example.test,20",
    "--mx-host=example.test,mx1.example.test,10",
    "--host-record=mx1.example.test,127.0.0.11,::1",
    "--host-record=mx2.example.test,127.0.0.12",
    "--host-record=implicit.test,127.0.0.13",
    "--dns-rr=nomail.test,15,000000",  // RFC 7505 null MX: preference 0, root label
    "--mx-host=deadmx.test,nowhere.deadmx.test,10",
    "--cname=alias.test,mx1.example.test",
    "--txt-record=_mta-sts.example.test,v=STSv1; id=20260101",
    "--dns-rr=_25._tcp.mx1.example.test,52,030101ABCD",
};

class CaresResolverIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dnsmasq_.Start(kZone)) << "dnsmasq did not start"; }

  std::unique_ptr<CaresResolver> MakeResolver(std::vector<std::string> servers,
                                              Millis timeout = Millis(3000), int tries = 2) {
    CaresResolverOptions o;
    o.servers = std::move(servers);
    o.timeout = timeout;
    o.tries = tries;
    auto r = CaresResolver::Create(loop_, std::move(o));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // Runs the loop until `pending` callbacks have fired (or a 10 s safety net).
  void RunUntilDone(const int& pending) {
    auto guard = loop_.CreateTimer([this] {
      ADD_FAILURE() << "loop did not finish";
      loop_.Exit();
    });
    guard->Enable(Millis(10000));
    if (pending > 0) loop_.Run();
  }

  DnsResult Resolve(Resolver& resolver, std::string_view name, DnsType type) {
    DnsResult out = DnsResult::TempFail("never answered");
    int pending = 1;
    resolver.Lookup(name, type, [&](DnsResult r) {
      out = std::move(r);
      if (--pending == 0) loop_.Exit();
    });
    RunUntilDone(pending);
    return out;
  }

  LibeventDispatcher loop_;
  testing::DnsmasqProcess dnsmasq_;
};

TEST_F(CaresResolverIntegrationTest, ResolvesMxAAndAaaa) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  DnsResult mx = Resolve(*resolver, "example.test", DnsType::kMx);
  ASSERT_EQ(mx.outcome, DnsOutcome::kAnswer) << mx.detail;
  ASSERT_EQ(mx.mx.size(), 2u);
  EXPECT_GT(mx.ttl_seconds, 0u);
  EXPECT_FALSE(mx.authenticated);  // dnsmasq does not validate here

  DnsResult a = Resolve(*resolver, "MX1.example.test.", DnsType::kA);
  ASSERT_EQ(a.outcome, DnsOutcome::kAnswer) << a.detail;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.11"});
  DnsResult aaaa = Resolve(*resolver, "mx1.example.test", DnsType::kAaaa);
  ASSERT_EQ(aaaa.outcome, DnsOutcome::kAnswer) << aaaa.detail;
  EXPECT_EQ(aaaa.addresses, std::vector<std::string>{"::1"});
  DnsResult nodata = Resolve(*resolver, "mx2.example.test", DnsType::kAaaa);
  EXPECT_EQ(nodata.outcome, DnsOutcome::kNoData) << nodata.detail;
}

TEST_F(CaresResolverIntegrationTest, NullMxNxDomainCnameTxtAndTlsa) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  DnsResult null_mx = Resolve(*resolver, "nomail.test", DnsType::kMx);
  ASSERT_EQ(null_mx.outcome, DnsOutcome::kAnswer) << null_mx.detail;
  ASSERT_EQ(null_mx.mx.size(), 1u);
  EXPECT_EQ(null_mx.mx[0], (MxRecord{0, ""}));

  EXPECT_EQ(Resolve(*resolver, "nx.test", DnsType::kMx).outcome, DnsOutcome::kNxDomain);

  DnsResult alias = Resolve(*resolver, "alias.test", DnsType::kA);
  ASSERT_EQ(alias.outcome, DnsOutcome::kAnswer) << alias.detail;
  EXPECT_EQ(alias.canonical_name, "mx1.example.test");
  EXPECT_EQ(alias.addresses, std::vector<std::string>{"127.0.0.11"});

  DnsResult txt = Resolve(*resolver, "_mta-sts.example.test", DnsType::kTxt);
  ASSERT_EQ(txt.outcome, DnsOutcome::kAnswer) << txt.detail;
  EXPECT_EQ(txt.txt, std::vector<std::string>{"v=STSv1; id=20260101"});

  DnsResult tlsa = Resolve(*resolver, "_25._tcp.mx1.example.test", DnsType::kTlsa);
  ASSERT_EQ(tlsa.outcome, DnsOutcome::kAnswer) << tlsa.detail;
  ASSERT_EQ(tlsa.tlsa.size(), 1u);
  EXPECT_EQ(tlsa.tlsa[0], (TlsaRecord{3, 1, 1, "\xAB\xCD"}));
}

TEST_F(CaresResolverIntegrationTest, AnswersAreCachedForTheirTtl) {
  auto resolver = MakeResolver({dnsmasq_.server()}, Millis(500), 1);
  ASSERT_NE(resolver, nullptr);
  ASSERT_EQ(Resolve(*resolver, "mx1.example.test", DnsType::kA).outcome, DnsOutcome::kAnswer);
  EXPECT_EQ(resolver->CacheSizeForTest(), 1u);
  dnsmasq_.Stop();  // from now on only the cache can answer
  DnsResult again = Resolve(*resolver, "mx1.example.test", DnsType::kA);
  EXPECT_EQ(again.outcome, DnsOutcome::kAnswer) << again.detail;
  EXPECT_EQ(again.addresses, std::vector<std::string>{"127.0.0.11"});
  DnsResult uncached = Resolve(*resolver, "mx2.example.test", DnsType::kA);
  EXPECT_EQ(uncached.outcome, DnsOutcome::kTempFail);
}

TEST_F(CaresResolverIntegrationTest, SilentServerIsATemporaryTimeout) {
  // A bound UDP socket that never answers.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto resolver =
      MakeResolver({"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))}, Millis(300), 1);
  ASSERT_NE(resolver, nullptr);
  DnsResult r = Resolve(*resolver, "example.test", DnsType::kMx);
  EXPECT_EQ(r.outcome, DnsOutcome::kTempFail);
  EXPECT_NE(r.detail.find("timeout"), std::string::npos) << r.detail;
  EXPECT_EQ(resolver->PendingCountForTest(), 0u);
  close(fd);
}

TEST_F(CaresResolverIntegrationTest, ManyConcurrentLookupsAllComplete) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  int pending = 0;
  int answered = 0;
  const char* names[] = {"mx1.example.test", "mx2.example.test", "implicit.test", "nx.test"};
  for (int i = 0; i < 20; ++i) {
    ++pending;
    resolver->Lookup(names[i % 4], i % 2 ? DnsType::kAaaa : DnsType::kA, [&](DnsResult r) {
      if (r.outcome != DnsOutcome::kTempFail) ++answered;
      if (--pending == 0) loop_.Exit();
    });
  }
  RunUntilDone(pending);
  EXPECT_EQ(pending, 0);
  EXPECT_EQ(answered, 20);
}

TEST_F(CaresResolverIntegrationTest, IdenticalLookupsInFlightShareOneQuestion) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  int pending = 0;
  std::vector<DnsResult> results;
  for (int i = 0; i < 5; ++i) {
    ++pending;
    resolver->Lookup(i % 2 ? "EXAMPLE.test." : "example.test", DnsType::kMx, [&](DnsResult r) {
      results.push_back(std::move(r));
      if (--pending == 0) loop_.Exit();
    });
  }
  EXPECT_EQ(resolver->PendingCountForTest(), 1u);
  RunUntilDone(pending);
  ASSERT_EQ(results.size(), 5u);
  for (const DnsResult& r : results) EXPECT_EQ(r.mx.size(), 2u);
  EXPECT_EQ(resolver->PendingCountForTest(), 0u);
}

TEST_F(CaresResolverIntegrationTest, DestroyingTheResolverDropsCallbacks) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  bool called = false;
  resolver->Lookup("mx1.example.test", DnsType::kA, [&](DnsResult) { called = true; });
  resolver.reset();
  auto stop = loop_.CreateTimer([this] { loop_.Exit(); });
  stop->Enable(Millis(50));
  loop_.Run();
  EXPECT_FALSE(called);
}

TEST_F(CaresResolverIntegrationTest, NameOutsideTheServedZoneIsRefusedTemporarily) {
  auto resolver = MakeResolver({dnsmasq_.server()});
  ASSERT_NE(resolver, nullptr);
  DnsResult r = Resolve(*resolver, "elsewhere.invalid", DnsType::kMx);  // no upstream: REFUSED
  EXPECT_EQ(r.outcome, DnsOutcome::kTempFail);
  EXPECT_FALSE(r.detail.empty());
}

// A one-shot UDP DNS peer on 127.0.0.1 that answers the first query it gets with bytes made
// from that query by `reply`, for what dnsmasq cannot be made to send (AD bit, garbage).
class ScriptedDnsPeer {
 public:
  explicit ScriptedDnsPeer(std::function<std::string(const std::string& query)> reply) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    thread_ = std::thread([this, reply = std::move(reply)] {
      char buf[1500];
      sockaddr_in from{};
      socklen_t from_len = sizeof(from);
      ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) return;
      std::string out = reply(std::string(buf, static_cast<size_t>(n)));
      sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    });
  }
  ~ScriptedDnsPeer() {
    thread_.join();
    close(fd_);
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// The query's id and question, flags QR|RD|RA|AD, one A record 127.0.0.9 for the question.
std::string AuthenticatedAnswer(const std::string& query) {
  size_t end = 12;
  while (end < query.size() && query[end] != 0) end += 1 + static_cast<uint8_t>(query[end]);
  end += 1 + 4;  // root label, type, class
  std::string out = query.substr(0, 2) + std::string("\x81\xA0\0\1\0\1\0\0\0\0", 10);
  out += query.substr(12, end - 12);
  out += std::string("\xC0\x0C\0\1\0\1\0\0\0\x3C\0\4\x7F\0\0\x09", 16);
  return out;
}

TEST_F(CaresResolverIntegrationTest, AuthenticatedDataBitIsReadBack) {
  ScriptedDnsPeer peer(AuthenticatedAnswer);
  auto resolver = MakeResolver({peer.server()});
  ASSERT_NE(resolver, nullptr);
  DnsResult r = Resolve(*resolver, "signed.example", DnsType::kA);
  ASSERT_EQ(r.outcome, DnsOutcome::kAnswer) << r.detail;
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(r.addresses, std::vector<std::string>{"127.0.0.9"});
}

TEST_F(CaresResolverIntegrationTest, GarbageAnswerIsATemporaryFailure) {
  // Right id and question (so c-ares accepts it), then a record cut in the middle.
  ScriptedDnsPeer peer(
      [](const std::string& q) { return AuthenticatedAnswer(q).substr(0, q.size() - 11 + 6); });
  auto resolver = MakeResolver({peer.server()}, Millis(2000), 1);
  ASSERT_NE(resolver, nullptr);
  DnsResult r = Resolve(*resolver, "broken.example", DnsType::kA);
  EXPECT_EQ(r.outcome, DnsOutcome::kTempFail);
  EXPECT_NE(r.detail.find("bad answer"), std::string::npos) << r.detail;
}

TEST(DnsServersToCsv, ValidatesHostPortStrings) {
  auto csv = DnsServersToCsv({"127.0.0.1:5353", "[::1]:53", "127.0.0.2"});
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(*csv, "127.0.0.1:5353,[::1]:53,127.0.0.2:53");
  for (const char* bad :
       {"localhost:53", "127.0.0.1:0", "127.0.0.1:70000", "::1:53", "[::1", "127.0.0.1:x"}) {
    EXPECT_FALSE(DnsServersToCsv({bad}).ok()) << bad;
  }
}

class MxPlanIntegrationTest : public CaresResolverIntegrationTest {
 protected:
  MxPlan Plan(std::string_view domain, MxPlanOptions options = {}) {
    auto resolver = MakeResolver({dnsmasq_.server()});
    MxResolver planner(*resolver, 1);
    MxPlan out;
    out.failure = MxPlanFailure{};
    int pending = 1;
    planner.Plan(domain, std::move(options), [&](MxPlan p) {
      out = std::move(p);
      if (--pending == 0) loop_.Exit();
    });
    RunUntilDone(pending);
    return out;
  }
};

TEST_F(MxPlanIntegrationTest, PlansMxHostsInPreferenceOrder) {
  MxPlanOptions o;
  o.port = 2525;
  MxPlan plan = Plan("example.test", o);
  ASSERT_TRUE(plan.ok()) << plan.failure->reply.text;
  ASSERT_EQ(plan.hosts.size(), 2u);
  EXPECT_EQ(plan.hosts[0].name, "mx1.example.test");
  EXPECT_EQ(plan.hosts[0].addresses, (std::vector<std::string>{"127.0.0.11", "::1"}));
  EXPECT_EQ(plan.hosts[0].port, 2525);
  EXPECT_EQ(plan.hosts[1].name, "mx2.example.test");
  EXPECT_EQ(plan.hosts[1].addresses, std::vector<std::string>{"127.0.0.12"});
}

TEST_F(MxPlanIntegrationTest, ImplicitNullNxDomainAndDeadMx) {
  MxPlan implicit = Plan("implicit.test");
  ASSERT_TRUE(implicit.ok()) << implicit.failure->reply.text;
  ASSERT_EQ(implicit.hosts.size(), 1u);
  EXPECT_EQ(implicit.hosts[0].addresses, std::vector<std::string>{"127.0.0.13"});

  MxPlan null_mx = Plan("nomail.test");
  ASSERT_FALSE(null_mx.ok());
  EXPECT_EQ(null_mx.failure->kind, OutcomeKind::kPermFail);
  EXPECT_EQ(null_mx.failure->reply.enhanced, "5.1.10");

  MxPlan nx = Plan("nx.test");
  ASSERT_FALSE(nx.ok());
  EXPECT_EQ(nx.failure->kind, OutcomeKind::kPermFail);
  EXPECT_EQ(nx.failure->reply.enhanced, "5.1.2");

  MxPlan dead = Plan("deadmx.test");
  ASSERT_FALSE(dead.ok());
  EXPECT_EQ(dead.failure->kind, OutcomeKind::kTempFail);
  EXPECT_EQ(dead.failure->error, ErrorClass::kDns);
  ASSERT_EQ(dead.skipped.size(), 1u);
  EXPECT_EQ(dead.skipped[0].host, "nowhere.deadmx.test");
}

TEST_F(MxPlanIntegrationTest, OwnHostnameAsBestMxIsRefused) {
  MxPlanOptions o;
  o.self.names = {"mx1.example.test"};
  MxPlan plan = Plan("example.test", o);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure->reply.enhanced, "5.4.6");
}

}  // namespace
}  // namespace outpost::transport::dns
