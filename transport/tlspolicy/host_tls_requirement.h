#pragma once

// What the TLS policies (DANE, MTA-STS) demand of one MX host, combined: RFC 8461 §2 makes DANE
// win wherever it applies, so MTA-STS is consulted only when DANE says nothing. The result is
// data the SMTP session acts on (tls_required, how to authenticate) or a verdict that stops
// the host before connecting (defer/fail with ErrorClass kDane or kMtaSts).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/api/delivery.h"
#include "transport/tlspolicy/dane_policy.h"
#include "transport/tlspolicy/mta_sts.h"
#include "transport/tlspolicy/tls_rpt.h"

namespace outpost::transport::tlspolicy {

// MTA-STS for one MX host (RFC 8461 §4, §5).
struct MtaStsHostDecision {
  enum class Verdict {
    kNoPolicy,    // mode disable, no policy, or policy mode none: nothing to enforce
    kEnforce,     // enforce and the MX matches: TLS required, certificate must verify for the MX
    kReportOnly,  // testing mode: deliver as without policy; log/report what enforce would do
    kDefer,       // enforce and the MX does not match: not this host (temporary, `mta-sts`)
    kFail,        // `mtaSts: require` and no enforce policy: permanent
  };
  Verdict verdict = Verdict::kNoPolicy;
  bool mx_matches = false;  // for testing-mode reports
  std::string reason;
};
std::string_view MtaStsVerdictName(MtaStsHostDecision::Verdict v);

// `mode` is the TLS strategy's mtaSts; `policy` the cached/fetched policy of the recipient
// domain (nullopt: none known). Pure.
MtaStsHostDecision DecideMtaSts(TlsMode mode, const std::optional<MtaStsPolicy>& policy,
                                std::string_view mx_host);

struct HostTlsRequirement {
  enum class Action { kProceed, kDefer, kFail };
  enum class Authentication {
    kNone,    // the TLS strategy's own rules (startTls, allowInvalidCerts)
    kDane,    // ConfigureSslForDane(dane_records, dane_reference_names); WebPKI not consulted
    kWebPki,  // the chain must verify and name `mx_host` (allowInvalidCerts does not apply)
  };
  Action action = Action::kProceed;
  ErrorClass error = ErrorClass::kNone;  // kDane / kMtaSts when not kProceed
  bool tls_required = false;  // no plaintext delivery to this host, whatever startTls says
  Authentication authentication = Authentication::kNone;
  std::vector<dns::TlsaRecord> dane_records;
  std::vector<std::string> dane_reference_names;
  std::string reason;
};

// DANE first: any DANE verdict other than kNoDane decides alone; otherwise MTA-STS does.
HostTlsRequirement CombineTlsRequirements(const DaneDecision& dane,
                                          const MtaStsHostDecision& mta_sts);

// TLS-RPT bookkeeping for a session to `mx_host` of `domain` under these decisions: the policy
// the session counts against (tlsa when DANE authenticated it, sts when an enforce/testing
// policy applied, else no-policy-found).
TlsRptPolicy TlsRptPolicyFor(std::string_view domain, const DaneDecision& dane,
                             const std::optional<MtaStsPolicy>& sts);

// The result type to report when a host was not used because of `requirement` (action defer or
// fail): a failed TLSA lookup is dnssec-invalid, `dane: require` without usable TLSA is
// dane-required, an MX outside the enforce policy is validation-failure.
TlsRptResultType TlsRptResultForBlockedHost(const DaneDecision& dane,
                                            const MtaStsHostDecision& mta_sts);

}  // namespace outpost::transport::tlspolicy
