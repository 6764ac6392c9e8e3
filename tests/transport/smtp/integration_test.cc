// SMTP/LMTP client against real peers on 127.0.0.1, started and killed (by PID) by the test:
// Postfix's smtp-sink and Python aiosmtpd (SMTP and LMTP classes).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "common/libevent_dispatcher.h"
#include "tests/transport/smtp/peer_process.h"
#include "tests/transport/smtp/smtp_test_util.h"
#include "transport/smtp/smtp_deliverer.h"
#include "transport/smtp/tls_client.h"

namespace outpost::transport::smtp {
namespace {

using namespace testing;  // NOLINT

std::string SourceDir() {
  const char* d = std::getenv("OUTPOST_SOURCE_DIR");
  return d ? d : ".";
}

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("smtp_it");
    ASSERT_FALSE(dir_.empty());
    tls_ = std::move(TlsClientContext::Create({}).value());
    deliverer_ = std::make_unique<SmtpDeliverer>(loop_, *tls_, clock_, SmtpDelivererOptions{});
  }
  void TearDown() override {
    deliverer_.reset();
    peer_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartSink(std::vector<std::string> extra = {}) {
    port_ = FreePort();
    std::vector<std::string> argv = {"/usr/sbin/smtp-sink", "-v", "-c", "-u", "root"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("127.0.0.1:" + std::to_string(port_));
    argv.push_back("100");
    peer_ = std::make_unique<PeerProcess>(argv, port_, dir_ + "/sink.log");
    ASSERT_TRUE(peer_->ok()) << peer_->Log();
  }

  void StartAiosmtpd(std::vector<std::string> extra) {
    port_ = FreePort();
    record_ = dir_ + "/record.jsonl";
    std::vector<std::string> argv = {
        "/usr/bin/python3", SourceDir() + "/tests/transport/smtp/peers/aiosmtpd_peer.py",
        "--port",           std::to_string(port_),
        "--record",         record_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    peer_ = std::make_unique<PeerProcess>(argv, port_, dir_ + "/aiosmtpd.log");
    ASSERT_TRUE(peer_->ok()) << peer_->Log();
  }

  // A self-signed certificate for localhost, made with the openssl CLI.
  void MakeCert() {
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout " +
        dir_ + "/key.pem -out " + dir_ +
        "/cert.pem -days 2 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
        ">/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::vector<std::string> TlsArgs() {
    return {"--cert", dir_ + "/cert.pem", "--key", dir_ + "/key.pem"};
  }

  DeliveryResult Deliver(DeliveryRequest request, std::vector<TargetHost> hosts) {
    return DeliverAndWait(loop_, *deliverer_, std::move(request), std::move(hosts));
  }

  RelayRoute Relay(RelayProtocol protocol = RelayProtocol::kSmtp) {
    RelayRoute r;
    r.address = "127.0.0.1";
    r.port = port_;
    r.protocol = protocol;
    return r;
  }

  LibeventDispatcher loop_;
  FakeClock clock_;
  TestPolicy policy_;
  std::string dir_;
  std::string record_;
  uint16_t port_ = 0;
  std::unique_ptr<PeerProcess> peer_;
  std::unique_ptr<TlsClientContext> tls_;
  std::unique_ptr<SmtpDeliverer> deliverer_;
};

TEST_F(IntegrationTest, SmtpSinkReusesOneConnectionForManyMessages) {
  StartSink();
  for (int i = 0; i < 5; ++i) {
    auto r = Deliver(MxRequest(&policy_, {NumberedAddress(i)}), {Host("sink.test", port_)});
    ASSERT_EQ(r.outcomes.size(), 1u);
    EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
  }
  deliverer_.reset();  // closes the pooled connection
  peer_->Stop();
  std::string log = peer_->Log();
  // One SMTP session (the readiness probe's bare connect says no EHLO).
  EXPECT_EQ(Count(log, "EHLO client.test"), 1) << log;
  EXPECT_EQ(Count(log, "RSET"), 4);
}

TEST_F(IntegrationTest, SmtpSinkTakes150RecipientsInTwoTransactions) {
  StartSink();
  std::vector<std::string> rcpts;
  for (int i = 0; i < 150; ++i) rcpts.push_back(NumberedAddress(i));
  auto r = Deliver(MxRequest(&policy_, rcpts), {Host("sink.test", port_)});
  ASSERT_EQ(r.outcomes.size(), 150u);
  for (const auto& o : r.outcomes) EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
  deliverer_.reset();
  peer_->Stop();
  std::string log = peer_->Log();
  EXPECT_EQ(Count(log, "MAIL FROM:"), 2);
  EXPECT_EQ(Count(log, "RCPT TO:"), 150);
}

TEST_F(IntegrationTest, SmtpSinkSoftRejectOfMailFailsOverToNextHost) {
  StartSink({"-r", "mail"});  // 4xx to MAIL FROM
  uint16_t bad_port = port_;
  auto bad = std::move(peer_);
  StartSink();
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                   {Host("mx1.test", bad_port), Host("mx2.test", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcomes[0].host, "mx2.test");
  ASSERT_EQ(r.hosts_tried.size(), 2u);
  EXPECT_EQ(r.hosts_tried[0].reply.code / 100, 4);
}

TEST_F(IntegrationTest, AiosmtpdAuthPlainSucceeds) {
  StartAiosmtpd({"--auth", "relay_server:123456"});
  RelayRoute route = Relay();
  route.auth_username = "relay_server";
  route.auth_secret = "123456";
  auto r = Deliver(RelayRequest(&policy_, route, {"bob@example.net"}), {Host("127.0.0.1", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
  std::string rec = ReadFile(record_);
  EXPECT_NE(rec.find("\"auth\": true"), std::string::npos) << rec;
}

TEST_F(IntegrationTest, AiosmtpdAuthLoginSucceeds) {
  StartAiosmtpd({"--auth", "relay_server:123456", "--no-plain"});
  RelayRoute route = Relay();
  route.auth_username = "relay_server";
  route.auth_secret = "123456";
  auto r = Deliver(RelayRequest(&policy_, route, {"bob@example.net"}), {Host("127.0.0.1", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
}

TEST_F(IntegrationTest, AiosmtpdWrongPasswordIs535TemporaryConnectionFailure) {
  StartAiosmtpd({"--auth", "relay_server:123456"});
  RelayRoute route = Relay();
  route.auth_username = "relay_server";
  route.auth_secret = "wrong";
  auto r = Deliver(RelayRequest(&policy_, route, {"bob@example.net"}), {Host("127.0.0.1", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(r.outcomes[0].error, ErrorClass::kConnection);
  EXPECT_EQ(r.outcomes[0].reply.code, 535);
  EXPECT_TRUE(ReadFile(record_).empty());
}

TEST_F(IntegrationTest, AiosmtpdStartTlsSelfSignedFailsVerification) {
  MakeCert();
  StartAiosmtpd(TlsArgs());
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(r.outcomes[0].error, ErrorClass::kTls);
  EXPECT_TRUE(ReadFile(record_).empty());  // never a plaintext fallback after verification
}

TEST_F(IntegrationTest, AiosmtpdStartTlsSelfSignedAcceptedWithAllowInvalidCerts) {
  MakeCert();
  StartAiosmtpd(TlsArgs());
  policy_.tls.allow_invalid_certs = true;
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
  std::string rec = ReadFile(record_);
  EXPECT_NE(rec.find("\"tls\": true"), std::string::npos) << rec;
}

TEST_F(IntegrationTest, AiosmtpdStartTlsTrustedViaCaFileVerifies) {
  MakeCert();
  StartAiosmtpd(TlsArgs());
  tls_ = std::move(TlsClientContext::Create({dir_ + "/cert.pem"}).value());
  deliverer_ = std::make_unique<SmtpDeliverer>(loop_, *tls_, clock_, SmtpDelivererOptions{});
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
}

TEST_F(IntegrationTest, BrokenHandshakeOptionalFallsBackToPlaintext) {
  MakeCert();
  std::vector<std::string> args = TlsArgs();
  args.push_back("--tls-max-1-1");
  StartAiosmtpd(args);
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << r.outcomes[0].reply.text;
  ASSERT_EQ(r.hosts_tried.size(), 2u);
  EXPECT_EQ(r.hosts_tried[0].error, ErrorClass::kTls);
  std::string rec = ReadFile(record_);
  EXPECT_NE(rec.find("\"tls\": false"), std::string::npos) << rec;
}

TEST_F(IntegrationTest, BrokenHandshakeRequiredNeverFallsBack) {
  MakeCert();
  std::vector<std::string> args = TlsArgs();
  args.push_back("--tls-max-1-1");
  StartAiosmtpd(args);
  policy_.tls.starttls = TlsMode::kRequire;
  auto r = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", port_)});
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(r.outcomes[0].error, ErrorClass::kTls);
  EXPECT_TRUE(ReadFile(record_).empty());
}

TEST_F(IntegrationTest, AiosmtpdLmtpPerRecipientReplies) {
  StartAiosmtpd(
      {"--lmtp", "--refuse-rcpt", "nobody@example.org", "--defer-after-data", "full@example.org"});
  auto r = Deliver(RelayRequest(&policy_, Relay(RelayProtocol::kLmtp),
                                {"alice@example.org", "nobody@example.org", "full@example.org",
                                 "carol@example.org"}),
                   {Host("127.0.0.1", port_)});
  ASSERT_EQ(r.outcomes.size(), 4u);
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_TRUE(r.outcomes[0].final_delivery);
  EXPECT_EQ(r.outcomes[1].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(r.outcomes[1].reply.enhanced, "5.1.1");
  EXPECT_EQ(r.outcomes[2].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(r.outcomes[2].reply.code, 452);
  EXPECT_EQ(r.outcomes[3].kind, OutcomeKind::kDelivered);
  EXPECT_FALSE(r.possible_duplicate);
}

}  // namespace
}  // namespace outpost::transport::smtp
