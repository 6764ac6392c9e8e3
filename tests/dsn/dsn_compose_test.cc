// Compose -> parse round trips: every field we write must read back as it was meant.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "queue/dsn/dsn_composer.h"
#include "queue/dsn/dsn_parser.h"
#include "queue/dsn/returned_content.h"
#include "tests/dsn/dsn_test_util.h"

namespace outpost::dsn {
namespace {

using testing_util::LineProblem;

constexpr int64_t kArrival = 1767225600000;        // 2026-01-01T00:00:00Z
constexpr int64_t kNow = kArrival + 3 * 86400000;  // three days later
constexpr int64_t kLastAttempt = kNow - 60000;
constexpr int64_t kRetryUntil = kArrival + 5 * 86400000;
const std::string kHost = "mx.example.org";
const std::string kReturnPath = "Sender@example.org";
const std::string kHeaders =
    "From: Sender <Sender@example.org>\r\nTo: a@example.net, b@example.net\r\n"
    "Subject: quarterly\r\n figures\r\nMessage-ID: <m1@example.org>\r\n";
const std::string kRaw = kHeaders + "\r\nHello,\r\n\r\nthe figures.\r\n";

DsnComposer Composer(DsnComposerOptions o = {}) {
  if (o.reporting_mta.empty()) o.reporting_mta = kHost;
  return DsnComposer(std::move(o), SeededRandomBits(42));
}

OriginalMessage Original(DsnRet ret = DsnRet::kUnspecified, std::string envid = "",
                         std::string_view raw = kRaw) {
  OriginalMessage m;
  m.id = 0x0123456789abcdefULL;
  m.return_path = kReturnPath;
  m.envid = std::move(envid);
  m.ret = ret;
  m.arrival_unix_ms = kArrival;
  m.raw = raw;
  return m;
}

// What a recipient report must read back as.
struct Expected {
  std::optional<DsnAddress> orcpt;
  std::string status;
  std::optional<TypedValue> diagnostic;
};

struct RoundTripCase {
  std::string name;
  DsnEvent event;
  DsnRet ret;
  std::string envid;           // as received, xtext
  std::string expected_envid;  // "" = no Original-Envelope-Id field
  std::vector<std::pair<RecipientReport, Expected>> rcpts;
  std::string returned_type;
};

// `enhanced` is the reply's enhanced code; Status follows it unless a test overrides it.
RecipientReport Rcpt(std::string addr, DsnAction action, int code, std::string enhanced,
                     std::string text, std::string remote = "mx.example.net",
                     std::string orcpt = "") {
  RecipientReport r;
  r.final_recipient = std::move(addr);
  r.original_recipient = std::move(orcpt);
  r.action = action;
  r.smtp_code = code;
  r.reply_enhanced = std::move(enhanced);
  r.reply_text = std::move(text);
  r.remote_mta = std::move(remote);
  r.last_attempt_unix_ms = kLastAttempt;
  r.will_retry_until_unix_ms = kRetryUntil;
  return r;
}

std::optional<TypedValue> Diag(std::string type, std::string text) {
  return TypedValue{std::move(type), std::move(text)};
}

// A failure report about `raw` for one recipient: the shape most single-purpose tests need.
StatusOr<ComposedDsn> FailureFor(std::string_view raw, DsnRet ret,
                                 const DsnComposer& composer = Composer()) {
  return composer.Compose(Original(ret, "", raw), DsnEvent::kFailure,
                          {Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "x")}, kNow);
}

DsnComposer ComposerWith(RandomBits random) {
  DsnComposerOptions o;
  o.reporting_mta = kHost;
  return DsnComposer(o, std::move(random));
}

class DsnRoundTrip : public testing::TestWithParam<RoundTripCase> {};

void ExpectTopHeaders(const ParsedDsn& p, const ComposedDsn& c, DsnEvent event) {
  EXPECT_EQ(FindField(p.headers, "From"), "Mail Delivery Subsystem <MAILER-DAEMON@" + kHost + ">");
  EXPECT_EQ(FindField(p.headers, "To"), "<" + kReturnPath + ">");
  const char* subjects[] = {"Undelivered Mail Returned to Sender",
                            "Delayed Mail (still being retried)",
                            "Successful Mail Delivery Report"};
  EXPECT_EQ(FindField(p.headers, "Subject"), subjects[static_cast<int>(event)]);
  EXPECT_EQ(FindField(p.headers, "Date"), FormatRfc5322Date(kNow));
  EXPECT_EQ(FindField(p.headers, "Message-ID"), "<" + c.message_id + ">");
  EXPECT_EQ(FindField(p.headers, "MIME-Version"), "1.0");
  EXPECT_EQ(FindField(p.headers, "Auto-Submitted"), "auto-replied");
  ContentType ct = ParseContentType(FindField(p.headers, "Content-Type"));
  EXPECT_EQ(ct.type, "multipart/report");
  EXPECT_EQ(ct.Param("report-type"), "delivery-status");
}

TEST_P(DsnRoundTrip, EveryFieldReadsBack) {
  const RoundTripCase& tc = GetParam();
  std::vector<RecipientReport> reports;
  for (const auto& [r, e] : tc.rcpts) reports.push_back(r);
  auto composed = Composer().Compose(Original(tc.ret, tc.envid), tc.event, reports, kNow);
  ASSERT_TRUE(composed.ok()) << composed.status().ToString();
  EXPECT_EQ(composed->envelope_from, "");
  EXPECT_EQ(composed->envelope_to, kReturnPath);
  EXPECT_FALSE(composed->smtputf8);
  EXPECT_EQ(LineProblem(composed->message), "");

  auto parsed = ParseDsn(composed->message);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << composed->message;
  ExpectTopHeaders(*parsed, *composed, tc.event);
  EXPECT_EQ(parsed->status_content_type, "message/delivery-status");
  ASSERT_TRUE(parsed->reporting_mta.has_value());
  EXPECT_EQ(parsed->reporting_mta->type, "dns");
  EXPECT_EQ(parsed->reporting_mta->value, kHost);
  EXPECT_EQ(parsed->original_envelope_id, tc.expected_envid);
  EXPECT_EQ(FindField(parsed->per_message_fields, "Original-Envelope-Id").has_value(),
            !tc.expected_envid.empty());
  EXPECT_EQ(parsed->arrival_unix_ms, kArrival);
  EXPECT_EQ(FindField(parsed->per_message_fields, "X-Outpost-Queue-ID"), "0123456789abcdef");

  ASSERT_EQ(parsed->recipients.size(), tc.rcpts.size());
  for (size_t i = 0; i < tc.rcpts.size(); ++i) {
    SCOPED_TRACE("recipient " + std::to_string(i));
    const RecipientReport& in = tc.rcpts[i].first;
    const Expected& want = tc.rcpts[i].second;
    const ParsedRecipient& got = parsed->recipients[i];
    EXPECT_EQ(got.final_recipient.type, "rfc822");
    EXPECT_EQ(got.final_recipient.address, in.final_recipient);
    EXPECT_EQ(got.original_recipient.has_value(), want.orcpt.has_value());
    if (got.original_recipient && want.orcpt) {
      EXPECT_EQ(got.original_recipient->type, want.orcpt->type);
      EXPECT_EQ(got.original_recipient->address, want.orcpt->address);
    }
    EXPECT_EQ(got.action, in.action);
    EXPECT_EQ(got.status, want.status);
    EXPECT_EQ(got.remote_mta.has_value(), !in.remote_mta.empty());
    if (got.remote_mta) {
      EXPECT_EQ(got.remote_mta->type, "dns");
      EXPECT_EQ(got.remote_mta->value, in.remote_mta);
    }
    EXPECT_EQ(got.diagnostic_code.has_value(), want.diagnostic.has_value());
    if (got.diagnostic_code && want.diagnostic) {
      EXPECT_EQ(got.diagnostic_code->type, want.diagnostic->type);
      EXPECT_EQ(got.diagnostic_code->value, want.diagnostic->value);
      // The human-readable part repeats the reply (wrapped: compare with white space collapsed).
      EXPECT_NE(SanitizeFieldText(parsed->human_readable, true).find(want.diagnostic->value),
                std::string::npos);
    }
    EXPECT_EQ(got.last_attempt_unix_ms, kLastAttempt);
    EXPECT_EQ(got.will_retry_until_unix_ms, in.action == DsnAction::kDelayed
                                                ? std::optional<int64_t>(kRetryUntil)
                                                : std::nullopt);
    EXPECT_NE(parsed->human_readable.find("<" + in.final_recipient + ">"), std::string::npos);
  }

  EXPECT_EQ(parsed->returned_content_type, tc.returned_type);
  EXPECT_EQ(composed->full_message_attached, tc.returned_type == "message/rfc822");
  EXPECT_EQ(parsed->returned_content, tc.returned_type == "message/rfc822" ? kRaw : kHeaders);
}

const Expected kUserUnknown{std::nullopt, "5.1.1", Diag("smtp", "550 5.1.1 user unknown")};

INSTANTIATE_TEST_SUITE_P(
    Table, DsnRoundTrip,
    testing::Values(
        RoundTripCase{"FailureRetHdrsNoEnvidNoOrcpt",
                      DsnEvent::kFailure,
                      DsnRet::kHeaders,
                      "",
                      "",
                      {{Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "user unknown"),
                        kUserUnknown}},
                      "text/rfc822-headers"},
        RoundTripCase{"FailureRetFullWithEnvidAndOrcpt",
                      DsnEvent::kFailure,
                      DsnRet::kFull,
                      "QQ+2B1.env",
                      "QQ+1.env",
                      {{Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "user unknown",
                             "mx.example.net", "rfc822;Orig+2Bx@Example.net"),
                        {DsnAddress{"rfc822", "Orig+x@Example.net"}, "5.1.1",
                         Diag("smtp", "550 5.1.1 user unknown")}}},
                      "message/rfc822"},
        RoundTripCase{
            "FailureRetUnspecifiedReturnsHeaders",
            DsnEvent::kFailure,
            DsnRet::kUnspecified,
            "",
            "",
            {{Rcpt("a@example.net", DsnAction::kFailed, 556, "5.1.10",
                   "5.1.10 recipient domain has a null MX", ""),
              {std::nullopt, "5.1.10", Diag("smtp", "556 5.1.10 recipient domain has a null MX")}}},
            "text/rfc822-headers"},
        RoundTripCase{
            "DelayRetFullStillReturnsHeaders",
            DsnEvent::kDelay,
            DsnRet::kFull,
            "env-7",
            "env-7",
            {{Rcpt("a@example.net", DsnAction::kDelayed, 451, "4.4.1", "connection timed out"),
              {std::nullopt, "4.4.1", Diag("smtp", "451 4.4.1 connection timed out")}}},
            "text/rfc822-headers"},
        RoundTripCase{
            "SuccessDeliveredAndRelayedInOrder",
            DsnEvent::kSuccess,
            DsnRet::kHeaders,
            "",
            "",
            {{Rcpt("b@example.net", DsnAction::kDelivered, 250, "", "2.0.0 Ok: queued as 1A2B",
                   "lmtp.example.net", "rfc822;b@example.net"),
              {DsnAddress{"rfc822", "b@example.net"}, "2.0.0",
               Diag("smtp", "250 2.0.0 Ok: queued as 1A2B")}},
             {Rcpt("a@example.net", DsnAction::kRelayed, 250, "2.0.0", "Ok"),
              {std::nullopt, "2.0.0", Diag("smtp", "250 2.0.0 Ok")}}},
            "text/rfc822-headers"},
        RoundTripCase{
            "FailureStatusSynthesizedWhenMissingOrMalformed",
            DsnEvent::kFailure,
            DsnRet::kHeaders,
            "",
            "",
            {{Rcpt("a@example.net", DsnAction::kFailed, 550, "", "mailbox unavailable"),
              {std::nullopt, "5.0.0", Diag("smtp", "550 mailbox unavailable")}},
             {Rcpt("b@example.net", DsnAction::kFailed, 0, "", "", ""),
              {std::nullopt, "5.0.0", std::nullopt}},
             {Rcpt("c@example.net", DsnAction::kFailed, 451, "bogus", "try later"),
              {std::nullopt, "4.0.0", Diag("smtp", "451 try later")}},
             {Rcpt("d@example.net", DsnAction::kFailed, 0, "5.4.4", "no route to domain", ""),
              {std::nullopt, "5.4.4", Diag("x-outpost", "no route to domain")}}},
            "text/rfc822-headers"}),
    [](const auto& info) { return info.param.name; });

