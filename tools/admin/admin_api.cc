#include "tools/admin/admin_api.h"

#include <charconv>
#include <set>

#include "common/logging.h"
#include "router/envelope.h"
#include "router/router.h"
#include "storage/keys.h"
#include "tools/admin/bearer_auth.h"
#include "tools/admin/bulk_operation.h"
#include "tools/admin/json_writer.h"
#include "tools/admin/metrics_text.h"
#include "tools/admin/queue_json.h"
#include "tools/admin/request_parse.h"

namespace outpost::admin {
namespace {

constexpr std::string_view kMessagesPrefix = "/api/queue/messages/";

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body += "\n";
  return r;
}

HttpResponse Error(int status, std::string_view message) {
  return Json(status, ErrorJson(message));
}

HttpResponse ErrorFor(const Status& st) { return Error(HttpStatusFor(st), st.message()); }

std::string_view BulkName(int kind) {
  static constexpr std::string_view kNames[] = {"retry", "hold", "release", "cancel", "replay"};
  return kNames[kind];
}

bool ParseBool(const std::map<std::string, std::string>& f, const std::string& name, bool* out,
               Status* error) {
  auto it = f.find(name);
  if (it == f.end()) return true;
  if (it->second != "true" && it->second != "false") {
    *error = Status::InvalidArgument(name + " must be true or false");
    return false;
  }
  *out = it->second == "true";
  return true;
}

std::string DryRunJson(const BulkResult& r) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "dryRun");
  w.Bool(true);
  WriteKey(w, "messages");
  w.Uint(r.counts.messages);
  WriteKey(w, "recipients");
  w.Uint64(r.matched_recipients);
  WriteKey(w, "notFound");
  w.Uint(r.counts.not_found);
  WriteKey(w, "cursor");
  WriteString(w, r.counts.cursor);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::vector<SuspendedDestination> SuspendedOf(const scheduler::Scheduler& s) {
  std::vector<SuspendedDestination> out;
  for (const auto& d : s.suspended()) {
    out.push_back({d.kind == scheduler::Destination::Kind::kDomain ? "domain" : "route", d.name});
  }
  return out;
}

bool HasNonAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Reads a string member; absent = `fallback`, not a string = error.
bool StringMember(const rj::Value& obj, const char* name, std::string* out, Status* error) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return true;
  if (!it->value.IsString()) {
    *error = Status::InvalidArgument(std::string(name) + " must be a string");
    return false;
  }
  out->assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

Status OnlyKnownMembers(const rj::Value& obj, std::initializer_list<std::string_view> known) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    bool ok = false;
    for (auto k : known) ok |= k == name;
    if (!ok) return Status::InvalidArgument("unknown field '" + std::string(name) + "'");
  }
  return Status::Ok();
}

}  // namespace

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kFailedPrecondition:
      return 409;
    case Status::Code::kNoSpace:
    case Status::Code::kIoError:
    case Status::Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

AdminApi::AdminApi(Dispatcher& dispatcher, queue::QueueStore& store,
                   scheduler::Scheduler& scheduler, AdminApiOptions options)
    : dispatcher_(dispatcher), store_(store), scheduler_(scheduler), options_(std::move(options)) {}

AdminApi::~AdminApi() { *alive_ = false; }

Respond AdminApi::Guard(Respond respond) const {
  return [alive = std::weak_ptr<bool>(alive_), respond = std::move(respond)](HttpResponse r) {
    auto a = alive.lock();
    if (a && *a) respond(std::move(r));
  };
}

void AdminApi::Handle(HttpRequest req, Respond respond) {
  if (!BearerMatches(req.authorization, options_.token)) {
    HttpResponse r = Error(401, options_.token.empty()
                                    ? "the admin API has no token configured (admin.token)"
                                    : "missing or wrong bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"outpost\"");
    respond(std::move(r));
    return;
  }
  Route(req, std::move(respond));
}

