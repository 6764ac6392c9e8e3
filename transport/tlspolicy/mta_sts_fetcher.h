#pragma once

// Fetches https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.3) (and posts TLS-RPT
// reports to https rua URIs the same way) with libevent's HTTP
// client over bufferevent_openssl. The host name is resolved through our Resolver (never the
// system resolver: nothing may block the loop, and tests point it at their own DNS), the
// certificate must be WebPKI-valid for mta-sts.<domain> (system store or a CA bundle), redirects
// are not followed, the body is bounded, and only text/plain is accepted.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "transport/dns/resolver.h"
#include "transport/tlspolicy/mta_sts.h"

typedef struct ssl_ctx_st SSL_CTX;
struct evhttp_request;

namespace outpost::transport::tlspolicy {

struct MtaStsFetcherOptions {
  // PEM bundle of trusted CAs; empty = the system store.
  std::string ca_file;
  // RFC 8461 fixes 443; tests serve the policy on a high port.
  uint16_t port = 443;
  size_t max_body_bytes = kMtaStsMaxPolicyBytes;
};

// Why a fetch failed, in the terms TLS-RPT reports (RFC 8460 §4.3.2.2).
enum class MtaStsFetchFailure {
  kNone,
  kFetchError,     // DNS, connect, timeout, HTTP status, size, content type: sts-policy-fetch-error
  kWebPkiInvalid,  // the certificate did not verify for mta-sts.<domain>: sts-webpki-invalid
};

struct MtaStsFetchResult {
  Status status;  // Ok: `body` holds the policy text (not yet parsed)
  std::string body;
  MtaStsFetchFailure failure = MtaStsFetchFailure::kNone;
  bool ok() const { return status.ok(); }
};

// The seam MtaStsPolicySource fetches through: MtaStsFetcher, or a hand-written fake in tests.
class PolicyFetcher {
 public:
  using Callback = std::function<void(MtaStsFetchResult)>;
  virtual ~PolicyFetcher() = default;
  // Fetches the policy of `domain` within `timeout`. Calls `done` exactly once, on the loop
  // thread, never from inside Fetch(), unless the fetcher is destroyed first.
  virtual void Fetch(std::string_view domain, Millis timeout, Callback done) = 0;
};

// Loop thread only: create, use and destroy on the thread running `dispatcher`. Destroying the
// fetcher cancels every fetch in flight; their callbacks then never run.
class MtaStsFetcher final : public PolicyFetcher {
 public:
  // `dispatcher` and `resolver` are not owned and must outlive the fetcher. InvalidArgument when
  // the CA file cannot be loaded.
  static StatusOr<std::unique_ptr<MtaStsFetcher>> Create(LibeventDispatcher& dispatcher,
                                                         dns::Resolver& resolver,
                                                         MtaStsFetcherOptions options);
  ~MtaStsFetcher() override;
  MtaStsFetcher(const MtaStsFetcher&) = delete;
  MtaStsFetcher& operator=(const MtaStsFetcher&) = delete;

  // `timeout` is the TLS strategy's mtaStsTimeout and covers DNS, connect, TLS and transfer.
  void Fetch(std::string_view domain, Millis timeout, Callback done) override;

  // POSTs a TLS-RPT report (RFC 8460 §5.3.1, application/tlsrpt+json) to https://host:port/path
  // with the same resolver, CA bundle and certificate checks. Ok for any 2xx answer.
  void PostReport(std::string_view host, uint16_t port, std::string_view path, std::string body,
                  Millis timeout, Callback done);

  size_t InFlightForTest() const { return jobs_.size(); }

 private:
  struct Job;
  void Start(std::unique_ptr<Job> job, Millis timeout);
  MtaStsFetcher(LibeventDispatcher& dispatcher, dns::Resolver& resolver,
                MtaStsFetcherOptions options, SSL_CTX* ctx);
  void OnAddress(uint64_t id, dns::DnsType type, dns::DnsResult result);
  void Connect(uint64_t id, const std::string& ip);
  void OnResponse(uint64_t id, ::evhttp_request* req);
  // Completes job `id` (if still pending) and frees its connection outside libevent's callback.
  void Finish(uint64_t id, MtaStsFetchResult result);

  static void OnRequestDone(::evhttp_request* req, void* arg);

  LibeventDispatcher& dispatcher_;
  dns::Resolver& resolver_;
  const MtaStsFetcherOptions options_;
  SSL_CTX* ctx_;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
  uint64_t next_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::tlspolicy