// --- Refusals -------------------------------------------------------------------------------

TEST(DsnCompose, NullReturnPathGetsNoDsn) {
  OriginalMessage m = Original();
  m.return_path = "";
  auto r = Composer().Compose(m, DsnEvent::kFailure,
                              {Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "x")}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(DsnCompose, ActionMustBelongToTheEvent) {
  auto r =
      Composer().Compose(Original(), DsnEvent::kFailure,
                         {Rcpt("a@example.net", DsnAction::kDelayed, 451, "4.0.0", "x")}, kNow);
  EXPECT_FALSE(r.ok());
}

TEST(DsnCompose, NeedsRecipientsAndAHostName) {
  EXPECT_FALSE(Composer().Compose(Original(), DsnEvent::kFailure, {}, kNow).ok());
  DsnComposerOptions bad;
  bad.reporting_mta = "mx.example.org\r\nBcc: x@evil.example";
  EXPECT_FALSE(DsnComposer(bad, SeededRandomBits(1))
                   .Compose(Original(), DsnEvent::kFailure,
                            {Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "x")}, kNow)
                   .ok());
  EXPECT_FALSE(Composer()
                   .Compose(Original(), DsnEvent::kFailure,
                            {Rcpt(" \r\n", DsnAction::kFailed, 550, "5.1.1", "x")}, kNow)
                   .ok());
}

