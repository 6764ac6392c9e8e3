#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/transport/server/server_fixture.h"
#include "tests/transport/server/test_client.h"
#include "transport/server/base64.h"
#include "transport/server/password_hash.h"

namespace outpost::smtp_server {
namespace {

using testing::ServerFixture;
using testing::ReplyCode;
using testing::TestClient;
using testing::WaitFor;

ListenerOptions Options() {
  ListenerOptions o;
  o.hostname = "mx.example.org";
  o.local_domains = {"example.org"};
  o.relay_networks = {"127.0.0.0/8"};
  return o;
}

// Connects and reads the greeting.
std::unique_ptr<TestClient> Open(ServerFixture& s) {
  auto c = TestClient::Connect(s.port());
  EXPECT_NE(c, nullptr);
  if (c == nullptr) return nullptr;
  std::string greeting = c->ReadReply();
  EXPECT_EQ(greeting.rfind("220 mx.example.org ESMTP", 0), 0u) << greeting;
  return c;
}

// MAIL, RCPT and DATA for a local recipient; true when the server is waiting for the message.
bool BeginData(TestClient& c) {
  return ReplyCode(c.Command("MAIL FROM:<a@remote.example>")) == 250 &&
         ReplyCode(c.Command("RCPT TO:<x@example.org>")) == 250 && ReplyCode(c.Command("DATA")) == 354;
}

TEST(SmtpSession, FullTransaction) {
  ServerFixture s(Options());
  ASSERT_TRUE(s.error().ok()) << s.error().ToString();
  auto c = Open(s);
  std::string ehlo = c->Command("EHLO client.example");
  for (const char* ext : {"250-mx.example.org", "PIPELINING", "SIZE 52428800", "8BITMIME",
                          "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"}) {
    EXPECT_NE(ehlo.find(ext), std::string::npos) << ext << " in " << ehlo;
  }
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);  // no certificate configured
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);      // no users
  EXPECT_EQ(c->Command("MAIL FROM:<sender@remote.example> RET=HDRS ENVID=e1"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c->Command("RCPT TO:<user@example.org> NOTIFY=FAILURE ORCPT=rfc822;u@example.org"),
            "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ReplyCode(c->Command("DATA")), 354);
  ASSERT_TRUE(c->Send("Subject: test\r\n\r\n..dot line\r\nbody\r\n.\r\n"));
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000100\r\n");
  EXPECT_EQ(c->Command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c->WaitForEof());

  auto msgs = s.sink().messages();
  ASSERT_EQ(msgs.size(), 1u);
  const IngestedMessage& m = msgs[0];
  EXPECT_EQ(m.return_path, "sender@remote.example");
  ASSERT_EQ(m.recipients.size(), 1u);
  EXPECT_EQ(m.recipients[0].address, "user@example.org");
  EXPECT_EQ(m.recipients[0].orcpt, "rfc822;u@example.org");
  EXPECT_TRUE(m.recipients[0].notify.failure);
  EXPECT_EQ(m.ret, DsnRet::kHeaders);
  EXPECT_EQ(m.envid, "e1");
  EXPECT_EQ(m.source, "unauthenticated");
  EXPECT_EQ(m.client_ip, "127.0.0.1");
  EXPECT_EQ(m.helo, "client.example");
  EXPECT_EQ(m.body.rfind("Received: from client.example ([127.0.0.1])\r\n\tby mx.example.org "
                         "with ESMTP id " +
                             m.trace_id + "\r\n\tfor <user@example.org>; ",
                         0),
            0u)
      << m.body;
  EXPECT_NE(m.body.find("\r\nSubject: test\r\n\r\n.dot line\r\nbody\r\n"), std::string::npos);
  EXPECT_EQ(m.body.substr(m.body.size() - 6), "body\r\n");
}

TEST(SmtpSession, PipelinedTransactionRepliesInOrder) {
  ServerFixture s(Options());
  auto c = Open(s);
  ASSERT_TRUE(
      c->Send("EHLO client.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<x@example.org>\r\n"
              "RCPT TO:<bad>\r\nRCPT TO:<y@example.org>\r\nDATA\r\nSubject: 1\r\n\r\none\r\n.\r\n"
              "MAIL FROM:<>\r\nRCPT TO:<z@example.org>\r\nDATA\r\nSubject: 2\r\n\r\ntwo\r\n.\r\n"
              "NOOP\r\nQUIT\r\n"));
  int expected[] = {250, 250, 250, 501, 250, 354, 250, 250, 250, 354, 250, 250, 221};
  for (int code : expected) EXPECT_EQ(c->ReadCode(), code);
  EXPECT_TRUE(c->WaitForEof());
  auto msgs = s.sink().messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].recipients.size(), 2u);
  EXPECT_EQ(msgs[1].return_path, "");
  EXPECT_NE(msgs[1].body.find("\r\n\r\ntwo\r\n"), std::string::npos);
}

