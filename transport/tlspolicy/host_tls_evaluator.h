#pragma once

// Runs the TLS policy lookups for one MX host before the SMTP client connects to it: DANE
// (TLSA `_<port>._tcp.<mx>`, only for a DNSSEC-secure host) first, then, only if DANE says
// nothing, the recipient domain's MTA-STS policy (RFC 8461 §2: DANE wins where it applies).
// The result is everything the delivery needs: the HostTlsRequirement to act on and the
// TLS-RPT policy the session counts against. Counting itself goes to the TlsRptCollector this
// evaluator holds (one per daemon, loop thread).
//
// Loop thread only. Every reference is not owned and must outlive the evaluator; `sts` may be
// null (MTA-STS off: no fetcher configured) and so may `rpt` (no TLS-RPT counting).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/dns/resolver.h"
#include "transport/tlspolicy/dane_policy.h"
#include "transport/tlspolicy/host_tls_requirement.h"
#include "transport/tlspolicy/mta_sts_policy_source.h"
#include "transport/tlspolicy/tls_rpt.h"

namespace outpost::transport::tlspolicy {

struct HostTlsEvaluation {
  DaneDecision dane;
  MtaStsLookup sts;  // empty when DANE decided or MTA-STS is off
  MtaStsHostDecision sts_decision;
  HostTlsRequirement requirement;  // what the session must do (or why the host is skipped)
  TlsRptPolicy rpt_policy;         // what TLS-RPT counts this host's session against
};

// A short tag of what a requirement demands, for connection-pool keys: a session opened under
// one requirement is never reused under another ("" for no requirement).
std::string RequirementTag(const HostTlsRequirement& r);

class HostTlsEvaluator {
 public:
  using Callback = std::function<void(HostTlsEvaluation)>;
  HostTlsEvaluator(Dispatcher& dispatcher, dns::Resolver& resolver, MtaStsPolicySource* sts,
                   TlsRptCollector* rpt)
      : dane_(dispatcher, resolver), sts_(sts), rpt_(rpt) {}
  ~HostTlsEvaluator() { *alive_ = false; }
  HostTlsEvaluator(const HostTlsEvaluator&) = delete;
  HostTlsEvaluator& operator=(const HostTlsEvaluator&) = delete;

  // `domain` is the recipient domain, `host` the MX host (port: the SMTP port, which names the
  // TLSA RRset), `dnssec_secure` from the MX plan, `policy` the host's TLS strategy. Calls
  // `done` exactly once on the loop thread, never inside Evaluate(), unless this object is
  // destroyed first (then never).
  void Evaluate(std::string_view domain, const TargetHost& host, const TlsPolicy& policy,
                Callback done);

  // TLS-RPT counting (no-ops without a collector): a session that reached the point where
  // mail could be sent under `e` (in MTA-STS testing mode an MX outside the policy counts as
  // the failure enforce would have caused), or one that failed for a TLS policy reason.
  void RecordSessionReady(const HostTlsEvaluation& e, std::string_view mx_host,
                          std::string_view ip);
  void RecordFailure(const HostTlsEvaluation& e, TlsRptResultType type, std::string_view mx_host,
                     std::string_view ip, std::string_view reason);

 private:
  void OnDane(const std::string& domain, const std::string& host, const TlsPolicy& policy,
              DaneDecision dane, Callback done);
  static HostTlsEvaluation Finish(const std::string& domain, const std::string& host,
                                  DaneDecision dane, MtaStsLookup sts, const TlsPolicy& policy);

  DaneLookup dane_;
  MtaStsPolicySource* sts_;
  TlsRptCollector* rpt_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::tlspolicy
