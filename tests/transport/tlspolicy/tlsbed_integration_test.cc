// DANE and MTA-STS against the test bed (tests/tlsbed/tlsbed.sh): a DNSSEC-signed hierarchy in
// BIND behind a validating Unbound, STARTTLS sinks and an HTTPS policy server, all on loopback,
// started here and stopped by PID. Queries go through the real CaresResolver (AD bit), the
// certificate checks through real handshakes. Skips when bind9/unbound are not installed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include "common/libevent_dispatcher.h"
#include "transport/dns/cares_resolver.h"
#include "transport/smtp/classify.h"
#include "transport/smtp/session.h"
#include "transport/smtp/tls_client.h"
#include "transport/tlspolicy/dane_policy.h"
#include "transport/tlspolicy/dane_verifier.h"
#include "transport/tlspolicy/host_tls_requirement.h"
#include "transport/tlspolicy/mta_sts.h"
#include "transport/tlspolicy/mta_sts_fetcher.h"
#include "transport/tlspolicy/mta_sts_policy_source.h"
#include "transport/tlspolicy/tls_rpt.h"

namespace outpost::transport::tlspolicy {
namespace {

bool HaveProgram(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string MissingTools() {
  for (const char* p :
       {"/usr/sbin/named", "/usr/sbin/unbound", "/usr/bin/dnssec-keygen",
        "/usr/bin/dnssec-signzone", "/usr/bin/dig", "/usr/bin/openssl", "/usr/bin/python3"}) {
    if (!HaveProgram(p)) return p;
  }
  if (std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") != 0) {
    return "python3-aiosmtpd";
  }
  return "";
}

// The running bed: its env file, read once.
class TestBed {
 public:
  static TestBed* Start(std::string* error) {
    const char* src = std::getenv("OUTPOST_SOURCE_DIR");
    std::string script = std::string(src ? src : ".") + "/tests/tlsbed/tlsbed.sh";
    auto* bed = new TestBed();
    bed->dir_ = ::testing::TempDir() + "/outpost-tlsbed-" + std::to_string(getpid());
    bed->script_ = script;
    std::string cmd =
        "TLSTB_DIR='" + bed->dir_ + "' '" + script + "' up > '" + bed->dir_ + ".log' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream log(bed->dir_ + ".log");
      *error = "tlsbed.sh up failed: " + std::string(std::istreambuf_iterator<char>(log), {});
      bed->Stop();
      delete bed;
      return nullptr;
    }
    std::ifstream env(bed->dir_ + "/env");
    std::string line;
    while (std::getline(env, line)) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) bed->env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return bed;
  }

  // `down` stops everything by PID; any PID still alive afterwards is killed here.
  void Stop() {
    std::string cmd = "TLSTB_DIR='" + dir_ + "' '" + script_ + "' down >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
    for (const auto& [key, value] : env_) {
      if (key.rfind("PID_", 0) != 0) continue;
      pid_t pid = static_cast<pid_t>(std::atoi(value.c_str()));
      if (pid > 0 && kill(pid, 0) == 0) kill(pid, SIGKILL);
    }
  }

  const std::string& Get(const std::string& key) const { return env_.at(key); }
  uint16_t Port(const std::string& key) const {
    return static_cast<uint16_t>(std::atoi(Get(key).c_str()));
  }

 private:
  std::string dir_;
  std::string script_;
  std::map<std::string, std::string> env_;
};

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// Minimal blocking SMTP client up to STARTTLS, then a TLS handshake set up by `configure`.
// Test-only; the product's SMTP client is transport/smtp.
class StartTlsProbe {
 public:
  static std::optional<DaneVerification> Run(const std::string& ip, uint16_t port,
                                             const std::function<Status(SSL*)>& configure) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::optional<DaneVerification> result;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ReadReply(fd) == 220 && Send(fd, "EHLO probe.test\r\n") && ReadReply(fd) == 250 &&
        Send(fd, "STARTTLS\r\n") && ReadReply(fd) == 220) {
      SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
      EXPECT_TRUE(EnableDaneOnContext(ctx).ok());
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // decided after the handshake
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      Status s = configure(ssl);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (SSL_connect(ssl) == 1) {
        result = ClassifyDaneVerification(ssl);
        SSL_write(ssl, "QUIT\r\n", 6);
      }
      ERR_clear_error();
      SSL_free(ssl);
      SSL_CTX_free(ctx);
    }
    close(fd);
    return result;
  }

 private:
  static bool Send(int fd, const std::string& s) {
    return send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads a (multi-line) reply; returns its code or -1.
  static int ReadReply(int fd) {
    std::string line;
    char c;
    while (recv(fd, &c, 1, 0) == 1) {
      line.push_back(c);
      if (c != '\n') continue;
      if (line.size() >= 4 && line[3] == ' ') return std::atoi(line.substr(0, 3).c_str());
      line.clear();
    }
    return -1;
  }
};

class TlsBedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    std::string missing = MissingTools();
    if (!missing.empty()) {
      skip_reason_ = "test bed needs " + missing +
                     " (Debian: bind9 bind9-utils bind9-dnsutils unbound python3-aiosmtpd)";
      return;
    }
    std::string error;
    bed_ = TestBed::Start(&error);
    if (bed_ == nullptr) start_error_ = error;
  }
  static void TearDownTestSuite() {
    if (bed_ != nullptr) bed_->Stop();
    delete bed_;
    bed_ = nullptr;
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_NE(bed_, nullptr) << start_error_;
    dns::CaresResolverOptions options;
    options.servers = {bed_->Get("RESOLVER")};
    options.timeout = Millis(5000);
    auto resolver = dns::CaresResolver::Create(dispatcher_, options);
    ASSERT_TRUE(resolver.ok()) << resolver.status().ToString();
    resolver_ = std::move(resolver).value();
  }

  // Runs the loop until `start`'s callback delivers a value.
  template <typename T>
  T Await(const std::function<void(std::function<void(T)>)>& start) {
    std::optional<T> got;
    start([&](T value) {
      got = std::move(value);
      dispatcher_.Exit();
    });
    auto guard = dispatcher_.CreateTimer([this] { dispatcher_.Exit(); });
    guard->Enable(Millis(30000));
    if (!got) dispatcher_.Run();
    EXPECT_TRUE(got.has_value()) << "no answer within 30 s";
    return got.value_or(T{});
  }

  dns::DnsResult Query(const std::string& name, dns::DnsType type) {
    return Await<dns::DnsResult>(
        [&](std::function<void(dns::DnsResult)> done) { resolver_->Lookup(name, type, done); });
  }

  DaneDecision Dane(const std::string& mx, bool mx_secure, TlsMode mode = TlsMode::kOptional) {
    DaneLookup lookup(dispatcher_, *resolver_);
    return Await<DaneDecision>([&](std::function<void(DaneDecision)> done) {
      lookup.Lookup(mx, bed_->Port("SMTP_PORT"), mx_secure, mode, done);
    });
  }

  // The SMTP client's DANE hook (SessionConfig::dane_tlsa) against the bed's STARTTLS sink.
  std::optional<smtp::SessionFailure> OpenDaneSession(const DaneDecision& d,
                                                      const std::string& host) {
    auto tls = smtp::TlsClientContext::Create({});
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    smtp::SessionConfig config;
    config.host_name = host;
    config.address = bed_->Get("DANE_MX_IP");
    config.port = bed_->Port("SMTP_PORT");
    config.starttls = TlsMode::kRequire;
    config.connection.ehlo_hostname = "client.outpost.test";
    config.tls_timeout = Millis(10000);
    config.dane_tlsa = d.records;
    config.dane_names = d.reference_names;
    smtp::SmtpSession session(dispatcher_, **tls, config);
    auto failure = Await<std::optional<smtp::SessionFailure>>(
        [&](std::function<void(std::optional<smtp::SessionFailure>)> done) { session.Open(done); });
    tls_was_active_ = session.tls_active();
    return failure;
  }

  static TestBed* bed_;
  static std::string skip_reason_;
  static std::string start_error_;
  LibeventDispatcher dispatcher_;
  std::unique_ptr<dns::CaresResolver> resolver_;
  bool tls_was_active_ = false;
};

TestBed* TlsBedTest::bed_ = nullptr;
std::string TlsBedTest::skip_reason_;
std::string TlsBedTest::start_error_;

TEST_F(TlsBedTest, DaneTestHasAuthenticatedUsableTlsaThatMatchesTheServer) {
  dns::DnsResult mx = Query("dane.test", dns::DnsType::kMx);
  ASSERT_EQ(mx.outcome, dns::DnsOutcome::kAnswer) << mx.detail;
  EXPECT_TRUE(mx.authenticated);
  ASSERT_EQ(mx.mx.size(), 1u);
  EXPECT_EQ(mx.mx[0].exchange, "mx.dane.test");

  DaneDecision d = Dane("mx.dane.test", mx.authenticated);
  ASSERT_EQ(d.verdict, DaneVerdict::kAuthenticate) << d.reason;
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(TlsaToString(d.records[0]), "3 1 1 " + bed_->Get("TLSA_311"));

  auto v = StartTlsProbe::Run(bed_->Get("DANE_MX_IP"), bed_->Port("SMTP_PORT"), [&](SSL* ssl) {
    return ConfigureSslForDane(ssl, d.records, d.reference_names);
  });
  ASSERT_TRUE(v.has_value()) << "no STARTTLS handshake with the DANE sink";
  EXPECT_TRUE(v->ok) << v->detail;
  EXPECT_EQ(v->matched_usage, 3);
}

