// MTA-STS per-host decisions and how DANE and MTA-STS combine (RFC 8461 §2: DANE wins).
#include "transport/tlspolicy/host_tls_requirement.h"

#include <gtest/gtest.h>

namespace outpost::transport::tlspolicy {
namespace {

using Verdict = MtaStsHostDecision::Verdict;
using Action = HostTlsRequirement::Action;
using Auth = HostTlsRequirement::Authentication;

MtaStsPolicy Policy(MtaStsMode mode) {
  return MtaStsPolicy{mode, {"mx.sts.test", "*.backup.sts.test"}, std::chrono::seconds(86400)};
}

struct StsCase {
  const char* name;
  TlsMode mode;
  std::optional<MtaStsPolicy> policy;
  const char* mx;
  Verdict expected;
};

TEST(DecideMtaSts, ModeTable) {
  const StsCase cases[] = {
      {"enforce, MX listed", TlsMode::kOptional, Policy(MtaStsMode::kEnforce), "mx.sts.test",
       Verdict::kEnforce},
      {"enforce, wildcard", TlsMode::kOptional, Policy(MtaStsMode::kEnforce), "b1.backup.sts.test",
       Verdict::kEnforce},
      {"enforce, MX not listed", TlsMode::kOptional, Policy(MtaStsMode::kEnforce), "evil.example",
       Verdict::kDefer},
      {"testing, MX not listed", TlsMode::kOptional, Policy(MtaStsMode::kTesting), "evil.example",
       Verdict::kReportOnly},
      {"testing, MX listed", TlsMode::kOptional, Policy(MtaStsMode::kTesting), "mx.sts.test",
       Verdict::kReportOnly},
      {"none", TlsMode::kOptional, Policy(MtaStsMode::kNone), "evil.example", Verdict::kNoPolicy},
      {"no policy", TlsMode::kOptional, std::nullopt, "mx.sts.test", Verdict::kNoPolicy},
      {"disabled ignores enforce", TlsMode::kDisable, Policy(MtaStsMode::kEnforce), "evil.example",
       Verdict::kNoPolicy},
      {"require without policy", TlsMode::kRequire, std::nullopt, "mx.sts.test", Verdict::kFail},
      {"require with testing", TlsMode::kRequire, Policy(MtaStsMode::kTesting), "mx.sts.test",
       Verdict::kFail},
      {"require with enforce", TlsMode::kRequire, Policy(MtaStsMode::kEnforce), "mx.sts.test",
       Verdict::kEnforce},
  };
  for (const auto& c : cases) {
    auto d = DecideMtaSts(c.mode, c.policy, c.mx);
    EXPECT_EQ(d.verdict, c.expected) << c.name << ": got " << MtaStsVerdictName(d.verdict);
  }
  EXPECT_FALSE(
      DecideMtaSts(TlsMode::kOptional, Policy(MtaStsMode::kTesting), "x.example").mx_matches);
}

DaneDecision Dane(DaneVerdict v) {
  DaneDecision d;
  d.verdict = v;
  d.reason = std::string(DaneVerdictName(v));
  if (v == DaneVerdict::kAuthenticate) {
    d.records = {TlsaRecord{3, 1, 1, std::string(32, 'a')}};
    d.reference_names = {"mx.sts.test"};
  }
  return d;
}

MtaStsHostDecision Sts(Verdict v) {
  MtaStsHostDecision d;
  d.verdict = v;
  d.reason = std::string(MtaStsVerdictName(v));
  return d;
}

TEST(CombineTlsRequirements, DaneWinsWhereverItApplies) {
  auto r = CombineTlsRequirements(Dane(DaneVerdict::kAuthenticate), Sts(Verdict::kDefer));
  EXPECT_EQ(r.action, Action::kProceed);
  EXPECT_EQ(r.authentication, Auth::kDane);
  EXPECT_TRUE(r.tls_required);
  EXPECT_EQ(r.dane_records.size(), 1u);

  r = CombineTlsRequirements(Dane(DaneVerdict::kDefer), Sts(Verdict::kEnforce));
  EXPECT_EQ(r.action, Action::kDefer);
  EXPECT_EQ(r.error, ErrorClass::kDane);

  r = CombineTlsRequirements(Dane(DaneVerdict::kFail), Sts(Verdict::kNoPolicy));
  EXPECT_EQ(r.action, Action::kFail);
  EXPECT_EQ(r.error, ErrorClass::kDane);

  r = CombineTlsRequirements(Dane(DaneVerdict::kTlsOnly), Sts(Verdict::kEnforce));
  EXPECT_EQ(r.action, Action::kProceed);
  EXPECT_TRUE(r.tls_required);
  EXPECT_EQ(r.authentication, Auth::kNone);
}

TEST(CombineTlsRequirements, MtaStsDecidesWithoutDane) {
  auto r = CombineTlsRequirements(Dane(DaneVerdict::kNoDane), Sts(Verdict::kEnforce));
  EXPECT_EQ(r.action, Action::kProceed);
  EXPECT_TRUE(r.tls_required);
  EXPECT_EQ(r.authentication, Auth::kWebPki);

  r = CombineTlsRequirements(Dane(DaneVerdict::kNoDane), Sts(Verdict::kDefer));
  EXPECT_EQ(r.action, Action::kDefer);
  EXPECT_EQ(r.error, ErrorClass::kMtaSts);

  r = CombineTlsRequirements(Dane(DaneVerdict::kNoDane), Sts(Verdict::kFail));
  EXPECT_EQ(r.action, Action::kFail);
  EXPECT_EQ(r.error, ErrorClass::kMtaSts);

  for (Verdict v : {Verdict::kReportOnly, Verdict::kNoPolicy}) {
    r = CombineTlsRequirements(Dane(DaneVerdict::kNoDane), Sts(v));
    EXPECT_EQ(r.action, Action::kProceed);
    EXPECT_FALSE(r.tls_required);
    EXPECT_EQ(r.authentication, Auth::kNone);
  }
}

TEST(TlsRptMapping, PolicyForTheSession) {
  TlsRptPolicy tlsa = TlsRptPolicyFor("Sts.Test", Dane(DaneVerdict::kAuthenticate), std::nullopt);
  EXPECT_EQ(tlsa.type, TlsRptPolicyType::kTlsa);
  EXPECT_EQ(tlsa.policy_domain, "sts.test");
  ASSERT_EQ(tlsa.policy_strings.size(), 1u);
  EXPECT_EQ(tlsa.policy_strings[0].substr(0, 6), "3 1 1 ");
  // DANE wins over an STS policy for the report too.
  EXPECT_EQ(
      TlsRptPolicyFor("sts.test", Dane(DaneVerdict::kAuthenticate), Policy(MtaStsMode::kEnforce))
          .type,
      TlsRptPolicyType::kTlsa);
  TlsRptPolicy sts =
      TlsRptPolicyFor("sts.test", Dane(DaneVerdict::kNoDane), Policy(MtaStsMode::kTesting));
  EXPECT_EQ(sts.type, TlsRptPolicyType::kSts);
  EXPECT_EQ(sts.mx_hosts, Policy(MtaStsMode::kTesting).mx);
  EXPECT_EQ(sts.policy_strings[1], "mode: testing");
  EXPECT_EQ(TlsRptPolicyFor("sts.test", Dane(DaneVerdict::kNoDane), Policy(MtaStsMode::kNone)).type,
            TlsRptPolicyType::kNoPolicyFound);
  EXPECT_EQ(TlsRptPolicyFor("x.test", Dane(DaneVerdict::kNoDane), std::nullopt).type,
            TlsRptPolicyType::kNoPolicyFound);
}

TEST(TlsRptMapping, BlockedHostResultTypes) {
  EXPECT_EQ(TlsRptResultForBlockedHost(Dane(DaneVerdict::kDefer), Sts(Verdict::kNoPolicy)),
            TlsRptResultType::kDnssecInvalid);
  EXPECT_EQ(TlsRptResultForBlockedHost(Dane(DaneVerdict::kFail), Sts(Verdict::kNoPolicy)),
            TlsRptResultType::kDaneRequired);
  EXPECT_EQ(TlsRptResultForBlockedHost(Dane(DaneVerdict::kNoDane), Sts(Verdict::kDefer)),
            TlsRptResultType::kValidationFailure);
}

}  // namespace
}  // namespace outpost::transport::tlspolicy
