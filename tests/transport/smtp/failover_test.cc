// SmtpDeliverer + SmtpSession against scripted loopback peers: exact reply sequences and the
// failover/classification they must produce (DESIGN.md §4).
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <memory>

#include "common/clock.h"
#include "common/libevent_dispatcher.h"
#include "tests/transport/smtp/scripted_server.h"
#include "tests/transport/smtp/smtp_test_util.h"
#include "tests/transport/smtp/test_cert.h"
#include "transport/smtp/smtp_deliverer.h"
#include "transport/smtp/tls_client.h"

namespace outpost::transport::smtp {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDeliverer({}); }

  void MakeDeliverer(TlsClientContext::Options tls_options) {
    deliverer_.reset();
    tls_ = std::move(TlsClientContext::Create(tls_options).value());
    SmtpDelivererOptions options;
    options.pool.idle_timeout = milliseconds(500);
    deliverer_ = std::make_unique<SmtpDeliverer>(loop_, *tls_, clock_, options);
  }

  DeliveryResult Deliver(DeliveryRequest request, std::vector<TargetHost> hosts) {
    return DeliverAndWait(loop_, *deliverer_, std::move(request), std::move(hosts));
  }

  // Lets posted work and pending I/O (QUIT, closes) settle.
  void Settle() {
    auto t = loop_.CreateTimer([this] { loop_.Exit(); });
    t->Enable(milliseconds(50));
    loop_.Run();
  }

  LibeventDispatcher loop_;
  FakeClock clock_;  // only the down-host memory reads it
  TestPolicy policy_;
  std::unique_ptr<TlsClientContext> tls_;
  std::unique_ptr<SmtpDeliverer> deliverer_;
};

const Script kNormal = Concat({Greet({"PIPELINING", "8BITMIME"}), AcceptMessage(1)});

TEST_F(FailoverTest, DeliversPipelinedAndDotStuffed) {
  ScriptedServer peer(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  ASSERT_EQ(result.outcomes.size(), 1u);
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kNone);
  EXPECT_EQ(result.outcomes[0].reply.code, 250);
  EXPECT_EQ(result.outcomes[0].host, "mx1.test");
  EXPECT_EQ(result.outcomes[0].ip, "127.0.0.1");
  EXPECT_FALSE(result.outcomes[0].final_delivery);
  EXPECT_FALSE(result.possible_duplicate);
  ASSERT_EQ(result.hosts_tried.size(), 1u);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kNone);
  EXPECT_EQ(peer.transcript(0),
            (std::vector<std::string>{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                      "RCPT TO:<bob@example.net>", "DATA", "<DATA>"}));
  EXPECT_EQ(peer.message(0, 0), "Subject: hi\r\n\r\nhello\r\n..dot line\r\n.\r\n");
}

TEST_F(FailoverTest, WithoutPipeliningStopsAfterRefusedMail) {
  ScriptedServer peer(loop_, {Concat({Greet({}), On("MAIL", "550 5.7.1 go away\r\n")})});
  auto result = Deliver(MxRequest(&policy_, {"a@example.net", "b@example.net"}),
                        {Host("mx1.test", peer.port())});
  ASSERT_EQ(result.outcomes.size(), 2u);
  for (const auto& o : result.outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kPermFail);
    EXPECT_EQ(o.error, ErrorClass::kUnexpectedReply);
    EXPECT_EQ(o.reply.code, 550);
    EXPECT_EQ(o.reply.enhanced, "5.7.1");
  }
  // Not one RCPT was sent after the refusal: the client waited for each reply.
  EXPECT_EQ(peer.transcript(0),
            (std::vector<std::string>{"EHLO client.test", "MAIL FROM:<alice@example.org>"}));
}

