#pragma once
// The admin API's request handling (DESIGN.md §6), apart from the HTTP transport
// (AdminHttpServer) so it stays a function of (request) -> response over the real queue
// store and scheduler.
//
// Every request is authenticated BEFORE routing: without `Authorization: Bearer <token>`
// matching the configured token, every path (known or not) answers 401. Then:
//   GET  /api/queue/messages          filters state, rcptDomain, sender, queue, olderThan;
//                                     limit (1..1000, default 100), cursor; a page may hold
//                                     fewer than `limit` items and still have a cursor
//   GET  /api/queue/messages/{id}     one message (404 when unknown)
//   GET  /api/queue/stats
//   POST /api/queue/{retry,hold,release,cancel,replay}
//        {"ids":[...]} or {"filter":{...}}; options "dryRun", "maxMessages" + "cursor" (one
//        page of a filter walk; without maxMessages every page is done), cancel "bounce",
//        hold "pauseExpiry"; replay also takes the filter fields at top level
//        (since, until, rcptDomain, error) and selects every failed recipient without one.
//   POST /api/queue/suspend, /resume  {"rcptDomain": D} or {"route": R}
//   POST /api/messages                inject {"from", "to": [...], "message"}: 200 {"id"}
//                                     only after the durable write
//   POST /api/route/explain           {"rcpt", "sender", "retryNum", "lastError", "source",
//                                     "mx", "remoteIp"}
//   GET  /metrics                     Prometheus text
// Errors are {"error": "..."}: 400 bad JSON / bad filter / bad id, 404 unknown id or path,
// 405 wrong method, 413 message too large, 503 store unavailable or full.
//
// Threading: loop thread only (the dispatcher's). Everything passed in outlives the AdminApi,
// and the AdminApi must be destroyed before the scheduler and the store. Responses of
// operations still running when it is destroyed are dropped (the operation's completed
// batches stay applied, as after a crash).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/dispatcher.h"
#include "queue/queue_store.h"
#include "scheduler/scheduler.h"

namespace outpost::admin {

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // decoded, without the query
  std::map<std::string, std::string> query;  // decoded; a repeated name keeps the last value
  std::string authorization;                 // the Authorization header, "" when absent
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called exactly once per request, on the loop thread (possibly before Handle returns).
using Respond = std::function<void(HttpResponse)>;

struct AdminApiOptions {
  std::string token;  // "" = every request answers 401
  // Largest injected message; 0 = queue.maxMessageSize of the scheduler's current config
  // (so a reload applies).
  uint64_t max_message_size = 0;
  size_t batch = 1000;       // messages per batch of a bulk operation
  size_t max_page = 1000;    // largest list page
  size_t max_scan = 5000;    // messages a list request examines at most (then: cursor)
};

class AdminApi {
 public:
  AdminApi(Dispatcher& dispatcher, queue::QueueStore& store, scheduler::Scheduler& scheduler,
           AdminApiOptions options);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // A reload may change the token; requests already authenticated are not affected.
  void SetToken(std::string token) { options_.token = std::move(token); }

  void Handle(HttpRequest request, Respond respond);

 private:
  enum class BulkKind { kRetry, kHold, kRelease, kCancel, kReplay };

  void Route(const HttpRequest& req, Respond respond);
  void ListMessages(const HttpRequest& req, Respond respond);
  void GetMessage(std::string_view id, Respond respond);
  void Stats(Respond respond);
  void Bulk(BulkKind kind, const HttpRequest& req, Respond respond);
  void Suspend(bool suspend, const HttpRequest& req, Respond respond);
  void Inject(const HttpRequest& req, Respond respond);
  void Explain(const HttpRequest& req, Respond respond);
  void Metrics(Respond respond);
  // Wraps `respond` so it is dropped once this AdminApi is gone.
  Respond Guard(Respond respond) const;

  Dispatcher& dispatcher_;
  queue::QueueStore& store_;
  scheduler::Scheduler& scheduler_;
  AdminApiOptions options_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Status -> HTTP status: InvalidArgument 400, NotFound 404, FailedPrecondition 409,
// NoSpace/IoError/Unavailable 503, anything else 500.
int HttpStatusFor(const Status& status);

}  // namespace outpost::admin