void AdminApi::Route(const HttpRequest& req, Respond respond) {
  const std::string& p = req.path;
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto method_not_allowed = [&](const char* allow) {
    HttpResponse r = Error(405, "use " + std::string(allow) + " for " + p);
    r.headers.emplace_back("Allow", allow);
    respond(std::move(r));
  };
  if (p == "/api/queue/messages") {
    return get ? ListMessages(req, std::move(respond)) : method_not_allowed("GET");
  }
  if (p.rfind(kMessagesPrefix, 0) == 0) {
    return get ? GetMessage(std::string_view(p).substr(kMessagesPrefix.size()),
                            std::move(respond))
               : method_not_allowed("GET");
  }
  if (p == "/api/queue/stats") return get ? Stats(std::move(respond)) : method_not_allowed("GET");
  if (p == "/metrics") return get ? Metrics(std::move(respond)) : method_not_allowed("GET");
  static const std::pair<std::string_view, BulkKind> kBulk[] = {
      {"/api/queue/retry", BulkKind::kRetry},     {"/api/queue/hold", BulkKind::kHold},
      {"/api/queue/release", BulkKind::kRelease}, {"/api/queue/cancel", BulkKind::kCancel},
      {"/api/queue/replay", BulkKind::kReplay}};
  for (const auto& [path, kind] : kBulk) {
    if (p == path) return post ? Bulk(kind, req, std::move(respond)) : method_not_allowed("POST");
  }
  if (p == "/api/queue/suspend" || p == "/api/queue/resume") {
    return post ? Suspend(p == "/api/queue/suspend", req, std::move(respond))
                : method_not_allowed("POST");
  }
  if (p == "/api/messages") return post ? Inject(req, std::move(respond)) : method_not_allowed("POST");
  if (p == "/api/route/explain") {
    return post ? Explain(req, std::move(respond)) : method_not_allowed("POST");
  }
  respond(Error(404, "no such endpoint: " + req.method + " " + p));
}

void AdminApi::ListMessages(const HttpRequest& req, Respond respond) {
  std::map<std::string, std::string> fields = req.query;
  queue::ListOptions lo;
  // A page examines a bounded number of messages so a sparse filter over a big queue cannot
  // hold the loop: the answer may then have fewer items than `limit` and a cursor.
  lo.max_scan = options_.max_scan;
  if (auto it = fields.find("limit"); it != fields.end()) {
    const std::string& v = it->second;
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || ptr != v.data() + v.size() || n == 0 || n > options_.max_page) {
      return respond(Error(400, "limit must be an integer from 1 to " +
                                    std::to_string(options_.max_page)));
    }
    lo.limit = n;
    fields.erase(it);
  }
  if (auto it = fields.find("cursor"); it != fields.end()) {
    if (!it->second.empty()) {
      auto id = ParseId(it->second);
      if (!id.ok()) return respond(Error(400, "cursor: " + id.status().message()));
    }
    lo.cursor = it->second;
    fields.erase(it);
  }
  for (const char* replay_only : {"error", "since", "until"}) {
    if (fields.count(replay_only)) {
      return respond(Error(400, std::string("unknown query parameter '") + replay_only + "'"));
    }
  }
  auto spec = ParseFilterFields(fields, dispatcher_.clock().NowUnixMs());
  if (!spec.ok()) return respond(ErrorFor(spec.status()));
  lo.filter = spec->filter;
  auto page = store_.List(lo);
  if (!page.ok()) return respond(ErrorFor(page.status()));
  respond(Json(200, ListPageToJson(*page)));
}

void AdminApi::GetMessage(std::string_view id_text, Respond respond) {
  auto id = ParseId(id_text);
  if (!id.ok()) return respond(ErrorFor(id.status()));
  auto m = store_.Get(*id);
  if (!m.ok()) {
    if (m.status().code() == Status::Code::kNotFound) {
      return respond(Error(404, "no message " + std::string(id_text)));
    }
    return respond(ErrorFor(m.status()));
  }
  respond(Json(200, MessageToJson(*m)));
}

void AdminApi::Stats(Respond respond) {
  auto st = store_.Stats(10);
  if (!st.ok()) return respond(ErrorFor(st.status()));
  respond(Json(200, StatsToJson(*st, dispatcher_.clock().NowUnixMs(), SuspendedOf(scheduler_),
                                /*include_suspended=*/true)));
}