TEST_F(FailoverTest, Greeting554MovesToNextHost) {
  ScriptedServer bad(loop_, {{Send("554 5.3.2 no service\r\n"), Hang()}});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", bad.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.outcomes[0].host, "mx2.test");
  ASSERT_EQ(result.hosts_tried.size(), 2u);
  EXPECT_EQ(result.hosts_tried[0].host, "mx1.test");
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kUnexpectedReply);
  EXPECT_EQ(result.hosts_tried[0].reply.code, 554);
}

TEST_F(FailoverTest, EhloRefusedFallsBackToHeloOnSameConnection) {
  ScriptedServer peer(loop_, {Concat({{Send("220 old peer\r\n")},
                                      On("EHLO", "502 5.5.2 what?\r\n"),
                                      On("HELO client.test", "250 old.peer\r\n"),
                                      AcceptMessage(1)})});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(FailoverTest, HeloRefusedMovesToNextHost) {
  ScriptedServer bad(loop_, {Concat({{Send("220 x\r\n")},
                                     On("EHLO", "550 no\r\n"),
                                     On("HELO", "550 still no\r\n"),
                                     {Hang()}})});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", bad.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.hosts_tried[0].reply.code, 550);
  EXPECT_EQ(result.hosts_tried[0].reply.text, "still no");
}

TEST_F(FailoverTest, Code421BeforeDataMovesToNextHost) {
  ScriptedServer bad(loop_, {Concat({Greet({"PIPELINING"}),
                                     On("MAIL", "250 ok\r\n"),
                                     On("RCPT", "421 4.3.2 shutting down\r\n"),
                                     {Close()}})});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", bad.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.hosts_tried[0].reply.code, 421);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kUnexpectedReply);
}

TEST_F(FailoverTest, TempFailToMailFromMovesToNextHost) {
  ScriptedServer bad(loop_, {Concat({Greet({}), On("MAIL", "451 4.3.0 try later\r\n"), {Hang()}})});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", bad.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(good.connections(), 1);
}

TEST_F(FailoverTest, AllHostsTempFailGiveFurthestStageAndLastReply) {
  ScriptedServer h1(loop_, {{Send("554 nope\r\n"), Hang()}});
  ScriptedServer h2(loop_, {Concat({Greet({}), On("MAIL", "452 4.3.1 full\r\n"), {Hang()}})});
  auto result = Deliver(
      MxRequest(&policy_, {"bob@example.net"}),
      {Host("mx1.test", h1.port()), Host("mx2.test", h2.port()), Host("mx3.test", ClosedPort())});
  ASSERT_EQ(result.hosts_tried.size(), 3u);
  EXPECT_EQ(result.hosts_tried[2].error, ErrorClass::kConnection);
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kUnexpectedReply);
  EXPECT_EQ(result.outcomes[0].reply.code, 452);
  EXPECT_EQ(result.outcomes[0].host, "mx2.test");
}

TEST_F(FailoverTest, RecipientRepliesAreFinalPerRecipient) {
  ScriptedServer peer(loop_, {Concat({Greet({"PIPELINING"}),
                                      On("MAIL", "250 ok\r\n"),
                                      On("RCPT", "250 ok\r\n"),
                                      On("RCPT", "450 4.2.1 mailbox busy\r\n"),
                                      On("RCPT", "550 5.1.1 unknown\r\n"),
                                      On("DATA", "354 go\r\n"),
                                      {Data(), Send("250 2.0.0 queued\r\n")}})});
  ScriptedServer other(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"a@example.net", "b@example.net", "c@example.net"}),
                        {Host("mx1.test", peer.port()), Host("mx2.test", other.port())});
  ASSERT_EQ(result.outcomes.size(), 3u);
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.outcomes[1].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[1].error, ErrorClass::kUnexpectedReply);
  EXPECT_EQ(result.outcomes[1].reply.enhanced, "4.2.1");
  EXPECT_EQ(result.outcomes[2].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result.outcomes[2].reply.code, 550);
  EXPECT_EQ(other.connections(), 0);
}

