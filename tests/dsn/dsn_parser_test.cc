// Reading reports written by other MTAs (samples/), and refusing what is not a DSN.

#include "queue/dsn/dsn_parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace outpost::dsn {
namespace {

constexpr int64_t k2026 = 1767225600000;  // 2026-01-01T00:00:00Z

std::string Sample(const std::string& name) {
  const char* root = std::getenv("OUTPOST_SOURCE_DIR");
  std::string path = std::string(root ? root : ".") + "/tests/dsn/samples/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DsnParse, PostfixBounceWithTwoRecipientsAndContinuations) {
  auto p = ParseDsn(Sample("postfix_failure.eml"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->reporting_mta->value, "mail.example.com");
  EXPECT_EQ(FindField(p->per_message_fields, "X-Postfix-Queue-ID"), "3F1B2C0A1");
  EXPECT_EQ(p->arrival_unix_ms, k2026 + 10 * 3600000 + 3000);
  EXPECT_EQ(p->original_envelope_id, "");
  ASSERT_EQ(p->recipients.size(), 2u);
  const ParsedRecipient& bob = p->recipients[0];
  EXPECT_EQ(bob.final_recipient.type, "rfc822");
  EXPECT_EQ(bob.final_recipient.address, "bob@example.net");
  EXPECT_EQ(bob.original_recipient->address, "bob@example.net");
  EXPECT_EQ(bob.action, DsnAction::kFailed);
  EXPECT_EQ(bob.status, "5.1.1");
  EXPECT_EQ(bob.remote_mta->value, "mx.example.net");
  EXPECT_EQ(bob.diagnostic_code->type, "smtp");
  EXPECT_EQ(bob.diagnostic_code->value,
            "550 5.1.1 <bob@example.net>: Recipient address rejected:    User unknown");
  const ParsedRecipient& carol = p->recipients[1];
  EXPECT_EQ(carol.status, "5.4.4");
  EXPECT_FALSE(carol.remote_mta.has_value());
  EXPECT_EQ(carol.diagnostic_code->type, "x-postfix");
  EXPECT_NE(p->human_readable.find("User unknown"), std::string::npos);
  EXPECT_EQ(p->returned_content_type, "text/rfc822-headers");
  EXPECT_TRUE(p->returned_content.starts_with("Return-Path: <alice@example.com>\r\n"));
  EXPECT_TRUE(p->returned_content.ends_with("Subject: lunch\r\n"));
}

TEST(DsnParse, EximBounceWithUnquotedBoundaryAndFullMessage) {
  auto p = ParseDsn(Sample("exim_failure.eml"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->reporting_mta->value, "mail.example.com");
  ASSERT_EQ(p->recipients.size(), 1u);
  EXPECT_EQ(p->recipients[0].final_recipient.address, "bob@example.net");
  EXPECT_FALSE(p->recipients[0].original_recipient.has_value());
  EXPECT_EQ(p->recipients[0].status, "5.0.0");
  EXPECT_EQ(p->recipients[0].diagnostic_code->value, "550 No such user");
  EXPECT_EQ(p->returned_content_type, "message/rfc822");
  EXPECT_TRUE(p->returned_content.ends_with("\r\n\r\nhello"));
}

TEST(DsnParse, NestedQuotedPrintableLfOnlyDelay) {
  auto p = ParseDsn(Sample("provider_delay_nested_lf.eml"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(FindField(p->headers, "Subject"), "Delivery Status Notification (Delay)");
  EXPECT_NE(p->human_readable.find("Caf\xc3\xa9."), std::string::npos);
  EXPECT_EQ(p->original_envelope_id, "ENV-42");
  EXPECT_EQ(p->arrival_unix_ms, k2026);
  ASSERT_EQ(p->recipients.size(), 1u);
  const ParsedRecipient& r = p->recipients[0];
  EXPECT_EQ(r.final_recipient.type, "rfc822");
  EXPECT_EQ(r.final_recipient.address, "dave@example.net");
  EXPECT_EQ(r.action, DsnAction::kDelayed);
  EXPECT_EQ(r.status, "4.2.2");
  EXPECT_EQ(r.remote_mta->value,
            "mx.example.net. (192.0.2.7, the server for the domain example.net.)");
  EXPECT_EQ(r.diagnostic_code->value,
            "452 4.2.2 The email account that you tried to reach is over quota.");
  EXPECT_EQ(r.last_attempt_unix_ms, k2026 + 600000);
  EXPECT_EQ(r.will_retry_until_unix_ms, k2026 + 2 * 86400000);
  EXPECT_EQ(p->returned_content_type, "");
}

const char kReportHead[] =
    "From: x@example.org\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n";

std::string Report(const std::string& status_block) {
  return std::string(kReportHead) +
         "--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
         "--B\r\nContent-Type: message/delivery-status\r\n\r\n" +
         status_block + "\r\n--B--\r\n";
}

struct RefusalCase {
  std::string name;
  std::string message;
  std::string error_fragment;
};

class DsnParseRefuses : public testing::TestWithParam<RefusalCase> {};

TEST_P(DsnParseRefuses, WithAClearError) {
  auto p = ParseDsn(GetParam().message);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find(GetParam().error_fragment), std::string::npos)
      << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, DsnParseRefuses,
    testing::Values(
        RefusalCase{"Empty", "", "no message header"},
        RefusalCase{"PlainText", "Subject: hi\r\n\r\nbody\r\n", "not a multipart/report"},
        RefusalCase{"ReadReceipt",
                    "Content-Type: multipart/report; report-type=disposition-notification; "
                    "boundary=B\r\n\r\n--B\r\n\r\nx\r\n--B--\r\n",
                    "not delivery-status"},
        RefusalCase{"BoundaryNeverAppears",
                    "Content-Type: multipart/report; boundary=B\r\n\r\nno parts\r\n",
                    "boundary not found"},
        RefusalCase{"NoBoundaryParam", "Content-Type: multipart/report\r\n\r\n--\r\n",
                    "without a boundary"},
        RefusalCase{
            "NoStatusPart",
            std::string(kReportHead) + "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n",
            "no message/delivery-status"},
        RefusalCase{"NoRecipientGroup", Report("Reporting-MTA: dns; a.example\r\n"),
                    "no per-recipient"},
        RefusalCase{"MissingFinalRecipient",
                    Report("Reporting-MTA: dns; a\r\n\r\nAction: failed\r\nStatus: 5.0.0\r\n"),
                    "no Final-Recipient"},
        RefusalCase{"UnknownAction",
                    Report("Reporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; b@c\r\n"
                           "Action: bounced\r\n"),
                    "unknown Action"},
        RefusalCase{"NestedTooDeep",
                    [] {
                      std::string m = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
                      for (int i = 1; i < 8; ++i) {
                        m += "--b" + std::to_string(i - 1) +
                             "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
                             "\r\n\r\n";
                      }
                      return m;
                    }(),
                    "too deep"}),
    [](const auto& info) { return info.param.name; });

TEST(DsnParse, ToleratesOddButHarmlessInput) {
  // A bare address without type, a lower-case Action with a comment, an unknown date format,
  // a second recipient with an empty line of white space before it, and a missing close
  // delimiter.
  std::string m = std::string(kReportHead) +
                  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
                  "Reporting-MTA: dns; a.example\r\nArrival-Date: yesterday\r\n\r\n\r\n"
                  "Final-Recipient: b@example.net\r\nAction: failed (gave up)\r\n"
                  "Status: 4.4.7\r\n\r\n"
                  "Final-Recipient: utf-8; j\\x{F6}rg@example.net\r\nAction: RELAYED\r\n";
  auto p = ParseDsn(m);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->human_readable, "");
  EXPECT_EQ(p->arrival_unix_ms, std::nullopt);
  EXPECT_EQ(FindField(p->per_message_fields, "Arrival-Date"), "yesterday");
  ASSERT_EQ(p->recipients.size(), 2u);
  EXPECT_EQ(p->recipients[0].final_recipient.type, "rfc822");
  EXPECT_EQ(p->recipients[0].final_recipient.address, "b@example.net");
  EXPECT_EQ(p->recipients[0].action, DsnAction::kFailed);
  EXPECT_EQ(p->recipients[0].status, "4.4.7");
  EXPECT_EQ(p->recipients[1].final_recipient.address, "j\xc3\xb6rg@example.net");
  EXPECT_EQ(p->recipients[1].action, DsnAction::kRelayed);
  EXPECT_EQ(p->recipients[1].status, "");
}

TEST(DsnParse, Base64StatusPart) {
  // "Reporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; b@c\r\nAction: delivered\r\n"
  std::string m = std::string(kReportHead) +
                  "--B\r\nContent-Type: message/delivery-status\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n"
                  "UmVwb3J0aW5nLU1UQTogZG5zOyBhDQoNCkZpbmFsLVJlY2lwaWVudDogcmZjODIyOyBiQGMN\r\n"
                  "CkFjdGlvbjogZGVsaXZlcmVkDQo=\r\n--B--\r\n";
  auto p = ParseDsn(m);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->recipients.size(), 1u);
  EXPECT_EQ(p->recipients[0].final_recipient.address, "b@c");
  EXPECT_EQ(p->recipients[0].action, DsnAction::kDelivered);
}

}  // namespace
}  // namespace outpost::dsn