TEST(SmtpSession, SequenceErrorsAndRset) {
  ServerFixture s(Options());
  auto c = Open(s);
  EXPECT_EQ(c->Command("MAIL FROM:<a@b.example>").substr(0, 9), "503 5.5.1");
  EXPECT_EQ(ReplyCode(c->Command("HELO client")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<x@example.org>").substr(0, 9), "503 5.5.1");
  EXPECT_EQ(c->Command("DATA").substr(0, 9), "503 5.5.1");
  EXPECT_EQ(ReplyCode(c->Command("MAIL FROM:<a@b.example>")), 250);
  EXPECT_EQ(c->Command("MAIL FROM:<a@b.example>").substr(0, 9), "503 5.5.1");
  EXPECT_EQ(c->Command("DATA").substr(0, 9), "554 5.5.1");  // no recipients yet
  EXPECT_EQ(ReplyCode(c->Command("RCPT TO:<x@example.org>")), 250);
  EXPECT_EQ(c->Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c->Command("RCPT TO:<x@example.org>").substr(0, 9), "503 5.5.1");
  EXPECT_EQ(c->Command("VRFY bob").substr(0, 9), "252 2.5.2");
  EXPECT_EQ(ReplyCode(c->Command("HELP")), 214);
  EXPECT_EQ(c->Command("BDAT 10 LAST").substr(0, 9), "502 5.5.1");
  EXPECT_EQ(c->Command("STARTTLS").substr(0, 9), "502 5.5.1");    // no certificate
  EXPECT_EQ(c->Command("AUTH PLAIN").substr(0, 9), "502 5.5.1");  // no users
  EXPECT_EQ(c->Command("MAIL FROM:<a@b> FOO=BAR").substr(0, 9), "555 5.5.4");
  EXPECT_EQ(c->Command(std::string(600, 'N')), "500 5.5.2 Error: line too long\r\n");
  EXPECT_EQ(ReplyCode(c->Command("NOOP")), 250);
  EXPECT_EQ(s.sink().count(), 0u);
}

TEST(SmtpSession, OversizeThenGoodMessageOnTheSameConnection) {
  ListenerOptions o = Options();
  o.max_message_size = 2048;
  ServerFixture s(o);
  auto c = Open(s);
  EXPECT_NE(c->Command("EHLO c").find("SIZE 2048"), std::string::npos);
  EXPECT_EQ(c->Command("MAIL FROM:<a@b.example> SIZE=10000").substr(0, 9), "552 5.3.4");
  ASSERT_TRUE(BeginData(*c));
  std::string line(70, 'x');
  std::string big;
  for (int i = 0; i < 100; ++i) big += line + "\r\n";
  ASSERT_TRUE(c->Send(big + ".\r\n"));
  EXPECT_EQ(c->ReadReply().substr(0, 9), "552 5.3.4");
  // The transaction is over, the connection is not.
  ASSERT_TRUE(BeginData(*c));
  ASSERT_TRUE(c->Send("Subject: small\r\n\r\nok\r\n.\r\n"));
  EXPECT_EQ(ReplyCode(c->ReadReply()), 250);
  EXPECT_EQ(s.sink().count(), 1u);
}

TEST(SmtpSession, SmugglingAttemptIsRefusedAndNotExecuted) {
  ServerFixture s(Options());
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_TRUE(BeginData(*c));
  ASSERT_TRUE(
      c->Send("Subject: a\r\n\r\nhi\n.\r\nMAIL FROM:<admin@example.org>\r\n"
              "RCPT TO:<victim@example.org>\r\nDATA\r\nSubject: spoofed\r\n\r\n.\r\n"));
  std::string r = c->ReadReply();
  EXPECT_EQ(r.substr(0, 9), "554 5.6.0") << r;
  EXPECT_NE(r.find("bare LF/CR not allowed"), std::string::npos);
  EXPECT_EQ(ReplyCode(c->Command("NOOP")), 250);  // nothing smuggled got a reply
  EXPECT_EQ(s.sink().count(), 0u);
}

TEST(SmtpSession, ReceivedLoopAndRecipientLimits) {
  ListenerOptions o = Options();
  o.max_received_headers = 2;
  o.max_recipients = 2;
  ServerFixture s(o);
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@remote.example>")), 250);
  ASSERT_EQ(ReplyCode(c->Command("RCPT TO:<x@example.org>")), 250);
  ASSERT_EQ(ReplyCode(c->Command("RCPT TO:<y@example.org>")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<z@example.org>").substr(0, 9), "452 4.5.3");
  ASSERT_EQ(ReplyCode(c->Command("DATA")), 354);
  ASSERT_TRUE(c->Send("Received: a\r\nReceived: b\r\nReceived: c\r\n\r\nloop\r\n.\r\n"));
  EXPECT_EQ(c->ReadReply().substr(0, 9), "554 5.4.6");
  EXPECT_EQ(s.sink().count(), 0u);
}

TEST(SmtpSession, RelayRefusedForUntrustedClient) {
  ListenerOptions o = Options();
  o.relay_networks = {"10.0.0.0/8", "2001:db8::/32"};  // 127.0.0.1 is not trusted
  o.local_users = std::vector<std::string>{"alice"};
  ServerFixture s(o);
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@remote.example>")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<someone@elsewhere.example>"),
            "554 5.7.1 <someone@elsewhere.example>: Relay access denied\r\n");
  EXPECT_EQ(c->Command("RCPT TO:<bob@example.org>").substr(0, 9), "550 5.1.1");
  EXPECT_EQ(ReplyCode(c->Command("RCPT TO:<alice@example.org>")), 250);
  EXPECT_EQ(ReplyCode(c->Command("RCPT TO:<postmaster>")), 250);
  EXPECT_EQ(ReplyCode(c->Command("DATA")), 354);
  ASSERT_TRUE(c->Send("\r\nx\r\n.\r\n"));
  EXPECT_EQ(ReplyCode(c->ReadReply()), 250);
  auto msgs = s.sink().messages();
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_EQ(msgs[0].recipients.size(), 2u);
  EXPECT_EQ(msgs[0].recipients[1].address, "postmaster@example.org");
}

TEST(SmtpSession, ReplyWaitsForTheSinkAndPipelinedCommandsWait) {
  ServerFixture s(Options());
  s.sink().set_hold(true);
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_TRUE(BeginData(*c));
  ASSERT_TRUE(c->Send("\r\nbody\r\n.\r\nNOOP\r\n"));
  ASSERT_TRUE(WaitFor([&] { return s.sink().count() == 1; }));
  // The sink has the message but has not completed it: no reply can exist yet. A loop
  // round-trip makes sure the session had every chance to answer the NOOP.
  s.RunOnLoop([] { return 0; });
  EXPECT_FALSE(c->HasPendingData());
  s.ReleaseHeld();
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000100\r\n");
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, StorageErrorsAndFreeSpace) {
  ServerFixture s(Options());
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  auto send_message = [&] {
    EXPECT_TRUE(BeginData(*c));
    c->Send("\r\nbody\r\n.\r\n");
    return c->ReadReply();
  };
  s.sink().set_fail(Status::IoError("disk on fire"));
  EXPECT_EQ(send_message().substr(0, 9), "451 4.3.0");
  s.sink().set_fail(Status::NoSpace("full"));
  EXPECT_EQ(send_message().substr(0, 9), "452 4.3.1");
  s.sink().set_fail(std::nullopt);
  EXPECT_EQ(ReplyCode(send_message()), 250);
  s.sink().set_below_watermark(true);
  EXPECT_EQ(c->Command("MAIL FROM:<a@remote.example>").substr(0, 9), "452 4.3.1");
}

TEST(SmtpSession, ClientGoneWhileSubmissionPending) {
  ServerFixture s(Options());
  s.sink().set_hold(true);
  {
    auto c = Open(s);
    ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
    ASSERT_TRUE(BeginData(*c));
    ASSERT_TRUE(c->Send("\r\nbody\r\n.\r\n"));
    ASSERT_TRUE(WaitFor([&] { return s.sink().count() == 1; }));
  }
  // Completing after the client left must be harmless; the session then notices the EOF.
  s.ReleaseHeld();
  EXPECT_TRUE(WaitFor([&] { return s.SessionCount() == 0; }));
}

TEST(SmtpSession, PerIpConnectionLimit) {
  ListenerOptions o = Options();
  o.relay_networks = {"10.0.0.0/8"};  // loopback is not exempt
  o.max_connections_per_ip = 2;
  ServerFixture s(o);
  auto a = Open(s);
  auto b = Open(s);
  auto third = TestClient::Connect(s.port());
  ASSERT_NE(third, nullptr);
  std::string r = third->ReadReply();
  EXPECT_EQ(r.substr(0, 9), "421 4.7.0") << r;
  EXPECT_NE(r.find("too many connections"), std::string::npos);
  EXPECT_TRUE(third->WaitForEof());
  third->Close();
  EXPECT_EQ(ReplyCode(a->Command("QUIT")), 221);
  a->Close();
  ASSERT_TRUE(WaitFor([&] { return s.SessionCount() == 1; }));
  auto d = Open(s);  // a slot is free again
  EXPECT_EQ(ReplyCode(d->Command("NOOP")), 250);
}

TEST(SmtpSession, StopAcceptingKeepsOpenSessions) {
  ServerFixture s(Options());
  auto open = Open(s);
  s.RunOnLoop([&] {
    s.listener().StopAccepting();
    return 0;
  });
  EXPECT_EQ(ReplyCode(open->Command("NOOP")), 250);
  EXPECT_EQ(TestClient::Connect(s.port()), nullptr);  // connection refused
}

TEST(SmtpSession, RelayNetworksAreExemptFromTheConnectionLimit) {
  ListenerOptions o = Options();  // 127.0.0.0/8 trusted
  o.max_connections_per_ip = 1;
  ServerFixture s(o);
  auto a = Open(s);
  auto b = Open(s);
  EXPECT_EQ(ReplyCode(b->Command("NOOP")), 250);
}

TEST(SmtpSession, IdleAndCommandTimeouts) {
  ListenerOptions o = Options();
  o.idle_timeout = Millis(150);
  o.command_timeout = Millis(300);
  ServerFixture s(o);
  auto idle = Open(s);
  EXPECT_EQ(idle->ReadReply(), "421 4.4.2 mx.example.org Error: timeout exceeded\r\n");
  EXPECT_TRUE(idle->WaitForEof());
  idle->Close();

  auto busy = Open(s);
  ASSERT_EQ(ReplyCode(busy->Command("EHLO c")), 250);
  ASSERT_EQ(ReplyCode(busy->Command("MAIL FROM:<a@remote.example>")), 250);
  EXPECT_EQ(busy->ReadReply().substr(0, 9), "421 4.4.2");
  EXPECT_TRUE(busy->WaitForEof());
  busy->Close();
  EXPECT_TRUE(WaitFor([&] { return s.SessionCount() == 0; }));
}

TEST(SmtpSession, RequireAuthRefusesMail) {
  ListenerOptions o = Options();
  o.require_auth = true;
  o.allow_plaintext_auth = true;
  o.users = {{"alice", *MakePasswordHash("pw", 1000)}};
  ServerFixture s(o);
  auto c = Open(s);
  EXPECT_NE(c->Command("EHLO c").find("AUTH PLAIN LOGIN"), std::string::npos);
  EXPECT_EQ(c->Command("MAIL FROM:<a@b.example>").substr(0, 9), "530 5.7.0");
  EXPECT_EQ(c->Command("AUTH PLAIN " + Base64Encode(std::string("\0alice\0pw", 9))).substr(0, 9),
            "235 2.7.0");
  EXPECT_EQ(ReplyCode(c->Command("MAIL FROM:<a@b.example>")), 250);
}

TEST(SmtpSession, Ipv6ListenerAndRelayNetwork) {
  ListenerOptions o = Options();
  o.bind = "[::1]:0";
  o.relay_networks = {"::1/128"};
  ServerFixture s(o);
  ASSERT_TRUE(s.error().ok()) << s.error().ToString();
  auto c = TestClient::Connect(s.port(), /*v6=*/true);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(ReplyCode(c->ReadReply()), 220);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(ReplyCode(c->Command("RCPT TO:<r@remote.example>")), 250);  // ::1 may relay
  ASSERT_EQ(ReplyCode(c->Command("DATA")), 354);
  ASSERT_TRUE(c->Send("\r\nv6\r\n.\r\n"));
  EXPECT_EQ(ReplyCode(c->ReadReply()), 250);
  auto msgs = s.sink().messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].client_ip, "::1");
  EXPECT_NE(msgs[0].body.find("from c ([IPv6:::1])"), std::string::npos) << msgs[0].body;
}