// --- Hostile input --------------------------------------------------------------------------

std::vector<std::string> FieldNames(const std::vector<HeaderField>& fields) {
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.name);
  return names;
}

TEST(DsnCompose, HostileReplyTextCannotAddHeadersOrParts) {
  RecipientReport r =
      Rcpt("victim@example.net\r\nX-Injected: 1", DsnAction::kFailed, 550, "5.1.1",
           "user unknown\r\nBcc: everyone@example.com\r\n\r\n--boundary\r\nContent-Type: "
           "text/html\r\n\r\n<script>",
           "mx.example.net\r\nX-Evil: yes", "rfc822;x+0D+0AX-Orcpt:+201");
  OriginalMessage m = Original(DsnRet::kHeaders, "id+0D+0AX-Envid: 2");
  m.return_path = "sender@example.org>\r\nCc: more@example.com";
  auto c = Composer().Compose(m, DsnEvent::kFailure, {r}, kNow);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(LineProblem(c->message), "");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(FieldNames(p->headers),
            (std::vector<std::string>{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                      "Content-Type", "Auto-Submitted"}));
  EXPECT_EQ(FieldNames(p->per_message_fields),
            (std::vector<std::string>{"Reporting-MTA", "X-Outpost-Queue-ID", "Original-Envelope-Id",
                                      "Arrival-Date"}));
  ASSERT_EQ(p->recipients.size(), 1u);
  EXPECT_EQ(FieldNames(p->recipients[0].fields),
            (std::vector<std::string>{"Original-Recipient", "Final-Recipient", "Action", "Status",
                                      "Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date"}));
  EXPECT_EQ(p->recipients[0].final_recipient.address, "victim@example.net X-Injected: 1");
  EXPECT_EQ(p->recipients[0].original_recipient->address, "x X-Orcpt: 1");
  EXPECT_EQ(p->original_envelope_id, "id X-Envid: 2");
  EXPECT_EQ(p->recipients[0].remote_mta->value, "mx.example.net X-Evil: yes");
  EXPECT_EQ(p->recipients[0].diagnostic_code->value,
            "550 5.1.1 user unknown Bcc: everyone@example.com --boundary Content-Type: "
            "text/html <script>");
  EXPECT_EQ(p->returned_content, kHeaders);
}

