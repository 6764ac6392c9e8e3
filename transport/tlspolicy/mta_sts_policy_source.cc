#include "transport/tlspolicy/mta_sts_policy_source.h"

#include <utility>

#include "common/logging.h"

namespace outpost::transport::tlspolicy {

MtaStsLookup MtaStsPolicySource::FromCache(const std::string& domain,
                                           std::optional<TlsRptResultType> failure,
                                           std::string detail) const {
  MtaStsLookup out;
  out.failure = failure;
  out.detail = std::move(detail);
  if (auto cached = cache_.Get(domain)) {
    out.policy = cached->policy;
    out.id = cached->id;
    out.from_cache = true;
  }
  return out;
}

void MtaStsPolicySource::Get(std::string_view domain, TlsMode mode, Millis fetch_timeout,
                             Callback done) {
  std::string name = dns::NormalizeDnsName(domain);
  if (mode == TlsMode::kDisable) {
    dispatcher_.Post([alive = alive_, done = std::move(done)] {
      if (*alive) done(MtaStsLookup{});
    });
    return;
  }
  resolver_.Lookup("_mta-sts." + name, dns::DnsType::kTxt,
                   [this, alive = alive_, name, fetch_timeout,
                    done = std::move(done)](dns::DnsResult txt) mutable {
                     if (*alive) OnTxt(name, fetch_timeout, txt, std::move(done));
                   });
}

void MtaStsPolicySource::OnTxt(const std::string& domain, Millis fetch_timeout,
                               const dns::DnsResult& txt, Callback done) {
  std::optional<std::string> id;
  std::string detail;
  if (txt.outcome == dns::DnsOutcome::kAnswer) {
    auto record = ParseMtaStsTxt(txt.txt);
    if (record.ok()) {
      id = record->id;
    } else {
      detail = record.status().message();
    }
  } else {
    detail = "_mta-sts TXT: " + std::string(dns::DnsOutcomeName(txt.outcome));
  }
  if (!cache_.NeedsFetch(domain, id)) {
    done(FromCache(domain, std::nullopt, std::move(detail)));
    return;
  }
  if (!id) {
    // No (valid) announcement: only a cached policy can apply (RFC 8461 §3.3; a removed TXT
    // record does not cancel an unexpired policy). A TXT lookup that failed outright is a
    // discovery failure worth reporting.
    std::optional<TlsRptResultType> failure;
    if (txt.outcome == dns::DnsOutcome::kTempFail) {
      failure = TlsRptResultType::kStsPolicyFetchError;
    }
    done(FromCache(domain, failure, std::move(detail)));
    return;
  }
  fetcher_.Fetch(domain, fetch_timeout,
                 [this, alive = alive_, domain, id = *id,
                  done = std::move(done)](MtaStsFetchResult fetched) mutable {
                   if (*alive) OnFetched(domain, id, std::move(fetched), std::move(done));
                 });
}

void MtaStsPolicySource::OnFetched(const std::string& domain, const std::string& id,
                                   MtaStsFetchResult fetched, Callback done) {
  if (!fetched.ok()) {
    TlsRptResultType failure = fetched.failure == MtaStsFetchFailure::kWebPkiInvalid
                                   ? TlsRptResultType::kStsWebpkiInvalid
                                   : TlsRptResultType::kStsPolicyFetchError;
    OUTPOST_LOG_WARN("mta_sts_fetch_failed", {"domain", domain},
                     {"error", fetched.status.message()});
    done(FromCache(domain, failure, fetched.status.message()));
    return;
  }
  auto policy = ParseMtaStsPolicy(fetched.body);
  if (!policy.ok()) {
    OUTPOST_LOG_WARN("mta_sts_policy_invalid", {"domain", domain},
                     {"error", policy.status().message()});
    done(FromCache(domain, TlsRptResultType::kStsPolicyInvalid, policy.status().message()));
    return;
  }
  Status stored = cache_.Put(domain, id, *policy);
  if (!stored.ok()) {
    // The policy is applied from memory; only persistence across a restart is lost.
    OUTPOST_LOG_ERROR("mta_sts_cache_store_failed", {"domain", domain},
                      {"error", stored.ToString()});
  }
  MtaStsLookup out;
  out.policy = std::move(*policy);
  out.id = id;
  done(std::move(out));
}

}  // namespace outpost::transport::tlspolicy
