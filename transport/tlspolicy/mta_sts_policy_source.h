#pragma once

// Which MTA-STS policy applies to a recipient domain right now (RFC 8461 §3.3, §5.1): the
// `_mta-sts` TXT id decides whether the cached policy is still current; a new or changed id (or
// a stale cache entry) triggers a fetch; a failed fetch or an unusable new policy falls back to
// the cached, unexpired one. Fetch failures are returned for TLS-RPT.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/dns/resolver.h"
#include "transport/tlspolicy/mta_sts.h"
#include "transport/tlspolicy/mta_sts_fetcher.h"
#include "transport/tlspolicy/policy_cache.h"
#include "transport/tlspolicy/tls_rpt.h"

namespace outpost::transport::tlspolicy {

struct MtaStsLookup {
  std::optional<MtaStsPolicy> policy;  // the policy to apply; nullopt = the domain has none
  std::string id;                      // its TXT id
  bool from_cache = false;             // applied from the cache (no fetch, or fetch failed)
  // Set when discovery or a fetch failed (TLS-RPT: sts-policy-fetch-error, sts-webpki-invalid,
  // sts-policy-invalid), even if a cached policy still applies.
  std::optional<TlsRptResultType> failure;
  std::string detail;  // for logs
};

// Loop thread only. Every reference is not owned and must outlive this object.
class MtaStsPolicySource {
 public:
  using Callback = std::function<void(MtaStsLookup)>;
  MtaStsPolicySource(Dispatcher& dispatcher, dns::Resolver& resolver, PolicyFetcher& fetcher,
                     MtaStsPolicyCache& cache)
      : dispatcher_(dispatcher), resolver_(resolver), fetcher_(fetcher), cache_(cache) {}
  ~MtaStsPolicySource() { *alive_ = false; }
  MtaStsPolicySource(const MtaStsPolicySource&) = delete;
  MtaStsPolicySource& operator=(const MtaStsPolicySource&) = delete;

  // Finds the policy of `domain`; `fetch_timeout` bounds the HTTPS fetch (mtaStsTimeout).
  // With `mode` disable nothing is looked up. Calls `done` exactly once, on the loop thread,
  // never from inside Get(), unless this object is destroyed first (then never).
  void Get(std::string_view domain, TlsMode mode, Millis fetch_timeout, Callback done);

 private:
  void OnTxt(const std::string& domain, Millis fetch_timeout, const dns::DnsResult& txt,
             Callback done);
  void OnFetched(const std::string& domain, const std::string& id, MtaStsFetchResult fetched,
                 Callback done);
  // The cached policy (if any) with `failure`/`detail` attached.
  MtaStsLookup FromCache(const std::string& domain, std::optional<TlsRptResultType> failure,
                         std::string detail) const;

  Dispatcher& dispatcher_;
  dns::Resolver& resolver_;
  PolicyFetcher& fetcher_;
  MtaStsPolicyCache& cache_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::tlspolicy