TEST(DsnCompose, VeryLongRepliesAreFoldedAndBounded) {
  std::string words;
  while (words.size() < 6000) words += "blah ";
  RecipientReport spaced = Rcpt("a@example.net", DsnAction::kFailed, 550, "5.7.1", words);
  RecipientReport solid =
      Rcpt("b@example.net", DsnAction::kFailed, 554, "5.7.1", std::string(5000, 'z'));
  auto c = Composer().Compose(Original(), DsnEvent::kFailure, {spaced, solid}, kNow);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(LineProblem(c->message), "");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->recipients.size(), 2u);
  const std::string& d0 = p->recipients[0].diagnostic_code->value;
  EXPECT_TRUE(d0.starts_with("550 5.7.1 blah blah")) << d0.substr(0, 40);
  EXPECT_TRUE(d0.ends_with("...")) << d0.substr(d0.size() - 10);
  EXPECT_LT(d0.size(), 2100u);
  std::string d1 = p->recipients[1].diagnostic_code->value;
  std::erase(d1, ' ');
  EXPECT_EQ(d1, "5545.7.1" + std::string(2000, 'z') + "...");
}

TEST(DsnCompose, BoundaryFoundInTheContentIsDrawnAgain) {
  // The first candidate boundary is predictable with this source; put it in the message.
  uint64_t next = 1;
  RandomBits counting = [&next] { return next++; };
  std::string first = "=_outpost_00000000000000010000000000000002";
  std::string raw = kHeaders + "\r\n--" + first + "\r\nContent-Type: text/plain\r\n\r\nfake\r\n";
  auto c = FailureFor(raw, DsnRet::kFull, ComposerWith(counting));
  ASSERT_TRUE(c.ok());
  ContentType ct = ParseContentType(FindField(ReadEntity(c->message).headers, "Content-Type"));
  EXPECT_EQ(ct.Param("boundary"), "=_outpost_00000000000000030000000000000004");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->returned_content_type, "message/rfc822");
  EXPECT_EQ(p->returned_content, raw);
}