void AdminApi::Bulk(BulkKind kind, const HttpRequest& req, Respond respond) {
  auto doc = ParseJsonObject(req.body);
  if (!doc.ok()) return respond(ErrorFor(doc.status()));
  const rj::Value& body = **doc;
  const bool replay = kind == BulkKind::kReplay;
  Status known = replay ? OnlyKnownMembers(body, {"ids", "filter", "dryRun", "cursor", "maxMessages",
                                                  "since", "until", "rcptDomain", "error"})
                        : OnlyKnownMembers(body, {"ids", "filter", "dryRun", "cursor", "maxMessages",
                                                  "bounce", "pauseExpiry"});
  if (!known.ok()) return respond(ErrorFor(known));
  if ((kind != BulkKind::kCancel && body.HasMember("bounce")) ||
      (kind != BulkKind::kHold && body.HasMember("pauseExpiry"))) {
    return respond(Error(400, "bounce is for cancel and pauseExpiry for hold only"));
  }
  // Scalar options at top level; ids and filter (nested) are read below.
  std::map<std::string, std::string> top;
  for (auto it = body.MemberBegin(); it != body.MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    if (name == "ids" || name == "filter") continue;
    auto v = ScalarToString(it->value);
    if (!v) return respond(Error(400, name + ": expected a string, an integer or a boolean"));
    top[name] = std::move(*v);
  }

  const int64_t now = dispatcher_.clock().NowUnixMs();
  BulkRequest br;
  br.batch = options_.batch;
  Status error;
  bool bounce = false, pause_expiry = false;
  if (!ParseBool(top, "dryRun", &br.dry_run, &error) || !ParseBool(top, "bounce", &bounce, &error) ||
      !ParseBool(top, "pauseExpiry", &pause_expiry, &error)) {
    return respond(ErrorFor(error));
  }
  if (auto it = top.find("maxMessages"); it != top.end()) {
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() || n == 0 ||
        n > 100000) {
      return respond(Error(400, "maxMessages must be an integer from 1 to 100000"));
    }
    br.batch = n;
    br.single_page = true;
  }
  if (auto it = top.find("cursor"); it != top.end()) {
    if (!it->second.empty() && !ParseId(it->second).ok()) {
      return respond(Error(400, "cursor: not a cursor returned by this API"));
    }
    br.cursor = it->second;
  }
  if (body.HasMember("ids")) {
    auto ids = ParseIds(body["ids"]);
    if (!ids.ok()) return respond(ErrorFor(ids.status()));
    br.ids = std::move(*ids);
  }
  std::map<std::string, std::string> filter_fields;
  bool has_filter = false;
  if (body.HasMember("filter")) {
    auto f = ScalarFields(body["filter"], "filter");
    if (!f.ok()) return respond(ErrorFor(f.status()));
    filter_fields = std::move(*f);
    has_filter = true;
  }
  if (replay) {
    for (const char* name : {"since", "until", "rcptDomain", "error"}) {
      if (auto it = top.find(name); it != top.end()) {
        filter_fields[name] = it->second;
        has_filter = true;
      }
    }
    auto st = filter_fields.find("state");
    if (st != filter_fields.end() && st->second != "failed") {
      return respond(Error(400, "replay re-queues failed recipients only (state must be failed)"));
    }
    filter_fields["state"] = "failed";
    has_filter = true;  // no selection at all = every failed recipient
  }
  if (!br.ids.empty() && (has_filter && !replay)) {
    return respond(Error(400, "give either ids or a filter, not both"));
  }
  if (br.ids.empty() && !has_filter) {
    return respond(Error(400, "give {\"ids\": [...]} or {\"filter\": {...}} ({\"filter\": {}} "
                              "selects every message)"));
  }
  if (has_filter) {
    auto spec = ParseFilterFields(filter_fields, now);
    if (!spec.ok()) return respond(ErrorFor(spec.status()));
    br.filter = std::move(*spec);
  }

  const size_t requested_ids = br.ids.size();
  const bool dry_run = br.dry_run;
  BatchAction action;
  scheduler::Scheduler& s = scheduler_;
  switch (kind) {
    case BulkKind::kRetry:
      action = [&s](queue::Selection sel, auto done) { s.RetryNow(std::move(sel), std::move(done)); };
      break;
    case BulkKind::kHold:
      action = [&s, pause_expiry](queue::Selection sel, auto done) {
        s.Hold(std::move(sel), pause_expiry, std::move(done));
      };
      break;
    case BulkKind::kRelease:
      action = [&s](queue::Selection sel, auto done) { s.Release(std::move(sel), std::move(done)); };
      break;
    case BulkKind::kCancel:
      action = [&s, bounce](queue::Selection sel, auto done) {
        s.Cancel(std::move(sel), bounce, std::move(done));
      };
      break;
    case BulkKind::kReplay:
      action = [&s](queue::Selection sel, auto done) { s.Replay(std::move(sel), std::move(done)); };
      break;
  }
  const std::string_view name = BulkName(static_cast<int>(kind));
  Respond guarded = Guard(std::move(respond));
  RunBulk(dispatcher_, store_, std::move(br), std::move(action), alive_,
          [guarded, requested_ids, dry_run, name](StatusOr<BulkResult> r) {
            if (!r.ok()) return guarded(ErrorFor(r.status()));
            OUTPOST_LOG_INFO("admin.bulk", {"op", name}, {"dry_run", dry_run ? "yes" : "no"},
                             {"messages", r->counts.messages}, {"changed", r->counts.changed},
                             {"skipped", r->counts.skipped}, {"batches", r->batches});
            if (requested_ids > 0 && r->counts.not_found == requested_ids) {
              return guarded(Error(404, requested_ids == 1 ? "no such message"
                                                           : "none of the messages exists"));
            }
            guarded(Json(200, dry_run ? DryRunJson(*r) : OpCountsToJson(r->counts)));
          });
}

