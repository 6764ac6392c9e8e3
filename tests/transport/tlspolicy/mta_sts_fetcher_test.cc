// MtaStsFetcher against a real HTTPS server on 127.0.0.1 (libevent's evhttp with
// bufferevent_openssl, in this process): certificate checks, redirects, content type, size limit,
// timeouts. DNS comes from a FakeResolver so the policy host name maps to loopback.
#include "transport/tlspolicy/mta_sts_fetcher.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "common/libevent_dispatcher.h"
#include "tests/transport/tlspolicy/test_pki.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::transport::tlspolicy {
namespace {

using testing::TestCert;

constexpr std::string_view kPolicy =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n";

// What the server answers to every request.
struct Reply {
  int code = 200;
  std::string content_type = "text/plain";
  std::string body = std::string(kPolicy);
  std::string location;
};

// An HTTPS server on 127.0.0.1:<ephemeral> sharing the test's event_base.
class HttpsServer {
 public:
  HttpsServer(event_base* base, const TestCert& leaf, const TestCert& ca) {
    ctx_ = testing::MakeServerContext(leaf, {&ca});
    http_ = evhttp_new(base);
    evhttp_set_bevcb(http_, &HttpsServer::MakeBev, ctx_);
    evhttp_set_gencb(http_, &HttpsServer::Handle, this);
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_, "127.0.0.1", 0);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~HttpsServer() {
    evhttp_free(http_);
    SSL_CTX_free(ctx_);
  }
  uint16_t port() const { return port_; }
  Reply reply;
  std::string last_host;
  std::string last_path;

 private:
  static bufferevent* MakeBev(event_base* base, void* arg) {
    return bufferevent_openssl_socket_new(base, -1, SSL_new(static_cast<SSL_CTX*>(arg)),
                                          BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  }
  static void Handle(evhttp_request* req, void* arg) {
    auto* self = static_cast<HttpsServer*>(arg);
    const char* host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    self->last_host = host ? host : "";
    self->last_path = evhttp_request_get_uri(req);
    evkeyvalq* out = evhttp_request_get_output_headers(req);
    if (!self->reply.content_type.empty()) {
      evhttp_add_header(out, "Content-Type", self->reply.content_type.c_str());
    }
    if (!self->reply.location.empty())
      evhttp_add_header(out, "Location", self->reply.location.c_str());
    evbuffer* body = evbuffer_new();
    evbuffer_add(body, self->reply.body.data(), self->reply.body.size());
    evhttp_send_reply(req, self->reply.code, "X", body);
    evbuffer_free(body);
  }
  SSL_CTX* ctx_;
  evhttp* http_;
  uint16_t port_ = 0;
};

class MtaStsFetcherTest : public ::testing::Test {
 protected:
  MtaStsFetcherTest()
      : ca_(TestCert::MakeCa("Policy Test CA")),
        leaf_(TestCert::MakeLeaf("mta-sts.sts.test", &ca_)),
        ca_file_(testing::WriteTempFile("policy-ca.pem", ca_.CertPem())),
        resolver_(dispatcher_) {
    resolver_.SetAddresses("mta-sts.sts.test", dns::DnsType::kA, {"127.0.0.1"});
    resolver_.SetOutcome("mta-sts.nx.test", dns::DnsType::kA, dns::DnsOutcome::kNxDomain);
  }

  std::unique_ptr<MtaStsFetcher> MakeFetcher(uint16_t port, std::string ca_file) {
    auto f = MtaStsFetcher::Create(dispatcher_, resolver_, {std::move(ca_file), port});
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return std::move(f).value();
  }

  // Runs one fetch to completion on the real loop.
  MtaStsFetchResult Fetch(MtaStsFetcher& fetcher, std::string_view domain,
                          Millis timeout = Millis(5000)) {
    std::optional<MtaStsFetchResult> got;
    fetcher.Fetch(domain, timeout, [&](MtaStsFetchResult r) {
      got = std::move(r);
      dispatcher_.Exit();
    });
    EXPECT_FALSE(got.has_value());  // never from inside Fetch()
    auto guard = dispatcher_.CreateTimer([this] { dispatcher_.Exit(); });
    guard->Enable(Millis(20000));
    dispatcher_.Run();
    EXPECT_TRUE(got.has_value()) << "no answer";
    return got.value_or(MtaStsFetchResult{});
  }

  TestCert ca_;
  TestCert leaf_;
  std::string ca_file_;
  LibeventDispatcher dispatcher_;
  dns::FakeResolver resolver_;
};

TEST_F(MtaStsFetcherTest, FetchesThePolicyOverVerifiedHttps) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "STS.test");
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.body, kPolicy);
  EXPECT_EQ(server.last_host, "mta-sts.sts.test");
  EXPECT_EQ(server.last_path, "/.well-known/mta-sts.txt");
  EXPECT_TRUE(ParseMtaStsPolicy(r.body).ok());
  EXPECT_EQ(fetcher->InFlightForTest(), 0u);
}