TEST(DsnCompose, ContentThatDefeatsEveryBoundaryIsAnError) {
  RandomBits constant = [] { return uint64_t{7}; };
  std::string raw = kHeaders + "\r\n--=_outpost_00000000000000070000000000000007\r\n";
  auto c = FailureFor(raw, DsnRet::kFull, ComposerWith(constant));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInternal);
}

// --- Returned content -----------------------------------------------------------------------

TEST(DsnCompose, HugeMessageFallsBackToHeadersAndSaysSo) {
  std::string raw = kHeaders + "\r\n";
  for (int i = 0; i < 40; ++i) raw += std::string(100, 'b') + "\r\n";
  DsnComposerOptions o;
  o.max_full_message_bytes = 1000;
  auto c = FailureFor(raw, DsnRet::kFull, Composer(o));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->full_message_attached);
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->returned_content_type, "text/rfc822-headers");
  EXPECT_EQ(p->returned_content, kHeaders);
  EXPECT_NE(p->human_readable.find("too large"), std::string::npos);
}

TEST(DsnCompose, OverlongBodyLineFallsBackToHeaders) {
  std::string raw = kHeaders + "\r\n" + std::string(1200, 'x') + "\r\n";
  auto c = FailureFor(raw, DsnRet::kFull);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(LineProblem(c->message), "");
  EXPECT_FALSE(c->full_message_attached);
}

TEST(DsnCompose, LfOnlyOriginalIsReturnedWithCrlf) {
  std::string raw = "From: s@example.org\nSubject: x\n\nbody\n";
  auto c = FailureFor(raw, DsnRet::kFull);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(LineProblem(c->message), "");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->returned_content, "From: s@example.org\r\nSubject: x\r\n\r\nbody\r\n");
}

