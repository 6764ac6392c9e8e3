// DANE verification with real TLS handshakes over a socketpair(): OpenSSL's DANE code decides,
// fed by ConfigureSslForDane() with certificates made in the test.
#include "transport/tlspolicy/dane_verifier.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "tests/transport/tlspolicy/test_pki.h"
#include "transport/tlspolicy/dane_policy.h"

namespace outpost::transport::tlspolicy {
namespace {

using testing::TestCert;

TlsaRecord Tlsa(uint8_t usage, uint8_t selector, uint8_t mtype, const TestCert& cert) {
  return TlsaRecord{usage, selector, mtype, cert.TlsaData(selector, mtype)};
}

struct HandshakeResult {
  bool handshake_ok = false;
  DaneVerification verification;
};

// Runs one handshake: the server presents what `server_ctx` holds; the client is configured
// by `configure` (DANE or not) with verification deferred to after the handshake, as the SMTP
// client does.
HandshakeResult Handshake(SSL_CTX* server_ctx, const std::function<Status(SSL*)>& configure,
                          int client_verify_mode = SSL_VERIFY_NONE) {
  signal(SIGPIPE, SIG_IGN);  // a peer that hangs up must not kill the test
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  std::thread server([&] {
    SSL* ssl = SSL_new(server_ctx);
    SSL_set_fd(ssl, fds[1]);
    if (SSL_accept(ssl) == 1) {
      char buf[16];
      (void)SSL_read(ssl, buf, sizeof(buf));  // until the client closes
    }
    SSL_free(ssl);
    close(fds[1]);
  });
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  EXPECT_TRUE(EnableDaneOnContext(client_ctx).ok());
  SSL_CTX_set_verify(client_ctx, client_verify_mode, nullptr);
  SSL* ssl = SSL_new(client_ctx);
  SSL_set_fd(ssl, fds[0]);
  HandshakeResult result;
  Status configured = configure(ssl);
  EXPECT_TRUE(configured.ok()) << configured.ToString();
  result.handshake_ok = SSL_connect(ssl) == 1;
  if (result.handshake_ok) result.verification = ClassifyDaneVerification(ssl);
  ERR_clear_error();
  SSL_free(ssl);
  close(fds[0]);
  server.join();
  SSL_CTX_free(client_ctx);
  return result;
}

class DaneHandshake : public ::testing::Test {
 protected:
  DaneHandshake()
      : ca_(TestCert::MakeCa("Test CA")),
        ca_leaf_(TestCert::MakeLeaf("mx.dane.test", &ca_)),
        self_signed_(TestCert::MakeLeaf("mx.dane.test", nullptr)) {}

  HandshakeResult Run(const TestCert& leaf, std::vector<const TestCert*> chain,
                      std::vector<TlsaRecord> records,
                      std::vector<std::string> names = {"mx.dane.test"}) {
    SSL_CTX* server = testing::MakeServerContext(leaf, chain);
    HandshakeResult r =
        Handshake(server, [&](SSL* ssl) { return ConfigureSslForDane(ssl, records, names); });
    SSL_CTX_free(server);
    return r;
  }