void AdminApi::Suspend(bool suspend, const HttpRequest& req, Respond respond) {
  auto doc = ParseJsonObject(req.body);
  if (!doc.ok()) return respond(ErrorFor(doc.status()));
  auto fields = ScalarFields(**doc, "body");
  if (!fields.ok()) return respond(ErrorFor(fields.status()));
  const bool domain = fields->count("rcptDomain") > 0;
  const bool route = fields->count("route") > 0;
  if (fields->size() != 1 || domain == route) {
    return respond(Error(400, "give exactly one of {\"rcptDomain\": D} or {\"route\": R}"));
  }
  scheduler::Destination d;
  d.kind = domain ? scheduler::Destination::Kind::kDomain : scheduler::Destination::Kind::kRoute;
  d.name = fields->begin()->second;
  if (d.name.empty() || d.name.size() > queue::kMaxNameBytes) {
    return respond(Error(400, "the destination name must be 1 to 256 bytes"));
  }
  if (route && scheduler_.router()->config().FindRoute(d.name) == nullptr) {
    return respond(Error(404, "no route named '" + d.name + "'"));
  }
  if (suspend) {
    scheduler_.Suspend(d);
  } else {
    scheduler_.Resume(d);
  }
  respond(Json(200, SuspendedToJson(SuspendedOf(scheduler_))));
}