TEST(SmtpSession, TooManyErrorsCloseTheConnection) {
  ServerFixture s(Options());
  auto c = Open(s);
  std::string junk;
  for (int i = 0; i < 30; ++i) junk += "FOO\r\n";
  ASSERT_TRUE(c->Send(junk));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ReplyCode(c->ReadReply()), 500) << i;
  EXPECT_EQ(c->ReadReply().substr(0, 9), "421 4.7.0");
  EXPECT_TRUE(c->WaitForEof());
}

// A client that pipelines far more than it reads: every reply still arrives, in order.
TEST(SmtpSession, PipelineFloodKeepsOrder) {
  ServerFixture s(Options());
  auto c = Open(s);
  constexpr int kCommands = 40000;
  std::thread writer([&] {
    std::string batch;
    for (int i = 0; i < kCommands; ++i) batch += (i % 2 == 0) ? "NOOP\r\n" : "RSET\r\n";
    c->Send(batch);
  });
  int ok = 0;
  for (int i = 0; i < kCommands; ++i) {
    if (c->ReadReply() == "250 2.0.0 Ok\r\n") ++ok;
  }
  writer.join();
  EXPECT_EQ(ok, kCommands);
  EXPECT_EQ(ReplyCode(c->Command("QUIT")), 221);
}

