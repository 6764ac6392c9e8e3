#include "transport/tlspolicy/mta_sts_fetcher.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <optional>
#include <utility>

namespace outpost::transport::tlspolicy {
namespace {

// What libevent's callbacks point at. It outlives the connection it was registered on (it is
// freed right after evhttp_connection_free), so a late callback never touches freed memory.
struct CallbackArg {
  MtaStsFetcher* fetcher;
  std::weak_ptr<bool> alive;
  uint64_t id;
  int error = -1;  // evhttp_request_error seen by the error callback, -1 if none
};

bool IsTextPlain(const char* content_type) {
  if (content_type == nullptr) return false;
  std::string_view ct(content_type);
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  constexpr std::string_view kTextPlain = "text/plain";
  if (ct.size() < kTextPlain.size() ||
      strncasecmp(ct.data(), kTextPlain.data(), kTextPlain.size()) != 0) {
    return false;
  }
  ct.remove_prefix(kTextPlain.size());
  return ct.empty() || ct.front() == ';' || ct.front() == ' ';
}

std::string_view HttpErrorName(int error) {
  switch (error) {
    case EVREQ_HTTP_TIMEOUT:
      return "timeout";
    case EVREQ_HTTP_EOF:
      return "connection closed";
    case EVREQ_HTTP_INVALID_HEADER:
      return "invalid response header";
    case EVREQ_HTTP_BUFFER_ERROR:
      return "connection error";
    case EVREQ_HTTP_REQUEST_CANCEL:
      return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
      return "policy larger than the size limit";
    default:
      return "connection failed";
  }
}

void OnRequestError(evhttp_request_error error, void* arg) {
  static_cast<CallbackArg*>(arg)->error = error;
}

MtaStsFetchResult Failed(MtaStsFetchFailure failure, Status status) {
  MtaStsFetchResult r;
  r.failure = failure;
  r.status = std::move(status);
  return r;
}

}  // namespace

struct MtaStsFetcher::Job {
  std::string host;  // mta-sts.<domain>, or the report URI's host
  uint16_t port = 443;
  std::string path;
  std::optional<std::string> post_body;  // a TLS-RPT report (PostReport), else a policy GET
  Callback done;
  std::unique_ptr<Timer> deadline;
  bool tried_aaaa = false;
  evhttp_connection* conn = nullptr;
  SSL* ssl = nullptr;  // owned by the connection's bufferevent
  std::unique_ptr<CallbackArg> arg;
};

StatusOr<std::unique_ptr<MtaStsFetcher>> MtaStsFetcher::Create(LibeventDispatcher& dispatcher,
                                                               dns::Resolver& resolver,
                                                               MtaStsFetcherOptions options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::Internal("SSL_CTX_new failed");
  // RFC 8461 §7.2 asks for TLS 1.2 or later for the SMTP session; the same floor suits HTTPS.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  int loaded = options.ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(ctx)
                   : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument("cannot load CA bundle '" + options.ca_file + "'");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return std::unique_ptr<MtaStsFetcher>(
      new MtaStsFetcher(dispatcher, resolver, std::move(options), ctx));
}

MtaStsFetcher::MtaStsFetcher(LibeventDispatcher& dispatcher, dns::Resolver& resolver,
                             MtaStsFetcherOptions options, SSL_CTX* ctx)
    : dispatcher_(dispatcher), resolver_(resolver), options_(std::move(options)), ctx_(ctx) {}

MtaStsFetcher::~MtaStsFetcher() {
  *alive_ = false;
  for (auto& [id, job] : jobs_) {
    if (job->conn != nullptr) evhttp_connection_free(job->conn);
  }
  jobs_.clear();
  SSL_CTX_free(ctx_);
}

void MtaStsFetcher::Fetch(std::string_view domain, Millis timeout, Callback done) {
  auto job = std::make_unique<Job>();
  job->host = MtaStsPolicyHost(domain);
  job->port = options_.port;
  job->path = std::string(kMtaStsPolicyPath);
  job->done = std::move(done);
  Start(std::move(job), timeout);
}

void MtaStsFetcher::PostReport(std::string_view host, uint16_t port, std::string_view path,
                               std::string body, Millis timeout, Callback done) {
  auto job = std::make_unique<Job>();
  job->host = dns::NormalizeDnsName(host);
  job->port = port;
  job->path = std::string(path.empty() ? "/" : path);
  job->post_body = std::move(body);
  job->done = std::move(done);
  Start(std::move(job), timeout);
}

void MtaStsFetcher::Start(std::unique_ptr<Job> job, Millis timeout) {
  uint64_t id = next_id_++;
  job->deadline = dispatcher_.CreateTimer([this, id] {
    Finish(id, Failed(MtaStsFetchFailure::kFetchError, Status::Timeout("HTTPS request timed out")));
  });
  job->deadline->Enable(timeout);
  std::string host = job->host;
  jobs_[id] = std::move(job);
  resolver_.Lookup(host, dns::DnsType::kA, [this, alive = alive_, id](dns::DnsResult r) {
    if (*alive) OnAddress(id, dns::DnsType::kA, std::move(r));
  });
}

void MtaStsFetcher::OnAddress(uint64_t id, dns::DnsType type, dns::DnsResult result) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  if (result.outcome == dns::DnsOutcome::kAnswer && !result.addresses.empty()) {
    Connect(id, result.addresses.front());
    return;
  }
  if (type == dns::DnsType::kA && result.outcome != dns::DnsOutcome::kNxDomain) {
    job.tried_aaaa = true;
    resolver_.Lookup(job.host, dns::DnsType::kAaaa, [this, alive = alive_, id](dns::DnsResult r) {
      if (*alive) OnAddress(id, dns::DnsType::kAaaa, std::move(r));
    });
    return;
  }
  std::string detail =
      result.detail.empty() ? std::string(dns::DnsOutcomeName(result.outcome)) : result.detail;
  Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                    Status::Unavailable("MTA-STS: cannot resolve " + job.host + ": " + detail)));
}