TEST_F(TlsBedTest, BadTlsaIsAuthenticatedButDoesNotMatch) {
  dns::DnsResult mx = Query("badtlsa.dane.test", dns::DnsType::kMx);
  ASSERT_EQ(mx.outcome, dns::DnsOutcome::kAnswer) << mx.detail;
  ASSERT_TRUE(mx.authenticated);
  DaneDecision d = Dane("mx-badtlsa.dane.test", true);
  ASSERT_EQ(d.verdict, DaneVerdict::kAuthenticate) << d.reason;
  EXPECT_EQ(Hex(d.records[0].data), bed_->Get("TLSA_BAD"));
  auto v = StartTlsProbe::Run(bed_->Get("DANE_MX_IP"), bed_->Port("SMTP_PORT"), [&](SSL* ssl) {
    return ConfigureSslForDane(ssl, d.records, d.reference_names);
  });
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->ok);
  EXPECT_TRUE(v->no_matching_tlsa) << v->detail;
}

TEST_F(TlsBedTest, SessionMatchingTlsaOpensAnAuthenticatedSession) {
  DaneDecision d = Dane("mx.dane.test", true);
  ASSERT_EQ(d.verdict, DaneVerdict::kAuthenticate) << d.reason;
  auto failure = OpenDaneSession(d, "mx.dane.test");
  EXPECT_FALSE(failure.has_value()) << failure->detail;
  EXPECT_TRUE(tls_was_active_);
}

TEST_F(TlsBedTest, SessionMismatchIsADaneFailureForTheNextHost) {
  DaneDecision d = Dane("mx-badtlsa.dane.test", true);
  ASSERT_EQ(d.verdict, DaneVerdict::kAuthenticate) << d.reason;
  auto failure = OpenDaneSession(d, "mx-badtlsa.dane.test");
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->kind, smtp::FailureKind::kDaneVerify) << failure->detail;
  smtp::FailureVerdict v = smtp::ClassifyFailure(*failure, {});
  EXPECT_EQ(v.error, ErrorClass::kDane);
  EXPECT_EQ(v.next, smtp::NextStep::kNextHost);  // never plaintext
  EXPECT_EQ(v.kind, OutcomeKind::kTempFail);
}

TEST_F(TlsBedTest, BogusTlsaDefersTheHost) {
  dns::DnsResult mx = Query("bogus.test", dns::DnsType::kMx);
  ASSERT_EQ(mx.outcome, dns::DnsOutcome::kAnswer) << mx.detail;
  EXPECT_TRUE(mx.authenticated);  // the MX validates; only the TLSA RRset is bogus
  DaneDecision d = Dane("mx.bogus.test", mx.authenticated);
  EXPECT_EQ(d.verdict, DaneVerdict::kDefer) << d.reason;
  HostTlsRequirement r = CombineTlsRequirements(d, MtaStsHostDecision{});
  EXPECT_EQ(r.action, HostTlsRequirement::Action::kDefer);
  EXPECT_EQ(r.error, ErrorClass::kDane);
}

TEST_F(TlsBedTest, InsecureDelegationTlsaIsIgnored) {
  dns::DnsResult mx = Query("insecure.test", dns::DnsType::kMx);
  ASSERT_EQ(mx.outcome, dns::DnsOutcome::kAnswer) << mx.detail;
  EXPECT_FALSE(mx.authenticated);
  // The record is there, without AD.
  dns::DnsResult tlsa =
      Query(TlsaQueryName("mx.insecure.test", bed_->Port("SMTP_PORT")), dns::DnsType::kTlsa);
  ASSERT_EQ(tlsa.outcome, dns::DnsOutcome::kAnswer) << tlsa.detail;
  EXPECT_FALSE(tlsa.authenticated);
  EXPECT_EQ(tlsa.tlsa.size(), 1u);
  EXPECT_EQ(Dane("mx.insecure.test", mx.authenticated).verdict, DaneVerdict::kNoDane);
  // Even asked as if the MX were secure, the unauthenticated TLSA answer is ignored.
  EXPECT_EQ(Dane("mx.insecure.test", true).verdict, DaneVerdict::kNoDane);
  EXPECT_EQ(Dane("mx.insecure.test", mx.authenticated, TlsMode::kRequire).verdict,
            DaneVerdict::kFail);
}

