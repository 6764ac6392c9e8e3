#pragma once

// The daemon's TLS policy parts (docs/TLS-POLICY.md): the MTA-STS fetcher and its policy cache
// persisted in the store, the per-host evaluator (DANE, then MTA-STS) the SMTP deliverer asks
// before connecting to an MX host, the TLS-RPT counters and the periodic aggregate report job.
// One object so daemon.cc only creates it, hands evaluator() to the deliverer and Start()s it.
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "queue/types.h"
#include "router/config.h"
#include "storage/store.h"
#include "transport/dns/resolver.h"
#include "transport/tlspolicy/host_tls_evaluator.h"
#include "transport/tlspolicy/mta_sts_fetcher.h"
#include "transport/tlspolicy/mta_sts_policy_source.h"
#include "transport/tlspolicy/policy_cache.h"
#include "transport/tlspolicy/tls_rpt.h"

namespace outpost::daemon {

// The MTA-STS policy cache in the store's meta column family ("sts/<domain>", storage/keys.h).
// Writes are queued to the store's writer thread (never waited for on the loop); a failed
// write is logged: it only costs a refetch after a restart.
class StorePolicyCacheStore final : public transport::tlspolicy::PolicyCacheStore {
 public:
  StorePolicyCacheStore(storage::Store& store, Dispatcher& dispatcher)
      : store_(store), dispatcher_(dispatcher) {}
  Status Save(const transport::tlspolicy::CachedMtaStsPolicy& entry) override;
  Status Erase(std::string_view domain) override;
  StatusOr<std::vector<transport::tlspolicy::CachedMtaStsPolicy>> LoadAll() override;

 private:
  storage::Store& store_;
  Dispatcher& dispatcher_;
};

// Hands a message to the queue (Scheduler::Submit in the daemon).
using SubmitFn =
    std::function<void(queue::NewMessage, std::function<void(StatusOr<uint64_t>)> done)>;

// The TLS-RPT mail report of RFC 8460 §5.3 (multipart/report; report-type="tlsrpt") for one
// policy domain: headers, a short text part and the JSON report as a base64 attachment.
std::string BuildTlsRptMail(const transport::tlspolicy::TlsRptReportInfo& info,
                            std::string_view policy_domain, std::string_view from,
                            std::string_view to, std::string_view json, int64_t now_unix_ms);

// Every `interval`, turns the counters of the period into one report per policy domain and
// sends it to each rua of `_smtp._tls.<domain>`: https:// by POST through the fetcher,
// mailto: as a message enqueued with source 'report' (its own delivery is exempt from no
// policy; a report that cannot be delivered is simply deferred like any mail). Domains without
// a TLSRPT record get no report. Counters live in memory: a restart loses the period so far.
class TlsRptReporter {
 public:
  struct Options {
    Millis interval{std::chrono::hours(24)};
    std::string organization;  // report "organization-name"
    std::string contact;       // report "contact-info"
    std::string sender;        // From: of mailed reports
    std::string hostname;      // Report-ID and Message-ID domain
    Millis post_timeout{std::chrono::seconds(60)};
  };
  TlsRptReporter(LibeventDispatcher& dispatcher, transport::dns::Resolver& resolver,
                 transport::tlspolicy::MtaStsFetcher& poster,
                 transport::tlspolicy::TlsRptCollector& collector, Options options,
                 SubmitFn submit);
  ~TlsRptReporter() { *alive_ = false; }

  void Start();
  // Ends the current period now: builds and sends its reports, starts the next period.
  void ReportNow();

  uint64_t reports_sent_for_test() const { return sent_; }

 private:
  void SendReport(const std::string& domain, const std::string& json,
                  const transport::tlspolicy::TlsRptReportInfo& info,
                  const transport::dns::DnsResult& txt);

  LibeventDispatcher& dispatcher_;
  transport::dns::Resolver& resolver_;
  transport::tlspolicy::MtaStsFetcher& poster_;
  transport::tlspolicy::TlsRptCollector& collector_;
  const Options options_;
  SubmitFn submit_;
  std::unique_ptr<Timer> timer_;
  int64_t period_start_ms_ = 0;
  uint64_t serial_ = 0;
  uint64_t sent_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class TlsPolicyServices {
 public:
  // InvalidArgument when tlsPolicy.caFile cannot be loaded; the store's error when the cached
  // policies cannot be read.
  static StatusOr<std::unique_ptr<TlsPolicyServices>> Create(
      LibeventDispatcher& dispatcher, transport::dns::Resolver& resolver, storage::Store& store,
      const router::TlsPolicyConfig& config, const std::string& hostname, SubmitFn submit);

  transport::tlspolicy::HostTlsEvaluator& evaluator() { return *evaluator_; }
  transport::tlspolicy::TlsRptCollector& collector() { return collector_; }
  TlsRptReporter* reporter() { return reporter_.get(); }
  // Starts the report job and the hourly proactive refresh of cached MTA-STS policies older
  // than a day (RFC 8461 §3.3), so max_age keeps being extended for domains we mail often.
  void Start();

 private:
  TlsPolicyServices() = default;
  void RefreshDuePolicies();

  Millis fetch_timeout_{std::chrono::minutes(5)};

  std::unique_ptr<StorePolicyCacheStore> cache_store_;
  std::unique_ptr<transport::tlspolicy::MtaStsPolicyCache> cache_;
  std::unique_ptr<transport::tlspolicy::MtaStsFetcher> fetcher_;
  std::unique_ptr<transport::tlspolicy::MtaStsPolicySource> source_;
  transport::tlspolicy::TlsRptCollector collector_;
  std::unique_ptr<transport::tlspolicy::HostTlsEvaluator> evaluator_;
  std::unique_ptr<TlsRptReporter> reporter_;
  Dispatcher* dispatcher_ = nullptr;
  std::unique_ptr<Timer> refresh_timer_;  // last: destroyed first
};

}  // namespace outpost::daemon