void MtaStsFetcher::Connect(uint64_t id, const std::string& ip) {
  Job& job = *jobs_.at(id);
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr || SSL_set_tlsext_host_name(ssl, job.host.c_str()) != 1 ||
      SSL_set1_host(ssl, job.host.c_str()) != 1) {
    if (ssl != nullptr) SSL_free(ssl);
    ERR_clear_error();
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::Internal("MTA-STS: cannot set up TLS for " + job.host)));
    return;
  }
  // Host name checks only against DNS-IDs; no partial wildcards such as "mta*.example".
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bufferevent* bev = bufferevent_openssl_socket_new(
      dispatcher_.base(), -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    SSL_free(ssl);
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::Internal("MTA-STS: cannot create TLS bufferevent")));
    return;
  }
  // Servers that close without close_notify (HTTP/1.0 style) still delivered a whole body;
  // Content-Length or the size limit decides completeness.
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  job.ssl = ssl;
  job.conn = evhttp_connection_base_bufferevent_new(dispatcher_.base(), nullptr, bev, ip.c_str(),
                                                    job.port);
  if (job.conn == nullptr) {
    bufferevent_free(bev);
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::Internal("MTA-STS: cannot create HTTP connection")));
    return;
  }
  evhttp_connection_set_retries(job.conn, 0);
  evhttp_connection_set_max_body_size(job.conn, static_cast<ev_ssize_t>(options_.max_body_bytes));
  evhttp_connection_set_max_headers_size(job.conn, 16 * 1024);
  job.arg = std::make_unique<CallbackArg>(CallbackArg{this, alive_, id});
  evhttp_request* req = evhttp_request_new(&MtaStsFetcher::OnRequestDone, job.arg.get());
  evhttp_request_set_error_cb(req, &OnRequestError);
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Host", job.host.c_str());
  evhttp_add_header(headers, "Connection", "close");
  evhttp_add_header(headers, "User-Agent", "outpost-mta-sts");
  evhttp_cmd_type method = EVHTTP_REQ_GET;
  if (job.post_body) {
    // RFC 8460 §5.3.1: the report as the POST body.
    method = EVHTTP_REQ_POST;
    evhttp_add_header(headers, "Content-Type", "application/tlsrpt+json");
    evbuffer_add(evhttp_request_get_output_buffer(req), job.post_body->data(),
                 job.post_body->size());
  }
  // On failure evhttp_make_request frees the request and reports through the callbacks.
  evhttp_make_request(job.conn, req, method, job.path.c_str());
}

void MtaStsFetcher::OnRequestDone(evhttp_request* req, void* arg) {
  auto* a = static_cast<CallbackArg*>(arg);
  auto alive = a->alive.lock();
  if (!alive || !*alive) return;
  a->fetcher->OnResponse(a->id, req);
}

void MtaStsFetcher::OnResponse(uint64_t id, evhttp_request* req) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  int code = req == nullptr ? 0 : evhttp_request_get_response_code(req);
  if (code == 0) {
    long verify = job.ssl != nullptr ? SSL_get_verify_result(job.ssl) : X509_V_OK;
    ERR_clear_error();
    if (verify != X509_V_OK) {
      Finish(id, Failed(MtaStsFetchFailure::kWebPkiInvalid,
                        Status::FailedPrecondition(
                            "MTA-STS: certificate of " + job.host +
                            " does not verify: " + X509_verify_cert_error_string(verify))));
      return;
    }
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::Unavailable("MTA-STS: fetch from " + job.host + " failed: " +
                                          std::string(HttpErrorName(job.arg->error)))));
    return;
  }
  if (job.post_body) {
    if (code >= 200 && code < 300) {
      Finish(id, MtaStsFetchResult{});
    } else {
      Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                        Status::Unavailable("TLS-RPT: " + job.host + " answered HTTP " +
                                            std::to_string(code))));
    }
    return;
  }
  if (code != 200) {
    // 3xx included: RFC 8461 §3.3 forbids following redirects.
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::Unavailable("MTA-STS: " + job.host + " answered HTTP " +
                                          std::to_string(code))));
    return;
  }
  const char* content_type =
      evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
  if (!IsTextPlain(content_type)) {
    Finish(id, Failed(MtaStsFetchFailure::kFetchError,
                      Status::InvalidArgument(
                          std::string("MTA-STS: policy content type is not text/plain: ") +
                          (content_type ? content_type : "(none)"))));
    return;
  }
  evbuffer* input = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(input);
  MtaStsFetchResult result;
  result.body.resize(len);
  evbuffer_copyout(input, result.body.data(), len);
  Finish(id, std::move(result));
}

void MtaStsFetcher::Finish(uint64_t id, MtaStsFetchResult result) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::unique_ptr<Job> job = std::move(it->second);
  jobs_.erase(it);
  job->deadline.reset();
  // Free the connection after the current libevent callback has returned; the callback
  // argument goes with it so a late event finds the job gone, not freed memory.
  if (job->conn != nullptr) {
    evhttp_connection* conn = job->conn;
    CallbackArg* arg = job->arg.release();
    dispatcher_.Post([conn, arg] {
      evhttp_connection_free(conn);
      delete arg;
    });
  }
  Callback done = std::move(job->done);
  done(std::move(result));
}

}  // namespace outpost::transport::tlspolicy
