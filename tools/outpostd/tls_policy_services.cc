#include "tools/outpostd/tls_policy_services.h"

#include <charconv>
#include <utility>

#include "common/logging.h"
#include "common/time_format.h"
#include "storage/keys.h"
#include "transport/server/base64.h"

namespace outpost::daemon {

namespace tp = transport::tlspolicy;
using storage::Cf;

// ---- StorePolicyCacheStore ----------------------------------------------------------------

Status StorePolicyCacheStore::Save(const tp::CachedMtaStsPolicy& entry) {
  storage::WriteBatch batch;
  batch.Put(Cf::kMeta, storage::MtaStsPolicyKey(entry.domain),
            tp::SerializeCachedMtaStsPolicy(entry));
  store_.Commit(std::move(batch), &dispatcher_, [domain = entry.domain](Status st) {
    if (!st.ok()) {
      OUTPOST_LOG_WARN("mta_sts.cache_write_failed", {"domain", domain}, {"error", st.ToString()});
    }
  });
  return Status::Ok();
}

Status StorePolicyCacheStore::Erase(std::string_view domain) {
  storage::WriteBatch batch;
  batch.Delete(Cf::kMeta, storage::MtaStsPolicyKey(domain));
  store_.Commit(std::move(batch), &dispatcher_, [domain = std::string(domain)](Status st) {
    if (!st.ok()) {
      OUTPOST_LOG_WARN("mta_sts.cache_write_failed", {"domain", domain}, {"error", st.ToString()});
    }
  });
  return Status::Ok();
}

StatusOr<std::vector<tp::CachedMtaStsPolicy>> StorePolicyCacheStore::LoadAll() {
  std::vector<tp::CachedMtaStsPolicy> out;
  auto cur = store_.NewCursor(Cf::kMeta, std::string(storage::kMetaMtaStsPrefix),
                              storage::MtaStsPolicyPrefixEnd());
  for (; cur->Valid(); cur->Next()) {
    auto entry = tp::ParseCachedMtaStsPolicy(cur->value());
    if (!entry.ok()) {
      OUTPOST_LOG_WARN("mta_sts.cache_record_corrupt", {"key", cur->key()},
                       {"error", entry.status().message()});
      continue;
    }
    out.push_back(std::move(*entry));
  }
  OUTPOST_RETURN_IF_ERROR(cur->status());
  return out;
}

// ---- TLS-RPT mail --------------------------------------------------------------------------

std::string BuildTlsRptMail(const tp::TlsRptReportInfo& info, std::string_view policy_domain,
                            std::string_view from, std::string_view to, std::string_view json,
                            int64_t now_unix_ms) {
  const std::string boundary = "tlsrpt-" + std::to_string(now_unix_ms);
  std::string filename = info.organization_name + "!" + std::string(policy_domain) + "!" +
                         std::to_string(info.start_unix_ms / 1000) + "!" +
                         std::to_string(info.end_unix_ms / 1000) + ".json";
  std::string m;
  m += "From: <" + std::string(from) + ">\r\n";
  m += "To: <" + std::string(to) + ">\r\n";
  m += "Date: " + FormatRfc5322Date(now_unix_ms) + "\r\n";
  m += "Message-ID: <" + info.report_id + ">\r\n";
  // RFC 8460 §5.3: subject and the two report headers.
  m += "Subject: Report Domain: " + std::string(policy_domain) +
       " Submitter: " + info.organization_name + " Report-ID: <" + info.report_id + ">\r\n";
  m += "TLS-Report-Domain: " + std::string(policy_domain) + "\r\n";
  m += "TLS-Report-Submitter: " + info.organization_name + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is an aggregate TLS report (RFC 8460) from " + info.organization_name + " for " +
       std::string(policy_domain) + ".\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/tlsrpt+json\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment; filename=\"" + filename + "\"\r\n\r\n";
  std::string b64 = smtp_server::Base64Encode(json);
  for (size_t i = 0; i < b64.size(); i += 76) m += b64.substr(i, 76) + "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

// ---- TlsRptReporter ------------------------------------------------------------------------

namespace {

struct HttpsUri {
  std::string host;
  uint16_t port = 443;
  std::string path = "/";
};

// "https://host[:port][/path]"; nullopt for anything else (userinfo, IPv6 literals: not used
// by report URIs in practice, refused rather than guessed).
std::optional<HttpsUri> ParseHttpsUri(std::string_view uri) {
  constexpr std::string_view kScheme = "https://";
  if (!uri.starts_with(kScheme)) return std::nullopt;
  uri.remove_prefix(kScheme.size());
  HttpsUri out;
  size_t slash = uri.find('/');
  std::string_view authority = uri.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(uri.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.empty() || authority.find_first_of("@[]") != std::string_view::npos) {
    return std::nullopt;
  }
  out.host = std::string(authority);
  return out;
}

}  // namespace

TlsRptReporter::TlsRptReporter(LibeventDispatcher& dispatcher, transport::dns::Resolver& resolver,
                               tp::MtaStsFetcher& poster, tp::TlsRptCollector& collector,
                               Options options, SubmitFn submit)
    : dispatcher_(dispatcher),
      resolver_(resolver),
      poster_(poster),
      collector_(collector),
      options_(std::move(options)),
      submit_(std::move(submit)) {
  period_start_ms_ = dispatcher_.clock().NowUnixMs();
}

void TlsRptReporter::Start() {
  timer_ = dispatcher_.CreateTimer([this] {
    ReportNow();
    timer_->Enable(options_.interval);
  });
  timer_->Enable(options_.interval);
}

void TlsRptReporter::ReportNow() {
  const int64_t end = dispatcher_.clock().NowUnixMs();
  tp::TlsRptCollector period = collector_;
  collector_.Clear();
  const int64_t start = period_start_ms_;
  period_start_ms_ = end;
  for (const std::string& domain : period.Domains()) {
    tp::TlsRptReportInfo info;
    info.organization_name = options_.organization;
    info.contact_info = options_.contact;
    info.report_id = tp::TlsRptReportId(start, domain, ++serial_, options_.hostname);
    info.start_unix_ms = start;
    info.end_unix_ms = end;
    std::string json = tp::BuildTlsRptReportJson(info, period.ForDomain(domain));
    resolver_.Lookup("_smtp._tls." + domain, transport::dns::DnsType::kTxt,
                     [this, alive = alive_, domain, json = std::move(json),
                      info](transport::dns::DnsResult txt) {
                       if (*alive) SendReport(domain, json, info, txt);
                     });
  }
}

void TlsRptReporter::SendReport(const std::string& domain, const std::string& json,
                                const tp::TlsRptReportInfo& info,
                                const transport::dns::DnsResult& txt) {
  if (txt.outcome != transport::dns::DnsOutcome::kAnswer) {
    OUTPOST_LOG_DEBUG("tlsrpt.no_record", {"domain", domain},
                      {"outcome", transport::dns::DnsOutcomeName(txt.outcome)});
    return;
  }
  auto record = tp::ParseTlsRptTxt(txt.txt);
  if (!record.ok()) {
    OUTPOST_LOG_INFO("tlsrpt.no_usable_record", {"domain", domain},
                     {"error", record.status().message()});
    return;
  }
  for (const std::string& rua : record->rua) {
    if (rua.starts_with("mailto:")) {
      std::string to = rua.substr(7);
      to = to.substr(0, to.find('?'));
      queue::NewMessage m;
      m.return_path = "";  // a report must never cause a bounce loop
      m.source = proto::SOURCE_REPORT;
      m.received_unix_ms = dispatcher_.clock().NowUnixMs();
      m.body = BuildTlsRptMail(info, domain, options_.sender, to, json, m.received_unix_ms);
      queue::NewRecipient r;
      r.address = to;
      m.recipients.push_back(std::move(r));
      submit_(std::move(m), [this, alive = alive_, domain, to](StatusOr<uint64_t> id) {
        if (!*alive) return;
        if (!id.ok()) {
          OUTPOST_LOG_WARN("tlsrpt.enqueue_failed", {"domain", domain}, {"rua", to},
                           {"error", id.status().ToString()});
          return;
        }
        ++sent_;
        OUTPOST_LOG_INFO("tlsrpt.report_queued", {"domain", domain}, {"rua", to},
                         {"id", storage::FormatMessageId(*id)});
      });
      continue;
    }
    auto uri = ParseHttpsUri(rua);
    if (!uri) {
      OUTPOST_LOG_INFO("tlsrpt.bad_rua", {"domain", domain}, {"rua", rua});
      continue;
    }
    poster_.PostReport(uri->host, uri->port, uri->path, json, options_.post_timeout,
                       [this, alive = alive_, domain, rua](tp::MtaStsFetchResult r) {
                         if (!*alive) return;
                         if (!r.ok()) {
                           OUTPOST_LOG_WARN("tlsrpt.post_failed", {"domain", domain}, {"rua", rua},
                                            {"error", r.status.message()});
                           return;
                         }
                         ++sent_;
                         OUTPOST_LOG_INFO("tlsrpt.report_posted", {"domain", domain}, {"rua", rua});
                       });
  }
}

// ---- TlsPolicyServices ---------------------------------------------------------------------

StatusOr<std::unique_ptr<TlsPolicyServices>> TlsPolicyServices::Create(
    LibeventDispatcher& dispatcher, transport::dns::Resolver& resolver, storage::Store& store,
    const router::TlsPolicyConfig& config, const std::string& hostname, SubmitFn submit) {
  std::unique_ptr<TlsPolicyServices> s(new TlsPolicyServices());
  s->dispatcher_ = &dispatcher;
  s->cache_store_ = std::make_unique<StorePolicyCacheStore>(store, dispatcher);
  s->cache_ = std::make_unique<tp::MtaStsPolicyCache>(dispatcher.clock(), s->cache_store_.get());
  OUTPOST_RETURN_IF_ERROR(s->cache_->Load());
  tp::MtaStsFetcherOptions fo;
  fo.ca_file = config.ca_file;
  fo.port = config.mta_sts_port;
  auto fetcher = tp::MtaStsFetcher::Create(dispatcher, resolver, fo);
  if (!fetcher.ok()) return fetcher.status().Annotate("tlsPolicy.caFile");
  s->fetcher_ = std::move(*fetcher);
  s->source_ =
      std::make_unique<tp::MtaStsPolicySource>(dispatcher, resolver, *s->fetcher_, *s->cache_);
  s->evaluator_ = std::make_unique<tp::HostTlsEvaluator>(dispatcher, resolver, s->source_.get(),
                                                         &s->collector_);
  if (config.reports) {
    TlsRptReporter::Options ro;
    ro.interval = config.report_interval;
    ro.hostname = hostname;
    ro.organization = config.report_organization.empty() ? hostname : config.report_organization;
    ro.contact = config.report_contact.empty() ? "postmaster@" + hostname : config.report_contact;
    ro.sender = config.report_sender.empty() ? "noreply-smtp-tls-reporting@" + hostname
                                             : config.report_sender;
    s->reporter_ = std::make_unique<TlsRptReporter>(dispatcher, resolver, *s->fetcher_,
                                                    s->collector_, ro, std::move(submit));
  }
  OUTPOST_LOG_INFO("tls_policy.ready", {"cached_mta_sts_policies", s->cache_->size()},
                   {"ca_file", config.ca_file.empty() ? "(system)" : config.ca_file},
                   {"reports", config.reports ? "on" : "off"});
  return s;
}

void TlsPolicyServices::Start() {
  if (reporter_) reporter_->Start();
  refresh_timer_ = dispatcher_->CreateTimer([this] {
    RefreshDuePolicies();
    refresh_timer_->Enable(std::chrono::hours(1));
  });
  refresh_timer_->Enable(std::chrono::hours(1));
}

void TlsPolicyServices::RefreshDuePolicies() {
  for (const std::string& domain : cache_->DueForRefresh()) {
    // The source refetches (the entry is older than refresh_after) and updates the cache; a
    // failure keeps the cached policy, as at delivery time.
    source_->Get(domain, transport::TlsMode::kOptional, fetch_timeout_,
                 [domain](tp::MtaStsLookup l) {
                   OUTPOST_LOG_DEBUG("mta_sts.refreshed", {"domain", domain},
                                     {"ok", l.failure ? "no" : "yes"}, {"detail", l.detail});
                 });
  }
}

}  // namespace outpost::daemon