TEST_F(MtaStsFetcherTest, ContentTypeWithCharsetIsAccepted) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  server.reply.content_type = "text/plain; charset=utf-8";
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  EXPECT_TRUE(Fetch(*fetcher, "sts.test").ok());
}

TEST_F(MtaStsFetcherTest, UntrustedCertificateIsWebPkiInvalid) {
  TestCert other_ca = TestCert::MakeCa("Someone Else");
  std::string other_file = testing::WriteTempFile("other-ca.pem", other_ca.CertPem());
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  auto fetcher = MakeFetcher(server.port(), other_file);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kWebPkiInvalid) << r.status.ToString();
}

TEST_F(MtaStsFetcherTest, CertificateForAnotherNameIsWebPkiInvalid) {
  TestCert wrong = TestCert::MakeLeaf("www.sts.test", &ca_);
  HttpsServer server(dispatcher_.base(), wrong, ca_);
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kWebPkiInvalid) << r.status.ToString();
}

TEST_F(MtaStsFetcherTest, ExpiredCertificateIsWebPkiInvalid) {
  TestCert expired = TestCert::MakeLeaf("mta-sts.sts.test", &ca_, -1);
  HttpsServer server(dispatcher_.base(), expired, ca_);
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kWebPkiInvalid) << r.status.ToString();
}

TEST_F(MtaStsFetcherTest, RedirectIsNotFollowed) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  server.reply.code = 301;
  server.reply.location = "https://mta-sts.sts.test/elsewhere.txt";
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kFetchError);
  EXPECT_NE(r.status.message().find("HTTP 301"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(server.last_path, "/.well-known/mta-sts.txt");
}

TEST_F(MtaStsFetcherTest, NotFoundAndWrongContentTypeAreFetchErrors) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  server.reply.code = 404;
  EXPECT_EQ(Fetch(*fetcher, "sts.test").failure, MtaStsFetchFailure::kFetchError);
  server.reply.code = 200;
  server.reply.content_type = "text/html";
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kFetchError);
  EXPECT_NE(r.status.message().find("text/html"), std::string::npos);
  server.reply.content_type = "";
  EXPECT_EQ(Fetch(*fetcher, "sts.test").failure, MtaStsFetchFailure::kFetchError);
  server.reply.content_type = "text/plainx";
  EXPECT_EQ(Fetch(*fetcher, "sts.test").failure, MtaStsFetchFailure::kFetchError);
}

TEST_F(MtaStsFetcherTest, BodyOverTheLimitIsRefused) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  server.reply.body = std::string(kPolicy) + std::string(kMtaStsMaxPolicyBytes, '#');
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failure, MtaStsFetchFailure::kFetchError) << r.status.ToString();
}

TEST_F(MtaStsFetcherTest, UnresolvableHostAndClosedPortAreFetchErrors) {
  auto fetcher = MakeFetcher(1, ca_file_);  // nothing listens on port 1
  MtaStsFetchResult nx = Fetch(*fetcher, "nx.test");
  EXPECT_EQ(nx.failure, MtaStsFetchFailure::kFetchError);
  EXPECT_NE(nx.status.message().find("cannot resolve"), std::string::npos);
  MtaStsFetchResult refused = Fetch(*fetcher, "sts.test");
  EXPECT_EQ(refused.failure, MtaStsFetchFailure::kFetchError) << refused.status.ToString();
}

TEST_F(MtaStsFetcherTest, SilentServerTimesOut) {
  // Listens but never accepts: TCP connects, the TLS handshake never gets an answer.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto fetcher = MakeFetcher(ntohs(addr.sin_port), ca_file_);
  MtaStsFetchResult r = Fetch(*fetcher, "sts.test", Millis(200));
  EXPECT_TRUE(r.status.Is(Status::Code::kTimeout)) << r.status.ToString();
  EXPECT_EQ(fetcher->InFlightForTest(), 0u);
  close(fd);
}

TEST_F(MtaStsFetcherTest, DestroyingTheFetcherCancelsQuietly) {
  HttpsServer server(dispatcher_.base(), leaf_, ca_);
  auto fetcher = MakeFetcher(server.port(), ca_file_);
  bool called = false;
  fetcher->Fetch("sts.test", Millis(5000), [&](MtaStsFetchResult) { called = true; });
  fetcher.reset();
  auto stop = dispatcher_.CreateTimer([this] { dispatcher_.Exit(); });
  stop->Enable(Millis(50));
  dispatcher_.Run();
  EXPECT_FALSE(called);
}

TEST(MtaStsFetcherCreate, MissingCaFileIsAnError) {
  LibeventDispatcher dispatcher;
  dns::FakeResolver resolver(dispatcher);
  auto f = MtaStsFetcher::Create(dispatcher, resolver, {"/nonexistent/ca.pem", 443});
  EXPECT_TRUE(f.status().Is(Status::Code::kInvalidArgument));
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