void AdminApi::Inject(const HttpRequest& req, Respond respond) {
  auto doc = ParseJsonObject(req.body);
  if (!doc.ok()) return respond(ErrorFor(doc.status()));
  const rj::Value& body = **doc;
  if (Status st = OnlyKnownMembers(body, {"from", "to", "message"}); !st.ok()) {
    return respond(ErrorFor(st));
  }
  Status error;
  std::string from, text;
  if (!StringMember(body, "from", &from, &error) || !StringMember(body, "message", &text, &error)) {
    return respond(ErrorFor(error));
  }
  if (!body.HasMember("to") || !body["to"].IsArray() || body["to"].Empty()) {
    return respond(Error(400, "to must be a non-empty array of addresses"));
  }
  if (!body.HasMember("message")) return respond(Error(400, "message is required"));
  if (!body.HasMember("from")) {
    return respond(Error(400, "from is required (\"\" for the null return path)"));
  }
  if (Status st = CheckAddress(from, /*allow_empty=*/true); !st.ok()) {
    return respond(ErrorFor(st.Annotate("from")));
  }
  queue::NewMessage m;
  m.return_path = from;
  for (const auto& v : body["to"].GetArray()) {
    if (!v.IsString()) return respond(Error(400, "to must be an array of strings"));
    std::string to(v.GetString(), v.GetStringLength());
    if (Status st = CheckAddress(to, /*allow_empty=*/false); !st.ok()) {
      return respond(ErrorFor(st.Annotate("to")));
    }
    if (m.recipients.size() >= queue::kMaxRecipients) {
      return respond(Error(400, "too many recipients"));
    }
    m.smtputf8 |= HasNonAscii(to);
    queue::NewRecipient r;
    r.address = std::move(to);
    m.recipients.push_back(std::move(r));
  }
  m.body = ToCrlf(text);
  if (m.body.empty()) return respond(Error(400, "message is empty"));
  if (m.body.size() < 2 || m.body.compare(m.body.size() - 2, 2, "\r\n") != 0) m.body += "\r\n";
  const uint64_t max_size = options_.max_message_size != 0
                                ? options_.max_message_size
                                : scheduler_.router()->config().queue.max_message_size;
  if (m.body.size() > max_size) {
    return respond(Error(413, "message is " + std::to_string(m.body.size()) +
                                  " bytes; queue.maxMessageSize is " + std::to_string(max_size)));
  }
  m.smtputf8 |= HasNonAscii(from);
  m.eight_bit_mime = HasNonAscii(m.body);
  m.source = proto::SOURCE_API;
  m.received_unix_ms = dispatcher_.clock().NowUnixMs();
  const size_t rcpts = m.recipients.size();
  Respond guarded = Guard(std::move(respond));
  scheduler_.Submit(std::move(m), [guarded, rcpts](StatusOr<uint64_t> id) {
    if (!id.ok()) {
      OUTPOST_LOG_WARN("admin.inject_failed", {"error", id.status().ToString()});
      return guarded(ErrorFor(id.status()));
    }
    const std::string hex = storage::FormatMessageId(*id);
    OUTPOST_LOG_INFO("admin.injected", {"id", hex}, {"recipients", rcpts});
    rj::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    WriteKey(w, "id");
    WriteString(w, hex);
    w.EndObject();
    guarded(Json(200, std::string(buf.GetString(), buf.GetSize())));
  });
}

void AdminApi::Explain(const HttpRequest& req, Respond respond) {
  auto doc = ParseJsonObject(req.body);
  if (!doc.ok()) return respond(ErrorFor(doc.status()));
  auto f = ScalarFields(**doc, "body");
  if (!f.ok()) return respond(ErrorFor(f.status()));
  for (const auto& [name, v] : *f) {
    static const std::set<std::string> kKnown = {"rcpt",   "sender", "retryNum", "lastError",
                                                 "source", "mx",     "remoteIp"};
    if (!kKnown.count(name)) return respond(Error(400, "unknown field '" + name + "'"));
  }
  auto get = [&](const char* name, const char* fallback) {
    auto it = f->find(name);
    return it == f->end() ? std::string(fallback) : it->second;
  };
  const std::string rcpt = get("rcpt", "");
  if (rcpt.empty()) return respond(Error(400, "rcpt is required"));
  int64_t retry_num = 0;
  const std::string retry = get("retryNum", "0");
  auto [ptr, ec] = std::from_chars(retry.data(), retry.data() + retry.size(), retry_num);
  if (ec != std::errc() || ptr != retry.data() + retry.size() || retry_num < 0) {
    return respond(Error(400, "retryNum must be a non-negative integer"));
  }
  router::ExplainQuery query;
  query.rcpt = rcpt;
  query.sender = get("sender", "");
  query.retry_num = retry_num;
  query.last_error = get("lastError", "none");
  query.source = get("source", "unauthenticated");
  query.mx = get("mx", "");
  query.remote_ip = get("remoteIp", "");
  std::shared_ptr<const router::Router> router = scheduler_.router();
  HttpResponse r;
  r.body = router::ExplanationToJson(router::Explain(*router, query));
  respond(std::move(r));
}

void AdminApi::Metrics(Respond respond) {
  MetricsSnapshot m;
  auto st = store_.Stats(0);
  if (st.ok()) {
    m.queue = std::move(*st);
  } else {
    OUTPOST_LOG_WARN("admin.metrics_stats_failed", {"error", st.status().ToString()});
  }
  m.scheduler = scheduler_.metrics();
  storage::Store& s = store_.store();
  m.storage = {s.synced_writes(), s.committed_batches(), s.failed_batches(), s.resume_attempts(),
               s.sync_latency()};
  m.leases = store_.lease_count();
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = RenderPrometheus(m);
  respond(std::move(r));
}

}  // namespace outpost::admin