TEST_F(FailoverTest, TooManyRecipientsGoInAFollowUpTransaction) {
  ScriptedServer peer(loop_, {Concat({Greet({"PIPELINING"}),
                                      On("MAIL", "250 ok\r\n"),
                                      On("RCPT", "250 ok\r\n"),
                                      On("RCPT", "452 4.5.3 too many recipients\r\n"),
                                      On("RCPT", "452 4.5.3 too many recipients\r\n"),
                                      On("DATA", "354 go\r\n"),
                                      {Data(), Send("250 first\r\n")},
                                      AcceptMessage(2)})});
  auto result = Deliver(MxRequest(&policy_, {"a@example.net", "b@example.net", "c@example.net"}),
                        {Host("mx1.test", peer.port())});
  for (const auto& o : result.outcomes) EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
  EXPECT_EQ(result.outcomes[0].reply.text, "first");
  EXPECT_EQ(result.outcomes[1].reply.text, "Ok: queued");
}

TEST_F(FailoverTest, MoreThan100RecipientsSplitOnOneConnection) {
  std::vector<std::string> rcpts;
  for (int i = 0; i < 130; ++i) rcpts.push_back(NumberedAddress(i));
  ScriptedServer peer(loop_,
                      {Concat({Greet({"PIPELINING"}), AcceptMessage(100), AcceptMessage(30)})});
  auto result = Deliver(MxRequest(&policy_, rcpts), {Host("mx1.test", peer.port())});
  ASSERT_EQ(result.outcomes.size(), 130u);
  for (const auto& o : result.outcomes) EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
  int mails = 0;
  for (const auto& l : peer.transcript(0)) mails += l.rfind("MAIL", 0) == 0 ? 1 : 0;
  EXPECT_EQ(mails, 2);
}

