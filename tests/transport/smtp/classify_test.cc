// The failover/classification table of DESIGN.md §4, one row per scenario.
#include "transport/smtp/classify.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/fake_dispatcher.h"
#include "transport/smtp/destination_limiter.h"
#include "transport/smtp/host_down_tracker.h"

namespace outpost::transport::smtp {
namespace {

Reply R(int code, std::string enhanced = "", std::string text = "text") {
  Reply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines.push_back(std::move(text));
  return r;
}

SessionFailure F(Stage stage, FailureKind kind, std::optional<Reply> reply = std::nullopt) {
  return SessionFailure{stage, kind, std::move(reply), "detail"};
}

struct Row {
  const char* name;
  SessionFailure failure;
  FailureContext context;
  NextStep next;
  OutcomeKind kind;
  ErrorClass error;
  bool duplicate;
};

FailureContext Optional() { return FailureContext{TlsMode::kOptional, false, false, false}; }
FailureContext Require() { return FailureContext{TlsMode::kRequire, false, false, false}; }
FailureContext WithCreds() { return FailureContext{TlsMode::kOptional, false, true, false}; }
FailureContext Retried() { return FailureContext{TlsMode::kOptional, false, false, true}; }
FailureContext Implicit() { return FailureContext{TlsMode::kOptional, true, false, false}; }

class Classify : public ::testing::TestWithParam<Row> {};

TEST_P(Classify, Verdict) {
  const Row& row = GetParam();
  FailureVerdict v = ClassifyFailure(row.failure, row.context);
  EXPECT_EQ(v.next, row.next) << NextStepName(v.next);
  EXPECT_EQ(v.kind, row.kind);
  EXPECT_EQ(v.error, row.error) << ErrorClassName(v.error);
  EXPECT_EQ(v.possible_duplicate, row.duplicate);
  EXPECT_EQ(v.mark_host_down,
            row.failure.stage == Stage::kConnect && row.failure.kind != FailureKind::kLocalSetup);
  EXPECT_NE(v.reply.code, 0);
  if (row.failure.reply) {
    EXPECT_EQ(v.reply.code, row.failure.reply->code);
  }
}

using K = FailureKind;
using S = Stage;
constexpr auto kTemp = OutcomeKind::kTempFail;
constexpr auto kPerm = OutcomeKind::kPermFail;

INSTANTIATE_TEST_SUITE_P(
    Failover, Classify,
    ::testing::Values(
        Row{"ConnectRefusedNextAddress", F(S::kConnect, K::kConnectFailed), Optional(),
            NextStep::kNextAddress, kTemp, ErrorClass::kConnection, false},
        Row{"LocalSetupNextAddress", F(S::kConnect, K::kLocalSetup), Optional(),
            NextStep::kNextAddress, kTemp, ErrorClass::kConnection, false},
        Row{"ConnectTimeoutNextAddress", F(S::kConnect, K::kTimeout), Optional(),
            NextStep::kNextAddress, kTemp, ErrorClass::kConnection, false},
        Row{"Greeting554NextHost", F(S::kGreeting, K::kReply, R(554)), Optional(),
            NextStep::kNextHost, kTemp, ErrorClass::kUnexpectedReply, false},
        Row{"GreetingTimeoutNextHost", F(S::kGreeting, K::kTimeout), Optional(),
            NextStep::kNextHost, kTemp, ErrorClass::kConnection, false},
        Row{"HeloRefusedNextHost", F(S::kEhlo, K::kReply, R(550)), Optional(), NextStep::kNextHost,
            kTemp, ErrorClass::kUnexpectedReply, false},
        Row{"HandshakeOptionalRetriesPlaintext", F(S::kTls, K::kTlsHandshake), Optional(),
            NextStep::kRetryPlaintext, kTemp, ErrorClass::kTls, false},
        Row{"StartTlsRefusedOptionalRetriesPlaintext", F(S::kStartTls, K::kTlsHandshake, R(454)),
            Optional(), NextStep::kRetryPlaintext, kTemp, ErrorClass::kTls, false},
        Row{"HandshakeTimeoutOptionalRetriesPlaintext", F(S::kTls, K::kTimeout), Optional(),
            NextStep::kRetryPlaintext, kTemp, ErrorClass::kTls, false},
        Row{"HandshakeRequireNextHost", F(S::kTls, K::kTlsHandshake), Require(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"HandshakeWithCredentialsNextHost", F(S::kTls, K::kTlsHandshake), WithCreds(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"HandshakeOnlyOnePlaintextRetry", F(S::kTls, K::kTlsHandshake), Retried(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"ImplicitTlsNeverPlaintext", F(S::kTls, K::kTlsHandshake), Implicit(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"VerifyFailureNeverPlaintext", F(S::kTls, K::kTlsVerify), Optional(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"RequireNotOfferedIsTls", F(S::kStartTls, K::kStartTlsUnavailable), Require(),
            NextStep::kNextHost, kTemp, ErrorClass::kTls, false},
        Row{"Auth535TempConnection", F(S::kAuth, K::kReply, R(535, "5.7.8")), WithCreds(),
            NextStep::kNextHost, kTemp, ErrorClass::kConnection, false},
        Row{"AuthNoMechanismTempConnection", F(S::kAuth, K::kAuthUnavailable), WithCreds(),
            NextStep::kNextHost, kTemp, ErrorClass::kConnection, false},
        Row{"Mail4xxNextHost", F(S::kMailFrom, K::kReply, R(451)), Optional(), NextStep::kNextHost,
            kTemp, ErrorClass::kUnexpectedReply, false},
        Row{"Mail5xxPermanent", F(S::kMailFrom, K::kReply, R(550)), Optional(), NextStep::kFinal,
            kPerm, ErrorClass::kUnexpectedReply, false},
        Row{"MailTimeoutNextHost", F(S::kMailFrom, K::kTimeout), Optional(), NextStep::kNextHost,
            kTemp, ErrorClass::kConnection, false},
        Row{"SmtpUtf8NextHostPermanentIfLast", F(S::kMailFrom, K::kSmtpUtf8Unavailable), Optional(),
            NextStep::kNextHost, kPerm, ErrorClass::kUnexpectedReply, false},
        Row{"TooBigPermanent", F(S::kMailFrom, K::kMessageTooBig), Optional(), NextStep::kFinal,
            kPerm, ErrorClass::kUnexpectedReply, false},
        Row{"Rcpt421NextHost", F(S::kRcptTo, K::kReply, R(421)), Optional(), NextStep::kNextHost,
            kTemp, ErrorClass::kUnexpectedReply, false},
        Row{"Data421NextHost", F(S::kData, K::kReply, R(421)), Optional(), NextStep::kNextHost,
            kTemp, ErrorClass::kUnexpectedReply, false},
        Row{"Data451Final", F(S::kData, K::kReply, R(451)), Optional(), NextStep::kFinal, kTemp,
            ErrorClass::kUnexpectedReply, false},
        Row{"Data554Permanent", F(S::kData, K::kReply, R(554)), Optional(), NextStep::kFinal, kPerm,
            ErrorClass::kUnexpectedReply, false},
        Row{"DropWhileSendingBodyNextHost", F(S::kData, K::kClosed), Optional(),
            NextStep::kNextHost, kTemp, ErrorClass::kConnection, false},
        Row{"DropAfterDotDefersPossibleDuplicate", F(S::kDataDone, K::kClosed), Optional(),
            NextStep::kFinal, kTemp, ErrorClass::kConnection, true},
        Row{"TimeoutAfterDotDefersPossibleDuplicate", F(S::kDataDone, K::kTimeout), Optional(),
            NextStep::kFinal, kTemp, ErrorClass::kConnection, true},
        Row{"FinalReply452Temp", F(S::kDataDone, K::kReply, R(452)), Optional(), NextStep::kFinal,
            kTemp, ErrorClass::kUnexpectedReply, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClassifyRecipient, RepliesAreFinalPerRecipient) {
  RecipientReply ok{R(250), R(250)};
  EXPECT_EQ(ClassifyRecipient(ok).kind, RecipientVerdict::Kind::kDelivered);
  RecipientReply temp{R(450), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(temp).kind, RecipientVerdict::Kind::kTempFail);
  EXPECT_EQ(ClassifyRecipient(temp).error, ErrorClass::kUnexpectedReply);
  RecipientReply perm{R(550), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(perm).kind, RecipientVerdict::Kind::kPermFail);
  RecipientReply lmtp_perm{R(250), R(552)};
  EXPECT_EQ(ClassifyRecipient(lmtp_perm).kind, RecipientVerdict::Kind::kPermFail);
  RecipientReply too_many{R(452, "4.5.3"), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(too_many).kind, RecipientVerdict::Kind::kFollowUp);
  RecipientReply too_many_552{R(552, "", "Too many recipients"), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(too_many_552).kind, RecipientVerdict::Kind::kFollowUp);
  RecipientReply full{R(452, "4.2.2", "mailbox full"), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(full).kind, RecipientVerdict::Kind::kTempFail);
  RecipientReply no_final{R(250), std::nullopt};
  EXPECT_EQ(ClassifyRecipient(no_final).kind, RecipientVerdict::Kind::kUnresolved);
  EXPECT_EQ(ClassifyRecipient(RecipientReply{}).kind, RecipientVerdict::Kind::kUnresolved);
}

TEST(HostDownTracker, DownTimeGrowsAndCaps) {
  FakeClock clock;
  HostDownTracker t(clock, {std::chrono::seconds(10), std::chrono::seconds(35)});
  EXPECT_FALSE(t.IsDown("a"));
  t.MarkDown("a");
  EXPECT_TRUE(t.IsDown("a"));
  EXPECT_EQ(t.RemainingForTest("a"), std::chrono::seconds(10));
  clock.Advance(std::chrono::seconds(10));
  EXPECT_FALSE(t.IsDown("a"));
  t.MarkDown("a");
  EXPECT_EQ(t.RemainingForTest("a"), std::chrono::seconds(20));
  // Concurrent connections to the same dead host failing inside the period: same outage.
  clock.Advance(std::chrono::seconds(1));
  t.MarkDown("a");
  t.MarkDown("a");
  EXPECT_EQ(t.RemainingForTest("a"), std::chrono::seconds(19));
  clock.Advance(std::chrono::seconds(19));
  EXPECT_FALSE(t.IsDown("a"));
  t.MarkDown("a");  // the third consecutive outage: 40 s, capped
  EXPECT_EQ(t.RemainingForTest("a"), std::chrono::seconds(35));
  EXPECT_FALSE(t.IsDown("b"));
  t.MarkUp("a");
  EXPECT_FALSE(t.IsDown("a"));
  t.MarkDown("a");
  EXPECT_EQ(t.RemainingForTest("a"), std::chrono::seconds(10));
}

TEST(DestinationLimiter, QueuesBeyondTheLimitInOrder) {
  FakeClock clock;
  FakeDispatcher d(clock);
  DestinationLimiter limiter(d);
  std::vector<DestinationLimiter::Permit> held;
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) {
    limiter.Acquire("relay:x", 2, [&, i](DestinationLimiter::Permit p) {
      order.push_back(i);
      held.push_back(std::move(p));
    });
  }
  EXPECT_TRUE(order.empty());  // never inside Acquire
  d.RunPending();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(limiter.InUseForTest("relay:x"), 2u);
  EXPECT_EQ(limiter.WaitingForTest("relay:x"), 2u);
  // Another destination is not held up.
  bool other = false;
  limiter.Acquire("mx:example.net", 1, [&](DestinationLimiter::Permit) { other = true; });
  d.RunPending();
  EXPECT_TRUE(other);
  held[0].reset();
  d.RunPending();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  held.clear();
  d.RunPending();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  held.clear();
  EXPECT_EQ(limiter.InUseForTest("relay:x"), 0u);
}

}  // namespace
}  // namespace outpost::transport::smtp