class TlsSession : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    ASSERT_FALSE(dir_.empty());
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    ASSERT_TRUE(testing::WriteSelfSignedCert(cert_, key_));
  }
  void TearDown() override { testing::RemoveTree(dir_); }
  ListenerOptions TlsOptions() {
    ListenerOptions o = Options();
    o.relay_networks = {"10.0.0.0/8"};  // relaying needs AUTH here
    o.tls_cert_file = cert_;
    o.tls_key_file = key_;
    o.users = {{"alice", *MakePasswordHash("correct horse", 1000)},
               {"bob", *MakePasswordHash("battery", 1000)}};
    return o;
  }
  // EHLO, STARTTLS, handshake, EHLO again; returns the second EHLO reply.
  std::string UpgradeToTls(TestClient& c) {
    std::string first = c.Command("EHLO c");
    EXPECT_NE(first.find("STARTTLS"), std::string::npos);
    EXPECT_EQ(first.find("AUTH"), std::string::npos);  // not before TLS
    EXPECT_EQ(c.Command("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    EXPECT_TRUE(c.StartTls());
    return c.Command("EHLO c");
  }
  std::string dir_, cert_, key_;
};

TEST_F(TlsSession, AuthRefusedBeforeTls) {
  ServerFixture s(TlsOptions());
  ASSERT_TRUE(s.error().ok()) << s.error().ToString();
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  EXPECT_EQ(c->Command("AUTH PLAIN " + Base64Encode(std::string("\0alice\0correct horse", 20)))
                .substr(0, 10),
            "538 5.7.11");
}

TEST_F(TlsSession, StartTlsThenAuthPlainAndRelay) {
  ServerFixture s(TlsOptions());
  ASSERT_TRUE(s.error().ok()) << s.error().ToString();
  auto c = Open(s);
  std::string ehlo = UpgradeToTls(*c);
  EXPECT_NE(ehlo.find("AUTH PLAIN LOGIN"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(c->Command("STARTTLS").substr(0, 9), "503 5.5.1");
  ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<r@remote.example>").substr(0, 9), "554 5.7.1");
  ASSERT_EQ(ReplyCode(c->Command("RSET")), 250);
  EXPECT_EQ(c->Command("AUTH PLAIN " + Base64Encode(std::string("\0alice\0correct horse", 20))),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(c->Command("AUTH PLAIN").substr(0, 9), "503 5.5.1");
  ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(ReplyCode(c->Command("RCPT TO:<r@remote.example>")), 250);
  ASSERT_EQ(ReplyCode(c->Command("DATA")), 354);
  ASSERT_TRUE(c->Send("Subject: tls\r\n\r\nsecret\r\n.\r\n"));
  EXPECT_EQ(ReplyCode(c->ReadReply()), 250);
  EXPECT_EQ(ReplyCode(c->Command("QUIT")), 221);
  auto msgs = s.sink().messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].source, "authenticated");
  EXPECT_EQ(msgs[0].auth_user, "alice");
  EXPECT_NE(msgs[0].body.find("with ESMTPSA id"), std::string::npos) << msgs[0].body;
  EXPECT_NE(msgs[0].body.find("(using TLSv1."), std::string::npos) << msgs[0].body;
}

TEST_F(TlsSession, AuthLoginAndWrongPasswords) {
  ServerFixture s(TlsOptions());
  auto c = Open(s);
  UpgradeToTls(*c);
  // PLAIN in two steps, wrong password.
  EXPECT_EQ(c->Command("AUTH PLAIN"), "334 \r\n");
  EXPECT_EQ(c->Command(Base64Encode(std::string("\0alice\0wrong", 12))),
            "535 5.7.8 Authentication credentials invalid\r\n");
  // Unknown user: the same answer.
  EXPECT_EQ(
      c->Command("AUTH PLAIN " + Base64Encode(std::string("\0mallory\0battery", 16))).substr(0, 9),
      "535 5.7.8");
  // Cancel and bad base64.
  EXPECT_EQ(c->Command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c->Command("*").substr(0, 9), "501 5.0.0");
  EXPECT_EQ(c->Command("AUTH PLAIN !!!!").substr(0, 9), "501 5.5.2");
  EXPECT_EQ(c->Command("AUTH CRAM-MD5").substr(0, 9), "504 5.5.4");
  // LOGIN done right.
  EXPECT_EQ(c->Command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c->Command(Base64Encode("bob")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c->Command(Base64Encode("battery")), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(TlsSession, TooManyAuthFailuresCloseTheConnection) {
  ServerFixture s(TlsOptions());
  auto c = Open(s);
  UpgradeToTls(*c);
  std::string bad = "AUTH PLAIN " + Base64Encode(std::string("\0alice\0nope", 11));
  EXPECT_EQ(ReplyCode(c->Command(bad)), 535);
  EXPECT_EQ(ReplyCode(c->Command(bad)), 535);
  EXPECT_EQ(ReplyCode(c->Command(bad)), 535);
  EXPECT_EQ(c->ReadReply().substr(0, 9), "421 4.7.0");
}

// CVE-2011-0411: a command pipelined after STARTTLS in plaintext is dropped, and the session
// starts from scratch under TLS.
TEST_F(TlsSession, PipelinedPlaintextAfterStartTlsIsDiscarded) {
  ServerFixture s(TlsOptions());
  auto c = Open(s);
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  ASSERT_TRUE(c->Send("STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n"));
  EXPECT_EQ(c->ReadReply(), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(c->StartTls());
  // EHLO state was reset by the handshake, and the injected MAIL never ran.
  EXPECT_EQ(c->Command("MAIL FROM:<a@example.org>").substr(0, 9), "503 5.5.1");
  ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<x@example.org>"), "503 5.5.1 Error: need MAIL command\r\n");
}

}  // namespace
}  // namespace outpost::smtp_server
