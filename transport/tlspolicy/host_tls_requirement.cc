#include "transport/tlspolicy/host_tls_requirement.h"

namespace outpost::transport::tlspolicy {
namespace {

using Verdict = MtaStsHostDecision::Verdict;

MtaStsHostDecision MakeSts(Verdict v, bool matches, std::string reason) {
  MtaStsHostDecision d;
  d.verdict = v;
  d.mx_matches = matches;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

std::string_view MtaStsVerdictName(Verdict v) {
  switch (v) {
    case Verdict::kNoPolicy:
      return "no-policy";
    case Verdict::kEnforce:
      return "enforce";
    case Verdict::kReportOnly:
      return "report-only";
    case Verdict::kDefer:
      return "defer";
    case Verdict::kFail:
      return "fail";
  }
  return "unknown";
}

MtaStsHostDecision DecideMtaSts(TlsMode mode, const std::optional<MtaStsPolicy>& policy,
                                std::string_view mx_host) {
  if (mode == TlsMode::kDisable) return MakeSts(Verdict::kNoPolicy, false, "MTA-STS disabled");
  bool enforce = policy && policy->mode == MtaStsMode::kEnforce;
  if (!enforce && mode == TlsMode::kRequire) {
    return MakeSts(Verdict::kFail, false, "MTA-STS required: no enforce policy");
  }
  if (!policy || policy->mode == MtaStsMode::kNone) {
    return MakeSts(Verdict::kNoPolicy, false, policy ? "MTA-STS mode none" : "no MTA-STS policy");
  }
  bool matches = PolicyAllowsMx(*policy, mx_host);
  if (policy->mode == MtaStsMode::kTesting) {
    return MakeSts(Verdict::kReportOnly, matches,
                   matches ? "MTA-STS testing: MX matches"
                           : "MTA-STS testing: MX " + std::string(mx_host) + " not in policy");
  }
  if (!matches) {
    return MakeSts(Verdict::kDefer, false,
                   "MTA-STS enforce: MX " + std::string(mx_host) + " not in policy");
  }
  return MakeSts(Verdict::kEnforce, true, "MTA-STS enforce: MX matches");
}

HostTlsRequirement CombineTlsRequirements(const DaneDecision& dane,
                                          const MtaStsHostDecision& mta_sts) {
  using Action = HostTlsRequirement::Action;
  using Auth = HostTlsRequirement::Authentication;
  HostTlsRequirement r;
  switch (dane.verdict) {
    case DaneVerdict::kDefer:
    case DaneVerdict::kFail:
      r.action = dane.verdict == DaneVerdict::kDefer ? Action::kDefer : Action::kFail;
      r.error = ErrorClass::kDane;
      r.reason = dane.reason;
      return r;
    case DaneVerdict::kAuthenticate:
      r.tls_required = true;
      r.authentication = Auth::kDane;
      r.dane_records = dane.records;
      r.dane_reference_names = dane.reference_names;
      r.reason = "DANE: " + dane.reason;
      return r;
    case DaneVerdict::kTlsOnly:
      r.tls_required = true;
      r.reason = "DANE: " + dane.reason;
      return r;
    case DaneVerdict::kNoDane:
      break;
  }
  r.reason = mta_sts.reason;
  switch (mta_sts.verdict) {
    case Verdict::kDefer:
    case Verdict::kFail:
      r.action = mta_sts.verdict == Verdict::kDefer ? Action::kDefer : Action::kFail;
      r.error = ErrorClass::kMtaSts;
      return r;
    case Verdict::kEnforce:
      r.tls_required = true;
      r.authentication = Auth::kWebPki;
      return r;
    case Verdict::kReportOnly:
    case Verdict::kNoPolicy:
      return r;
  }
  return r;
}

TlsRptPolicy TlsRptPolicyFor(std::string_view domain, const DaneDecision& dane,
                             const std::optional<MtaStsPolicy>& sts) {
  TlsRptPolicy p;
  p.policy_domain = dns::NormalizeDnsName(domain);
  if (dane.verdict == DaneVerdict::kAuthenticate) {
    p.type = TlsRptPolicyType::kTlsa;
    for (const auto& r : dane.records) p.policy_strings.push_back(TlsaToString(r));
  } else if (sts && sts->mode != MtaStsMode::kNone) {
    p.type = TlsRptPolicyType::kSts;
    p.policy_strings = MtaStsPolicyLines(*sts);
    p.mx_hosts = sts->mx;
  }
  return p;
}

TlsRptResultType TlsRptResultForBlockedHost(const DaneDecision& dane,
                                            const MtaStsHostDecision& mta_sts) {
  if (dane.verdict == DaneVerdict::kDefer) return TlsRptResultType::kDnssecInvalid;
  if (dane.verdict == DaneVerdict::kFail) return TlsRptResultType::kDaneRequired;
  (void)mta_sts;  // an MX outside the policy, or require without one: no finer type exists
  return TlsRptResultType::kValidationFailure;
}

}  // namespace outpost::transport::tlspolicy