TEST_F(FailoverTest, DropAfterFinalDotDefersWithoutFailover) {
  ScriptedServer peer(loop_, {Concat({Greet({}),
                                      On("MAIL", "250 ok\r\n"),
                                      On("RCPT", "250 ok\r\n"),
                                      On("DATA", "354 go\r\n"),
                                      {Data(), Close()}})});
  ScriptedServer other(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", peer.port()), Host("mx2.test", other.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConnection);
  EXPECT_TRUE(result.possible_duplicate);
  EXPECT_EQ(other.connections(), 0);
}

TEST_F(FailoverTest, RefusalInTheMiddleOfTheBodyIsTheVerdict) {
  // 4 MB body: the peer answers 552 after the first bytes, long before the final dot.
  std::string big(4 * 1024 * 1024, 'x');
  ScriptedServer peer(loop_, {Concat({Greet({}),
                                      On("MAIL", "250 ok\r\n"),
                                      On("RCPT", "250 ok\r\n"),
                                      On("DATA", "354 go\r\n"),
                                      {Send("552 5.3.4 message too big\r\n"), Close()}})});
  ScriptedServer other(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}, big),
                        {Host("mx1.test", peer.port()), Host("mx2.test", other.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "5.3.4");
  EXPECT_FALSE(result.possible_duplicate);
  EXPECT_EQ(other.connections(), 0);
}

TEST_F(FailoverTest, TimeoutAfterFinalDotDefersWithoutFailover) {
  policy_.connection.data_timeout = milliseconds(200);
  ScriptedServer peer(loop_, {Concat({Greet({}),
                                      On("MAIL", "250 ok\r\n"),
                                      On("RCPT", "250 ok\r\n"),
                                      On("DATA", "354 go\r\n"),
                                      {Data(), Hang()}})});
  ScriptedServer other(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", peer.port()), Host("mx2.test", other.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_TRUE(result.possible_duplicate);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "4.4.2");
  EXPECT_EQ(other.connections(), 0);
}

TEST_F(FailoverTest, HangAtGreetingTimesOutAndFailsOver) {
  policy_.connection.greeting_timeout = milliseconds(200);
  ScriptedServer silent(loop_, {{Hang()}});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", silent.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kConnection);
  EXPECT_NE(result.hosts_tried[0].reply.text.find("timeout during greeting"), std::string::npos);
}

TEST_F(FailoverTest, HangAtRcptTimesOutBeforeBodyAndFailsOver) {
  policy_.connection.rcpt_to_timeout = milliseconds(200);
  ScriptedServer slow(loop_,
                      {Concat({Greet({}), On("MAIL", "250 ok\r\n"), {Expect("RCPT"), Hang()}})});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", slow.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_FALSE(result.possible_duplicate);
}

TEST_F(FailoverTest, GarbageReplyIsProtocolErrorAndFailsOver) {
  ScriptedServer bad(loop_, {{Send("220 hi\r\n"), Expect("EHLO"), Send("2x0 what\r\n"), Hang()}});
  ScriptedServer good(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}),
                        {Host("mx1.test", bad.port()), Host("mx2.test", good.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kUnexpectedReply);
  EXPECT_EQ(result.hosts_tried[0].reply.enhanced, "4.5.0");
}

TEST_F(FailoverTest, HugeReplyLineIsBoundedProtocolError) {
  ScriptedServer bad(loop_, {{Send("220 " + std::string(2 * 1024 * 1024, 'A')), Hang()}});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", bad.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_NE(result.outcomes[0].reply.text.find("longer than"), std::string::npos);
}

TEST_F(FailoverTest, LmtpFewerRepliesThanRecipients) {
  RelayRoute route;
  route.address = "127.0.0.1";
  route.protocol = RelayProtocol::kLmtp;
  ScriptedServer peer(
      loop_, {Concat({Greet({"PIPELINING", "ENHANCEDSTATUSCODES"}, "LHLO"),
                      On("MAIL", "250 ok\r\n"),
                      On("RCPT", "250 ok\r\n"),
                      On("RCPT", "250 ok\r\n"),
                      On("RCPT", "250 ok\r\n"),
                      On("DATA", "354 go\r\n"),
                      {Data(), Send("250 2.0.0 <a> saved\r\n550 5.1.1 <b> gone\r\n"), Close()}})});
  route.port = peer.port();
  auto result = Deliver(RelayRequest(&policy_, route, {"a@x.test", "b@x.test", "c@x.test"}),
                        {Host("127.0.0.1", peer.port())});
  ASSERT_EQ(result.outcomes.size(), 3u);
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_TRUE(result.outcomes[0].final_delivery);
  EXPECT_EQ(result.outcomes[1].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result.outcomes[1].reply.enhanced, "5.1.1");
  EXPECT_EQ(result.outcomes[2].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[2].error, ErrorClass::kConnection);
  EXPECT_TRUE(result.possible_duplicate);
}

TEST_F(FailoverTest, ConnectFailureTriesNextAddressAndMarksItDown) {
  ScriptedServer good(loop_, {kNormal, kNormal});
  uint16_t dead = ClosedPort();
  std::vector<TargetHost> hosts = {Host("mx1.test", dead), Host("mx2.test", good.port())};
  auto first = Deliver(MxRequest(&policy_, {"bob@example.net"}), hosts);
  EXPECT_EQ(first.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(first.hosts_tried[0].error, ErrorClass::kConnection);
  EXPECT_EQ(first.hosts_tried[0].reply.enhanced, "4.4.1");
  EXPECT_TRUE(deliverer_->down_hosts().IsDown("127.0.0.1|" + std::to_string(dead)));

  // While down, the host is skipped without connecting.
  auto second = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", dead)});
  EXPECT_EQ(second.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(second.outcomes[0].error, ErrorClass::kConnection);
  EXPECT_EQ(second.outcomes[0].reply.text, "host marked down");

  // After the down time, it is tried again (and fails again, for longer).
  clock_.Advance(std::chrono::minutes(1));
  auto third = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", dead)});
  EXPECT_NE(third.outcomes[0].reply.text.find("connect failed"), std::string::npos);
}

// The scheduler's probe after its own down period connects even to a host this transport still
// remembers as down: the host came back, and a probe answered from memory would keep the whole
// destination deferred for another (doubled) period.
TEST_F(FailoverTest, ProbeConnectsPastTheDownHostMemory) {
  ScriptedServer peer(loop_, {kNormal});
  const std::string key = "127.0.0.1|" + std::to_string(peer.port());
  deliverer_->down_hosts().MarkDown(key);
  auto remembered = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(remembered.outcomes[0].reply.text, "host marked down");
  EXPECT_EQ(peer.connections(), 0);

  DeliveryRequest probe = MxRequest(&policy_, {"bob@example.net"});
  probe.probe = true;
  auto result = Deliver(probe, {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
  EXPECT_FALSE(deliverer_->down_hosts().IsDown(key)) << "a connection that worked marks it up";
}

TEST_F(FailoverTest, SmtpUtf8NotOfferedTriesNextHostThenIsPermanent) {
  ScriptedServer h1(loop_, {Concat({Greet({"8BITMIME"}), {Hang()}})});
  ScriptedServer h2(loop_, {Concat({Greet({"8BITMIME"}), {Hang()}})});
  DeliveryRequest req = MxRequest(&policy_, {"bob@example.net"});
  req.message.smtputf8 = true;
  auto result = Deliver(req, {Host("mx1.test", h1.port()), Host("mx2.test", h2.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "5.6.7");
  EXPECT_EQ(h2.connections(), 1);
}

TEST_F(FailoverTest, SmtpUtf8OfferedSendsParameter) {
  ScriptedServer peer(
      loop_, {Concat({Greet({"SMTPUTF8", "8BITMIME"}),
                      On("MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8", "250 ok\r\n"),
                      On("RCPT", "250 ok\r\n"),
                      On("DATA", "354 go\r\n"),
                      {Data(), Send("250 ok\r\n")}})});
  DeliveryRequest req = MxRequest(&policy_, {"bob@example.net"});
  req.message.smtputf8 = true;
  req.message.eight_bit = true;
  auto result = Deliver(req, {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
}

TEST_F(FailoverTest, MessageLargerThanPeerSizeIsPermanent534) {
  ScriptedServer peer(loop_, {Concat({Greet({"SIZE 10"}), {Hang()}})});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "5.3.4");
  EXPECT_EQ(peer.transcript(0).size(), 1u);  // only EHLO
}

TEST_F(FailoverTest, DsnParametersSentOnlyWhenOffered) {
  ScriptedServer peer(
      loop_,
      {Concat({Greet({"DSN", "SIZE 0"}),
               On("MAIL FROM:<alice@example.org> SIZE=", "250 ok\r\n"),
               On("RCPT TO:<bob@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;bob@example.net",
                  "250 ok\r\n"),
               On("DATA", "354 go\r\n"),
               {Data(), Send("250 ok\r\n")}})});
  DeliveryRequest req = MxRequest(&policy_, {"bob@example.net"});
  req.message.ret = DsnRet::kHeaders;
  req.recipients[0].notify.success = true;
  req.recipients[0].notify.delay = true;
  req.recipients[0].orcpt = "rfc822;bob@example.net";
  auto result = Deliver(req, {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_TRUE(result.outcomes[0].dsn_passed_on);
  EXPECT_NE(peer.transcript(0)[1].find("RET=HDRS"), std::string::npos);
}

TEST_F(FailoverTest, PolicyErrorIsConfigTempFailure) {
  policy_.fail_with = "no connection strategy named 'fast'";
  ScriptedServer peer(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConfig);
  EXPECT_NE(result.outcomes[0].reply.text.find("fast"), std::string::npos);
  EXPECT_EQ(peer.connections(), 0);
}

TEST_F(FailoverTest, PooledConnectionIsReusedWithRset) {
  ScriptedServer peer(loop_,
                      {Concat({Greet({"PIPELINING"}), AcceptMessage(1), On("RSET", "250 ok\r\n"),
                               AcceptMessage(1), On("QUIT", "221 bye\r\n")})});
  auto first = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  auto second =
      Deliver(MxRequest(&policy_, {"carol@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(first.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(second.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 1);
  EXPECT_EQ(deliverer_->pool().IdleCountForTest(), 1u);
}

TEST_F(FailoverTest, DifferentEhloNameDoesNotShareConnection) {
  ScriptedServer peer(loop_, {Concat({Greet({}), AcceptMessage(1), {Hang()}})});
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  policy_.connection.ehlo_hostname = "other.test";
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(peer.connections(), 2);
}

TEST_F(FailoverTest, StalePooledConnectionIsReplacedSilently) {
  ScriptedServer peer(loop_, {Concat({Greet({}), AcceptMessage(1), {Close()}}),
                              Concat({Greet({}), AcceptMessage(1)})});
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  Settle();
  auto second = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(second.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(second.hosts_tried.size(), 1u);
  EXPECT_EQ(peer.connections(), 2);
}

TEST_F(FailoverTest, SourceIpFromPolicyIsBound) {
  policy_.connection.source_ip = "127.0.0.2";
  ScriptedServer peer(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.peer_ip(0), "127.0.0.2");
}

TEST_F(FailoverTest, UnusableSourceIpIsConnectFailure) {
  policy_.connection.source_ip = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  ScriptedServer peer(loop_, {kNormal});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConnection);
  EXPECT_NE(result.outcomes[0].reply.text.find("192.0.2.1"), std::string::npos);
  EXPECT_EQ(peer.connections(), 0);
  EXPECT_FALSE(deliverer_->down_hosts().IsDown("127.0.0.1|" + std::to_string(peer.port())));
}

TEST_F(FailoverTest, IdlePooledConnectionQuitsAfterIdleTimeout) {
  ScriptedServer peer(loop_, {Concat({Greet({}), AcceptMessage(1), On("QUIT", "221 bye\r\n")})});
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx1.test", peer.port())});
  EXPECT_EQ(deliverer_->pool().IdleCountForTest(), 1u);
  // Wait (bounded) for the pool's idle timer; no assertion on how long it took.
  std::unique_ptr<Timer> poll;
  poll = loop_.CreateTimer([&] {
    if (peer.transcript(0).back() == "QUIT") return loop_.Exit();
    poll->Enable(milliseconds(10));
  });
  poll->Enable(milliseconds(10));
  bool never = false;
  RunLoop(loop_, never, std::chrono::seconds(10));
  EXPECT_EQ(peer.transcript(0).back(), "QUIT");
  EXPECT_EQ(deliverer_->pool().IdleCountForTest(), 0u);
}

// ---- TLS -----------------------------------------------------------------------------------

class TlsFailoverTest : public FailoverTest {
 protected:
  void SetUp() override {
    FailoverTest::SetUp();
    cert_ = MakeSelfSignedCert("localhost");
    server_ctx_ = MakeServerContext(cert_);
  }
  void TearDown() override { SSL_CTX_free(server_ctx_); }
  Script TlsScript(std::string after_starttls_reply = "220 2.0.0 go ahead\r\n") {
    return Concat({Greet({"PIPELINING", "STARTTLS"}),
                   {Expect("STARTTLS"), Send(after_starttls_reply), StartTls()},
                   {Expect("EHLO"), Send("250-test.peer\r\n250 PIPELINING\r\n")},
                   AcceptMessage(1)});
  }
  TestCert cert_;
  SSL_CTX* server_ctx_ = nullptr;
};

TEST_F(TlsFailoverTest, StartTlsDiscardsInjectedPlaintextAndReEhlos) {
  // CVE-2021-38371: a reply glued after the 220 must never be read inside the TLS session.
  policy_.tls.allow_invalid_certs = true;
  ScriptedServer peer(loop_, {TlsScript("220 go ahead\r\n250 injected\r\n")}, server_ctx_);
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.transcript(0),
            (std::vector<std::string>{"EHLO client.test", "STARTTLS", "EHLO client.test",
                                      "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.net>",
                                      "DATA", "<DATA>"}));
}

TEST_F(TlsFailoverTest, SniIsSentForHostNamesOnly) {
  policy_.tls.allow_invalid_certs = true;
  ScriptedServer by_name(loop_, {TlsScript()}, server_ctx_);
  ScriptedServer by_ip(loop_, {TlsScript()}, server_ctx_);
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", by_name.port())});
  Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("127.0.0.1", by_ip.port())});
  EXPECT_EQ(by_name.sni(0), "localhost");
  EXPECT_EQ(by_ip.sni(0), "");
  EXPECT_EQ(by_ip.transcript(0).back(), "<DATA>");
}

TEST_F(TlsFailoverTest, HandshakeTimeoutUnderOptionalRetriesPlaintext) {
  policy_.tls.tls_timeout = milliseconds(200);
  Script silent = Concat({Greet({"STARTTLS"}), On("STARTTLS", "220 go\r\n"), {Hang()}});
  ScriptedServer peer(loop_, {silent, Concat({Greet({"STARTTLS"}), AcceptMessage(1)})});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kTls);
  EXPECT_NE(result.hosts_tried[0].reply.text.find("timeout during tls"), std::string::npos);
}

TEST_F(TlsFailoverTest, UntrustedCertificateIsTlsErrorWithoutPlaintextFallback) {
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kTls);
  EXPECT_NE(result.outcomes[0].reply.text.find("certificate verification failed"),
            std::string::npos);
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(TlsFailoverTest, TrustedCertificateMatchingNameVerifies) {
  std::string ca = WriteTempFile("ca.pem", cert_.cert_pem);
  MakeDeliverer({ca});  // the CA file is read here, once
  std::remove(ca.c_str());
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
}

TEST_F(TlsFailoverTest, NameMismatchFailsVerification) {
  std::string ca = WriteTempFile("ca2.pem", cert_.cert_pem);
  MakeDeliverer({ca});  // the CA file is read here, once
  std::remove(ca.c_str());
  ScriptedServer peer(loop_, {TlsScript()}, server_ctx_);
  auto result =
      Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("mx.other.test", peer.port())});
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kTls);
}

TEST_F(TlsFailoverTest, OptionalTlsHandshakeFailureRetriesSameHostInPlaintext) {
  // First connection: 220 to STARTTLS, then garbage instead of a handshake.
  Script broken = Concat(
      {Greet({"STARTTLS"}), On("STARTTLS", "220 go\r\n"), {Send("this is not TLS\r\n"), Close()}});
  Script plain = Concat({Greet({"STARTTLS"}), AcceptMessage(1)});
  ScriptedServer peer(loop_, {broken, plain});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(peer.connections(), 2);
  ASSERT_EQ(result.hosts_tried.size(), 2u);
  EXPECT_EQ(result.hosts_tried[0].error, ErrorClass::kTls);
}

TEST_F(TlsFailoverTest, RequiredTlsHandshakeFailureNeverFallsBack) {
  policy_.tls.starttls = TlsMode::kRequire;
  Script broken = Concat(
      {Greet({"STARTTLS"}), On("STARTTLS", "220 go\r\n"), {Send("this is not TLS\r\n"), Close()}});
  ScriptedServer peer(loop_, {broken, Concat({Greet({"STARTTLS"}), AcceptMessage(1)})});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kTls);
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(TlsFailoverTest, CredentialsForbidPlaintextFallback) {
  RelayRoute route;
  route.address = "127.0.0.1";
  route.auth_username = "user";
  route.auth_secret = "secret";
  Script broken = Concat({Greet({"STARTTLS", "AUTH PLAIN"}),
                          On("STARTTLS", "220 go\r\n"),
                          {Send("garbage\r\n"), Close()}});
  ScriptedServer peer(loop_, {broken, Concat({Greet({"AUTH PLAIN"}), {Hang()}})});
  route.port = peer.port();
  auto result =
      Deliver(RelayRequest(&policy_, route, {"bob@example.net"}), {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kTls);
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(TlsFailoverTest, RequiredTlsNotOfferedIsTlsError) {
  policy_.tls.starttls = TlsMode::kRequire;
  ScriptedServer peer(loop_, {Concat({Greet({"PIPELINING"}), {Hang()}})});
  auto result = Deliver(MxRequest(&policy_, {"bob@example.net"}), {Host("localhost", peer.port())});
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kTls);
}

TEST_F(TlsFailoverTest, ImplicitTlsRelay) {
  RelayRoute route;
  route.address = "127.0.0.1";
  route.implicit_tls = true;
  route.allow_invalid_certs = true;
  ScriptedServer peer(loop_, {Concat({{StartTls()}, Greet({"PIPELINING"}), AcceptMessage(1)})},
                      server_ctx_);
  route.port = peer.port();
  auto result =
      Deliver(RelayRequest(&policy_, route, {"bob@example.net"}), {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
}

// ---- AUTH ----------------------------------------------------------------------------------

RelayRoute AuthRoute(uint16_t port) {
  RelayRoute route;
  route.address = "127.0.0.1";
  route.port = port;
  route.auth_username = "user";
  route.auth_secret = "secret";
  return route;
}

TEST_F(FailoverTest, AuthPlainSendsCredentials) {
  ScriptedServer peer(
      loop_, {Concat({Greet({"AUTH LOGIN PLAIN"}),
                      On("AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0 ok\r\n"), AcceptMessage(1)})});
  auto result = Deliver(RelayRequest(&policy_, AuthRoute(peer.port()), {"bob@example.net"}),
                        {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
}

TEST_F(FailoverTest, AuthLoginSendsCredentials) {
  ScriptedServer peer(loop_,
                      {Concat({Greet({"AUTH LOGIN"}), On("AUTH LOGIN", "334 VXNlcm5hbWU6\r\n"),
                               On("dXNlcg==", "334 UGFzc3dvcmQ6\r\n"), On("c2VjcmV0", "235 ok\r\n"),
                               AcceptMessage(1)})});
  auto result = Deliver(RelayRequest(&policy_, AuthRoute(peer.port()), {"bob@example.net"}),
                        {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kDelivered);
}

TEST_F(FailoverTest, Auth535IsTemporaryConnectionFailureWithReply) {
  ScriptedServer peer(loop_, {Concat({Greet({"AUTH PLAIN"}),
                                      On("AUTH PLAIN", "535 5.7.8 bad credentials\r\n"),
                                      {Hang()}})});
  auto result = Deliver(RelayRequest(&policy_, AuthRoute(peer.port()), {"bob@example.net"}),
                        {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConnection);
  EXPECT_EQ(result.outcomes[0].reply.code, 535);
  EXPECT_EQ(result.outcomes[0].reply.enhanced, "5.7.8");
}

TEST_F(FailoverTest, AuthWithoutCommonMechanismIsTemporary) {
  ScriptedServer peer(loop_, {Concat({Greet({"AUTH CRAM-MD5"}), {Hang()}})});
  auto result = Deliver(RelayRequest(&policy_, AuthRoute(peer.port()), {"bob@example.net"}),
                        {Host("127.0.0.1", peer.port())});
  EXPECT_EQ(result.outcomes[0].kind, OutcomeKind::kTempFail);
  EXPECT_EQ(result.outcomes[0].error, ErrorClass::kConnection);
}

}  // namespace
}  // namespace outpost::transport::smtp
