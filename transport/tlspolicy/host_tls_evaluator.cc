#include "transport/tlspolicy/host_tls_evaluator.h"

#include <utility>

#include "common/logging.h"

namespace outpost::transport::tlspolicy {

std::string RequirementTag(const HostTlsRequirement& r) {
  using Auth = HostTlsRequirement::Authentication;
  if (!r.tls_required && r.authentication == Auth::kNone) return "";
  std::string tag = r.tls_required ? "T" : "-";
  switch (r.authentication) {
    case Auth::kNone:
      break;
    case Auth::kWebPki:
      tag += "W";
      break;
    case Auth::kDane:
      // The records themselves: a session authenticated by an old TLSA set is not reused
      // once the set changed.
      tag += "D";
      for (const auto& rec : r.dane_records) tag += "," + TlsaToString(rec);
      break;
  }
  return tag;
}

void HostTlsEvaluator::Evaluate(std::string_view domain, const TargetHost& host,
                                const TlsPolicy& policy, Callback done) {
  std::string d = dns::NormalizeDnsName(domain);
  std::string h = dns::NormalizeDnsName(host.name);
  dane_.Lookup(h, host.port, host.dnssec_secure, policy.dane,
               [this, alive = alive_, d, h, policy, done = std::move(done)](DaneDecision dane) {
                 if (*alive) OnDane(d, h, policy, std::move(dane), done);
               });
}

void HostTlsEvaluator::OnDane(const std::string& domain, const std::string& host,
                              const TlsPolicy& policy, DaneDecision dane, Callback done) {
  if (dane.verdict != DaneVerdict::kNoDane || sts_ == nullptr ||
      policy.mta_sts == TlsMode::kDisable) {
    // DANE decided (or MTA-STS cannot apply): no policy lookup. Already asynchronous (the
    // DANE verdict arrives from the resolver or a post), so `done` never runs in Evaluate().
    done(Finish(domain, host, std::move(dane), MtaStsLookup{}, policy));
    return;
  }
  sts_->Get(domain, policy.mta_sts, policy.mta_sts_timeout,
            [alive = alive_, domain, host, policy, dane = std::move(dane),
             done = std::move(done)](MtaStsLookup sts) mutable {
              if (*alive) done(Finish(domain, host, std::move(dane), std::move(sts), policy));
            });
}

HostTlsEvaluation HostTlsEvaluator::Finish(const std::string& domain, const std::string& host,
                                           DaneDecision dane, MtaStsLookup sts,
                                           const TlsPolicy& policy) {
  HostTlsEvaluation e;
  e.dane = std::move(dane);
  e.sts = std::move(sts);
  e.sts_decision =
      DecideMtaSts(e.dane.verdict == DaneVerdict::kNoDane ? policy.mta_sts : TlsMode::kDisable,
                   e.sts.policy, host);
  e.requirement = CombineTlsRequirements(e.dane, e.sts_decision);
  e.rpt_policy = TlsRptPolicyFor(domain, e.dane, e.sts.policy);
  OUTPOST_LOG_DEBUG("tls_policy.host", {"domain", domain}, {"mx", host},
                    {"dane", DaneVerdictName(e.dane.verdict)},
                    {"mta_sts", MtaStsVerdictName(e.sts_decision.verdict)},
                    {"reason", e.requirement.reason});
  return e;
}

void HostTlsEvaluator::RecordSessionReady(const HostTlsEvaluation& e, std::string_view mx_host,
                                          std::string_view ip) {
  if (rpt_ == nullptr) return;
  if (e.sts_decision.verdict == MtaStsHostDecision::Verdict::kReportOnly &&
      !e.sts_decision.mx_matches) {
    RecordFailure(e, TlsRptResultType::kValidationFailure, mx_host, ip, e.sts_decision.reason);
    return;
  }
  rpt_->RecordSuccess(e.rpt_policy);
}

void HostTlsEvaluator::RecordFailure(const HostTlsEvaluation& e, TlsRptResultType type,
                                     std::string_view mx_host, std::string_view ip,
                                     std::string_view reason) {
  if (rpt_ == nullptr) return;
  TlsRptFailure f;
  f.result_type = type;
  f.receiving_mx_hostname = std::string(mx_host);
  f.receiving_ip = std::string(ip);
  f.failure_reason_code = std::string(reason.substr(0, 200));
  rpt_->RecordFailure(e.rpt_policy, f);
}

}  // namespace outpost::transport::tlspolicy