TEST(DsnCompose, HugeHeaderBlockIsCutAtAFieldBoundaryAndLongHeaderLinesFolded) {
  std::string headers = "Subject: " + std::string(3000, 's') + "\r\n";
  for (int i = 0; i < 2000; ++i) headers += "X-Filler-" + std::to_string(i) + ": v\r\n";
  DsnComposerOptions o;
  o.max_header_bytes = 8192;
  auto c = FailureFor(headers + "\r\nbody\r\n", DsnRet::kHeaders, Composer(o));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(LineProblem(c->message), "");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_LE(p->returned_content.size(), 8192u + 16);
  EXPECT_TRUE(p->returned_content.ends_with(": v\r\n"));
  std::vector<HeaderField> returned = ReadFields(p->returned_content);
  ASSERT_FALSE(returned.empty());
  std::string subject = returned[0].value;
  std::erase(subject, ' ');
  EXPECT_EQ(subject, std::string(3000, 's'));
}

TEST(DsnCompose, EightBitOriginalIsFlagged) {
  std::string raw = "Subject: caf\xc3\xa9\r\n\r\nbody\r\n";
  auto c = FailureFor(raw, DsnRet::kHeaders);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->eight_bit);
  EXPECT_FALSE(c->smtputf8);
}

TEST(DsnCompose, EmptyOriginalReturnsNothing) {
  auto c = FailureFor("", DsnRet::kFull);
  ASSERT_TRUE(c.ok());
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->returned_content_type, "");
}

// --- Internationalised addresses (RFC 6533) -------------------------------------------------

TEST(DsnCompose, NonAsciiAddressesUseUtf8TypeAndGlobalParts) {
  const std::string rcpt = "\xe7\x94\xa8\xe6\x88\xb7+tag@\xe4\xbe\x8b\xe5\xad\x90.example";
  const std::string orcpt_xtext = "utf-8;\\x{7528}\\x{6237}+2Btag@\\x{4F8B}\\x{5B50}.example";
  OriginalMessage m = Original(DsnRet::kFull);
  m.return_path = "j\xc3\xb6rg@example.org";
  auto c = Composer().Compose(m, DsnEvent::kFailure,
                              {Rcpt(rcpt, DsnAction::kFailed, 553, "5.6.7", "SMTPUTF8 not offered",
                                    "mx.example.net", orcpt_xtext)},
                              kNow);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->smtputf8);
  EXPECT_EQ(LineProblem(c->message), "");
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->status_content_type, "message/global-delivery-status");
  EXPECT_EQ(p->returned_content_type, "message/global");
  EXPECT_EQ(FindField(p->headers, "To"), "<j\xc3\xb6rg@example.org>");
  ASSERT_EQ(p->recipients.size(), 1u);
  EXPECT_EQ(p->recipients[0].final_recipient.type, "utf-8");
  EXPECT_EQ(p->recipients[0].final_recipient.address, rcpt);
  EXPECT_EQ(p->recipients[0].original_recipient->type, "utf-8");
  EXPECT_EQ(p->recipients[0].original_recipient->address, rcpt);
  // The '+' of the address is escaped in the unitext form (RFC 6533 QUCHAR excludes it).
  EXPECT_NE(c->message.find("\\x{2B}tag"), std::string::npos);
}

TEST(DsnCompose, PolicyStatusOverridesWithoutAlteringThePeerReply) {
  RecipientReport r = Rcpt("a@example.net", DsnAction::kFailed, 451, "4.2.0", "mailbox busy");
  r.status = "4.4.7";  // gave up: delivery time expired
  auto c = Composer().Compose(Original(), DsnEvent::kFailure, {r}, kNow);
  ASSERT_TRUE(c.ok());
  auto p = ParseDsn(c->message);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->recipients[0].action, DsnAction::kFailed);
  EXPECT_EQ(p->recipients[0].status, "4.4.7");
  EXPECT_EQ(p->recipients[0].diagnostic_code->value, "451 4.2.0 mailbox busy");
}

TEST(DsnCompose, SameSeedSameBytes) {
  auto reports = std::vector<RecipientReport>{
      Rcpt("a@example.net", DsnAction::kFailed, 550, "5.1.1", "user unknown")};
  auto a = Composer().Compose(Original(), DsnEvent::kFailure, reports, kNow);
  auto b = Composer().Compose(Original(), DsnEvent::kFailure, reports, kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->message, b->message);
}

}  // namespace
}  // namespace outpost::dsn