TEST_F(TlsBedTest, AuthenticatedDenialMeansNoDane) {
  DaneDecision d = Dane("nx.dane.test", true);
  EXPECT_EQ(d.verdict, DaneVerdict::kNoDane) << d.reason;
  EXPECT_NE(d.reason.find("authenticated denial"), std::string::npos) << d.reason;
  EXPECT_EQ(Dane("nx.dane.test", true, TlsMode::kRequire).verdict, DaneVerdict::kFail);
}

TEST_F(TlsBedTest, MtaStsDiscoveryFetchAndEnforce) {
  dns::DnsResult txt = Query("_mta-sts.sts.test", dns::DnsType::kTxt);
  ASSERT_EQ(txt.outcome, dns::DnsOutcome::kAnswer) << txt.detail;
  auto record = ParseMtaStsTxt(txt.txt);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->id, "20240101T000000");

  auto fetcher = MtaStsFetcher::Create(dispatcher_, *resolver_,
                                       {bed_->Get("TEST_CA"), bed_->Port("HTTPS_PORT")});
  ASSERT_TRUE(fetcher.ok()) << fetcher.status().ToString();
  MtaStsFetchResult fetched =
      Await<MtaStsFetchResult>([&](std::function<void(MtaStsFetchResult)> done) {
        (*fetcher)->Fetch("sts.test", Millis(10000), done);
      });
  ASSERT_TRUE(fetched.ok()) << fetched.status.ToString();
  auto policy = ParseMtaStsPolicy(fetched.body);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->mode, MtaStsMode::kEnforce);
  EXPECT_EQ(policy->max_age, std::chrono::seconds(86400));

  dns::DnsResult mx = Query("sts.test", dns::DnsType::kMx);
  ASSERT_EQ(mx.outcome, dns::DnsOutcome::kAnswer);
  ASSERT_EQ(mx.mx.size(), 1u);
  EXPECT_EQ(DecideMtaSts(TlsMode::kOptional, *policy, mx.mx[0].exchange).verdict,
            MtaStsHostDecision::Verdict::kEnforce);
  EXPECT_EQ(DecideMtaSts(TlsMode::kOptional, *policy, "mx.evil.test").verdict,
            MtaStsHostDecision::Verdict::kDefer);
}

TEST_F(TlsBedTest, MtaStsFetchWithoutThePrivateCaIsWebPkiInvalid) {
  auto fetcher = MtaStsFetcher::Create(dispatcher_, *resolver_, {"", bed_->Port("HTTPS_PORT")});
  ASSERT_TRUE(fetcher.ok());
  MtaStsFetchResult fetched =
      Await<MtaStsFetchResult>([&](std::function<void(MtaStsFetchResult)> done) {
        (*fetcher)->Fetch("sts.test", Millis(10000), done);
      });
  EXPECT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.failure, MtaStsFetchFailure::kWebPkiInvalid) << fetched.status.ToString();
}

TEST_F(TlsBedTest, PolicySourceDiscoversFetchesAndCaches) {
  auto fetcher = MtaStsFetcher::Create(dispatcher_, *resolver_,
                                       {bed_->Get("TEST_CA"), bed_->Port("HTTPS_PORT")});
  ASSERT_TRUE(fetcher.ok());
  MtaStsPolicyCache cache(dispatcher_.clock(), nullptr);
  MtaStsPolicySource source(dispatcher_, *resolver_, **fetcher, cache);
  auto get = [&](const std::string& domain) {
    return Await<MtaStsLookup>([&](std::function<void(MtaStsLookup)> done) {
      source.Get(domain, TlsMode::kOptional, Millis(10000), done);
    });
  };
  MtaStsLookup first = get("sts.test");
  ASSERT_TRUE(first.policy.has_value()) << first.detail;
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.id, "20240101T000000");
  EXPECT_TRUE(PolicyAllowsMx(*first.policy, "mx.sts.test"));
  MtaStsLookup second = get("sts.test");
  EXPECT_TRUE(second.from_cache);
  // A domain without a _mta-sts record has no policy (and nothing is fetched).
  MtaStsLookup none = get("dane.test");
  EXPECT_FALSE(none.policy.has_value());
  EXPECT_FALSE(none.failure.has_value()) << none.detail;
}

TEST_F(TlsBedTest, TlsRptRecordFromDns) {
  dns::DnsResult txt = Query("_smtp._tls.sts.test", dns::DnsType::kTxt);
  ASSERT_EQ(txt.outcome, dns::DnsOutcome::kAnswer) << txt.detail;
  auto record = ParseTlsRptTxt(txt.txt);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->rua, (std::vector<std::string>{"https://mta-sts.sts.test:" +
                                                       bed_->Get("HTTPS_PORT") + "/tlsrpt",
                                                   "mailto:tlsrpt@sts.test"}));
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