  TestCert ca_;
  TestCert ca_leaf_;
  TestCert self_signed_;
};

TEST_F(DaneHandshake, DaneEeSpkiSha256MatchesSelfSignedLeaf) {
  auto r = Run(self_signed_, {}, {Tlsa(3, 1, 1, self_signed_)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
  EXPECT_EQ(r.verification.matched_usage, 3);
  EXPECT_EQ(r.verification.matched_depth, 0);
  EXPECT_NE(r.verification.detail.find("3 1 1 matched EE"), std::string::npos);
}

TEST_F(DaneHandshake, WrongHashIsNoMatch) {
  TlsaRecord wrong = Tlsa(3, 1, 1, self_signed_);
  wrong.data[0] ^= 0x01;
  auto r = Run(self_signed_, {}, {wrong});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_FALSE(r.verification.ok);
  EXPECT_TRUE(r.verification.no_matching_tlsa) << r.verification.detail;
}

TEST_F(DaneHandshake, AnotherServersKeyIsNoMatch) {
  TestCert other = TestCert::MakeLeaf("mx.dane.test", nullptr);
  auto r = Run(self_signed_, {}, {Tlsa(3, 1, 1, other)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_FALSE(r.verification.ok);
  EXPECT_TRUE(r.verification.no_matching_tlsa);
}

TEST_F(DaneHandshake, DaneEeIgnoresNameAndExpiry) {
  TestCert expired_elsewhere = TestCert::MakeLeaf("wrong-name.example", nullptr, -5);
  auto r = Run(expired_elsewhere, {}, {Tlsa(3, 1, 1, expired_elsewhere)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
}

TEST_F(DaneHandshake, DaneEeFullCertSha512AndFullSpki) {
  auto sha512 = Run(self_signed_, {}, {Tlsa(3, 0, 2, self_signed_)});
  ASSERT_TRUE(sha512.handshake_ok);
  EXPECT_TRUE(sha512.verification.ok) << sha512.verification.detail;
  auto full = Run(self_signed_, {}, {Tlsa(3, 1, 0, self_signed_)});
  ASSERT_TRUE(full.handshake_ok);
  EXPECT_TRUE(full.verification.ok) << full.verification.detail;
}

TEST_F(DaneHandshake, OneMatchingRecordAmongSeveralIsEnough) {
  TlsaRecord wrong = Tlsa(3, 1, 1, self_signed_);
  wrong.data[5] ^= 0xff;
  auto r = Run(self_signed_, {}, {wrong, Tlsa(3, 0, 1, self_signed_)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
}

TEST_F(DaneHandshake, DaneTaWithTheIssuingCaMatches) {
  auto r = Run(ca_leaf_, {&ca_}, {Tlsa(2, 0, 1, ca_)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
  EXPECT_EQ(r.verification.matched_usage, 2);
  EXPECT_EQ(r.verification.matched_depth, 1);
}

TEST_F(DaneHandshake, DaneTaSpkiMatches) {
  auto r = Run(ca_leaf_, {&ca_}, {Tlsa(2, 1, 1, ca_)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
}

TEST_F(DaneHandshake, DaneTaChecksTheName) {
  // The chain is anchored, but the leaf names mx.dane.test and we asked for another host.
  auto r = Run(ca_leaf_, {&ca_}, {Tlsa(2, 0, 1, ca_)}, {"mx.other.test"});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_FALSE(r.verification.ok);
  EXPECT_FALSE(r.verification.no_matching_tlsa) << r.verification.detail;
}

TEST_F(DaneHandshake, DaneTaAcceptsASecondReferenceName) {
  auto r = Run(ca_leaf_, {&ca_}, {Tlsa(2, 0, 1, ca_)}, {"mx.other.test", "mx.dane.test"});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_TRUE(r.verification.ok) << r.verification.detail;
}

TEST_F(DaneHandshake, DaneTaWithAnUnrelatedCaFails) {
  TestCert other_ca = TestCert::MakeCa("Other CA");
  auto r = Run(ca_leaf_, {&ca_}, {Tlsa(2, 0, 1, other_ca)});
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_FALSE(r.verification.ok);
}

TEST_F(DaneHandshake, VerifyPeerModeAbortsTheHandshakeOnMismatch) {
  TlsaRecord wrong = Tlsa(3, 1, 1, self_signed_);
  wrong.data[0] ^= 0x01;
  SSL_CTX* server = testing::MakeServerContext(self_signed_, {});
  auto r = Handshake(
      server, [&](SSL* ssl) { return ConfigureSslForDane(ssl, {wrong}, {"mx.dane.test"}); },
      SSL_VERIFY_PEER);
  SSL_CTX_free(server);
  EXPECT_FALSE(r.handshake_ok);
}

TEST_F(DaneHandshake, WithoutDaneConfiguredTheVerdictIsNotOk) {
  SSL_CTX* server = testing::MakeServerContext(self_signed_, {});
  auto r = Handshake(server, [](SSL*) { return Status::Ok(); });
  SSL_CTX_free(server);
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_FALSE(r.verification.ok);
}

TEST(DaneConfigure, RefusesUnusableRecordsAndMissingNames) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_TRUE(EnableDaneOnContext(ctx).ok());
  SSL* ssl = SSL_new(ctx);
  TlsaRecord pkix{1, 1, 1, std::string(32, 'x')};
  TlsaRecord ee{3, 1, 1, std::string(32, 'x')};
  EXPECT_TRUE(ConfigureSslForDane(ssl, {pkix}, {"mx.test"}).Is(Status::Code::kInvalidArgument));
  EXPECT_TRUE(ConfigureSslForDane(ssl, {}, {"mx.test"}).Is(Status::Code::kInvalidArgument));
  EXPECT_TRUE(ConfigureSslForDane(ssl, {ee}, {}).Is(Status::Code::kInvalidArgument));
  EXPECT_TRUE(ConfigureSslForDane(ssl, {ee}, {"mx.test"}).ok());
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

TEST(DaneConfigure, ContextWithoutDaneIsAClearError) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  Status s = ConfigureSslForDane(ssl, {TlsaRecord{3, 1, 1, std::string(32, 'x')}}, {"mx.test"});
  EXPECT_TRUE(s.Is(Status::Code::kFailedPrecondition)) << s.ToString();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
