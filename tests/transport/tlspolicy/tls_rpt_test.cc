// TLS-RPT (RFC 8460): the TXT record, the counters and the aggregate JSON report.
#include "transport/tlspolicy/tls_rpt.h"

#include <gtest/gtest.h>

namespace outpost::transport::tlspolicy {
namespace {

TEST(TlsRptTxt, ParsesTheTestBedRecord) {
  auto r = ParseTlsRptTxt(
      {"v=spf1 -all", "v=TLSRPTv1; rua=https://mta-sts.sts.test/tlsrpt,mailto:tlsrpt@sts.test"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rua, (std::vector<std::string>{"https://mta-sts.sts.test/tlsrpt",
                                              "mailto:tlsrpt@sts.test"}));
}

TEST(TlsRptTxt, WhitespaceExtensionsAndUnknownSchemes) {
  auto r = ParseTlsRptTxt({"v=TLSRPTv1;ext=1 ; rua=mailto:a@x.example , ftp://x.example/r ;"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rua, std::vector<std::string>{"mailto:a@x.example"});
}

TEST(TlsRptTxt, Rejections) {
  EXPECT_TRUE(ParseTlsRptTxt({}).status().Is(Status::Code::kNotFound));
  EXPECT_TRUE(ParseTlsRptTxt({"v=TLSRPTv10; rua=mailto:a@b"}).status().Is(Status::Code::kNotFound));
  const char* bad[] = {"v=TLSRPTv1",
                       "v=TLSRPTv1; rua=",
                       "v=TLSRPTv1; rua=ftp://x/",
                       "v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
                       "v=TLSRPTv1; junk",
                       "v=TLSRPTv1; rua=mailto:a@b,,mailto:c@d"};
  for (const char* rec : bad) {
    EXPECT_TRUE(ParseTlsRptTxt({rec}).status().Is(Status::Code::kInvalidArgument)) << rec;
  }
  EXPECT_TRUE(ParseTlsRptTxt({"v=TLSRPTv1; rua=mailto:a@b", "v=TLSRPTv1; rua=mailto:c@d"})
                  .status()
                  .Is(Status::Code::kInvalidArgument));
}

TEST(TlsRptNames, ResultAndPolicyTypesUseTheRegistryStrings) {
  EXPECT_EQ(TlsRptPolicyTypeName(TlsRptPolicyType::kNoPolicyFound), "no-policy-found");
  EXPECT_EQ(TlsRptPolicyTypeName(TlsRptPolicyType::kTlsa), "tlsa");
  EXPECT_EQ(TlsRptResultTypeName(TlsRptResultType::kStartTlsNotSupported),
            "starttls-not-supported");
  EXPECT_EQ(TlsRptResultTypeName(TlsRptResultType::kStsWebpkiInvalid), "sts-webpki-invalid");
  EXPECT_EQ(TlsRptResultTypeName(TlsRptResultType::kDnssecInvalid), "dnssec-invalid");
}

TlsRptPolicy StsPolicy() {
  TlsRptPolicy p;
  p.type = TlsRptPolicyType::kSts;
  p.policy_domain = "sts.test";
  p.policy_strings = {"version: STSv1", "mode: enforce", "mx: mx.sts.test", "max_age: 86400"};
  p.mx_hosts = {"mx.sts.test"};
  return p;
}

TEST(TlsRptCollector, CountsAndAggregatesIdenticalFailures) {
  TlsRptCollector c;
  TlsRptFailure expired{
      TlsRptResultType::kCertificateExpired, "127.0.0.1", "mx.sts.test", "", "127.0.0.6", "", ""};
  c.RecordSuccess(StsPolicy());
  c.RecordSuccess(StsPolicy());
  c.RecordFailure(StsPolicy(), expired);
  c.RecordFailure(StsPolicy(), expired);
  TlsRptPolicy none;
  none.policy_domain = "plain.test";
  c.RecordSuccess(none);
  EXPECT_EQ(c.Domains(), (std::vector<std::string>{"plain.test", "sts.test"}));
  const auto& sts = c.ForDomain("sts.test");
  ASSERT_EQ(sts.size(), 1u);
  const TlsRptPolicyStats& stats = sts.begin()->second;
  EXPECT_EQ(stats.successful_sessions, 2u);
  EXPECT_EQ(stats.failed_sessions, 2u);
  ASSERT_EQ(stats.failures.size(), 1u);
  EXPECT_EQ(stats.failures.begin()->second, 2u);
  EXPECT_TRUE(c.ForDomain("other.test").empty());

  TlsRptCollector other;
  other.RecordSuccess(StsPolicy());
  c.Merge(other);
  EXPECT_EQ(c.ForDomain("sts.test").begin()->second.successful_sessions, 3u);
  c.Clear();
  EXPECT_TRUE(c.Domains().empty());
}

TEST(TlsRptReport, JsonFollowsRfc8460Section4) {
  TlsRptCollector c;
  for (int i = 0; i < 5; ++i) c.RecordSuccess(StsPolicy());
  c.RecordFailure(StsPolicy(),
                  TlsRptFailure{TlsRptResultType::kCertificateHostMismatch, "127.0.0.1",
                                "mx.sts.test", "mx \"helo\"", "127.0.0.6", "", "name\nmismatch"});
  TlsRptReportInfo info;
  info.organization_name = "Outpost Test";
  info.contact_info = "postmaster@outpost.test";
  info.start_unix_ms = 1767225600000;  // 2026-01-01
  info.end_unix_ms = 1767225600000 + 86400000 - 1000;
  info.report_id = TlsRptReportId(info.start_unix_ms, "sts.test", 7, "outpost.test");
  EXPECT_EQ(info.report_id, "2026-01-01.sts.test.7@outpost.test");
  std::string json = BuildTlsRptReportJson(info, c.ForDomain("sts.test"));
  EXPECT_EQ(json,
            "{\"organization-name\":\"Outpost Test\","
            "\"date-range\":{\"start-datetime\":\"2026-01-01T00:00:00Z\","
            "\"end-datetime\":\"2026-01-01T23:59:59Z\"},"
            "\"contact-info\":\"postmaster@outpost.test\","
            "\"report-id\":\"2026-01-01.sts.test.7@outpost.test\","
            "\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
            "\"policy-string\":[\"version: STSv1\",\"mode: enforce\",\"mx: mx.sts.test\","
            "\"max_age: 86400\"],\"policy-domain\":\"sts.test\",\"mx-host\":[\"mx.sts.test\"]},"
            "\"summary\":{\"total-successful-session-count\":5,"
            "\"total-failure-session-count\":1},"
            "\"failure-details\":[{\"result-type\":\"certificate-host-mismatch\","
            "\"sending-mta-ip\":\"127.0.0.1\",\"receiving-mx-hostname\":\"mx.sts.test\","
            "\"receiving-mx-helo\":\"mx \\\"helo\\\"\",\"receiving-ip\":\"127.0.0.6\","
            "\"failed-session-count\":1,\"failure-reason-code\":\"name\\nmismatch\"}]}]}");
}

TEST(TlsRptReport, NoPolicyFoundAndEmptyPeriod) {
  TlsRptReportInfo info;
  info.organization_name = "o";
  TlsRptCollector c;
  EXPECT_NE(BuildTlsRptReportJson(info, c.ForDomain("x")).find("\"policies\":[]"),
            std::string::npos);
  TlsRptPolicy none;
  none.policy_domain = "plain.test";
  c.RecordSuccess(none);
  std::string json = BuildTlsRptReportJson(info, c.ForDomain("plain.test"));
  EXPECT_NE(json.find("{\"policy-type\":\"no-policy-found\",\"policy-domain\":\"plain.test\"}"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("failure-details"), std::string::npos);
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
