// `outpost queue ...`: list, show, stats, retry, replay, hold, release, cancel, suspend and
// resume through the admin API (DESIGN.md §6); list/show/stats also offline on the data dir;
// check (the store consistency checker) only on the data dir.
// Human tables by default, the API's JSON documents with --json.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "common/clock.h"
#include "common/libevent_dispatcher.h"
#include "common/utf8.h"
#include "queue/consistency.h"
#include "queue/queue_store.h"
#include "router/json.h"
#include "tools/admin/queue_json.h"
#include "tools/admin/request_parse.h"
#include "tools/outpost/admin_client.h"
#include "tools/outpost/args.h"
#include "tools/outpost/cli.h"

namespace outpost::cli {
namespace {

namespace rj = ::outpost::router::rj;

constexpr const char* kUsage =
    "usage: outpost queue list [--status S] [--rcpt-domain D] [--sender A] [--queue Q]\n"
    "                          [--older-than DUR] [--limit N] [--cursor C]\n"
    "       outpost queue show ID\n"
    "       outpost queue stats\n"
    "       outpost queue retry (ID... | --all [filters])\n"
    "       outpost queue replay (ID... | [--since T] [--until T] [--rcpt-domain D]\n"
    "                                      [--error CLASS]) [--dry-run]\n"
    "       outpost queue hold (ID... | --all [filters]) [--pause-expiry]\n"
    "       outpost queue release (ID... | --all [filters])\n"
    "       outpost queue cancel (ID... | --all [filters]) [--bounce]\n"
    "       outpost queue suspend|resume (--rcpt-domain D | --route R)\n"
    "       outpost queue check --data-dir DIR   (exit 0 consistent, 1 problems, 2 unreadable)\n"
    "  filters: --status S --rcpt-domain D --sender A --queue Q --older-than DUR\n"
    "  every command: --json, --admin-url URL (or $OUTPOST_ADMIN_URL),\n"
    "                 --token T (or $OUTPOST_ADMIN_TOKEN); list/show/stats: --data-dir DIR\n"
    "                 reads the store directly (read-only) while the daemon is down;\n"
    "                 bulk commands: --progress forces the progress line on stderr\n";

const std::set<std::string> kValued = {"admin-url", "token",     "data-dir", "status",
                                       "state",     "rcpt-domain", "sender", "queue",
                                       "older-than", "limit",    "cursor",   "since",
                                       "until",     "error",     "route"};
const std::set<std::string> kFlags = {"json", "all", "dry-run", "bounce", "pause-expiry",
                                      "progress"};

int Usage(Io& io, const std::string& why) {
  if (!why.empty()) io.err << "outpost queue: " << why << "\n";
  io.err << kUsage;
  return kExitUsage;
}

int Fail(Io& io, const std::string& sub, const std::string& why) {
  io.err << "outpost queue " << sub << ": " << why << "\n";
  return kExitFailure;
}

// ---- formatting -----------------------------------------------------------------------------

std::string Str(const rj::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key)) return "";
  const rj::Value& x = v[key];
  if (x.IsString()) return std::string(x.GetString(), x.GetStringLength());
  if (x.IsInt64()) return std::to_string(x.GetInt64());
  if (x.IsUint64()) return std::to_string(x.GetUint64());
  return "";
}

std::string Span(int64_t ms) {
  const int64_t s = std::max<int64_t>(ms, 0) / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h" + (s % 3600 >= 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  return std::to_string(s / 86400) + "d" + (s % 86400 >= 3600 ? std::to_string(s % 86400 / 3600) + "h" : "");
}

// "5m" ago for past times; "in 5m" / "now" for next attempts; "-" for null.
std::string Age(const std::string& rfc3339, int64_t now) {
  auto t = admin::ParseRfc3339(rfc3339);
  return t.ok() ? Span(now - *t) : "-";
}
std::string Until(const std::string& rfc3339, int64_t now) {
  auto t = admin::ParseRfc3339(rfc3339);
  if (!t.ok()) return "-";
  return *t <= now ? "now" : "in " + Span(*t - now);
}

std::string Clip(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

void PrintTable(std::ostream& os, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    os << line << "\n";
  }
}

std::string ReplyText(const rj::Value& reply) {
  std::string code = Str(reply, "code");
  if (code.empty() || code == "0") return "";
  std::string out = code;
  if (!Str(reply, "enhanced").empty()) out += " " + Str(reply, "enhanced");
  if (!Str(reply, "text").empty()) out += " " + Str(reply, "text");
  if (!Str(reply, "host").empty()) out += " (" + Str(reply, "host") + ")";
  return out;
}

void PrintList(std::ostream& os, const rj::Document& page, int64_t now) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "AGE", "SENDER", "RECIPIENT", "STATE", "RETRY", "LAST_ERROR", "NEXT"}};
  for (const auto& m : page["items"].GetArray()) {
    const std::string sender = Str(m, "returnPath").empty() ? "<>" : Str(m, "returnPath");
    for (const auto& r : m["recipients"].GetArray()) {
      rows.push_back({Str(m, "id"), Age(Str(m, "receivedAt"), now), Clip(sender, 40),
                      Clip(Str(r, "address"), 40), Str(r, "state"), Str(r, "retryNum"),
                      Str(r, "lastError"), Until(Str(r, "nextAttemptAt"), now)});
    }
  }
  if (rows.size() == 1) {
    os << "no messages match\n";
  } else {
    PrintTable(os, rows);
  }
  std::string cursor = Str(page, "cursor");
  if (!cursor.empty()) os << "more: add --cursor " << cursor << "\n";
}

void PrintShow(std::ostream& os, const rj::Document& m, int64_t now) {
  os << "id:          " << Str(m, "id") << "\n"
     << "return path: <" << Str(m, "returnPath") << ">\n"
     << "size:        " << Str(m, "size") << " bytes\n"
     << "received:    " << Str(m, "receivedAt") << " (" << Age(Str(m, "receivedAt"), now)
     << " ago)\n"
     << "source:      " << Str(m, "source") << "\n"
     << "recipients:\n";
  for (const auto& r : m["recipients"].GetArray()) {
    os << "  " << Str(r, "address") << "\n"
       << "    state: " << Str(r, "state") << "  retry_num: " << Str(r, "retryNum")
       << "  last_error: " << Str(r, "lastError") << "  queue: " << Str(r, "queue") << "\n";
    std::string reply = ReplyText(r["lastReply"]);
    os << "    last reply: " << (reply.empty() ? "-" : reply) << "\n";
    std::string next = Str(r, "nextAttemptAt"), exp = Str(r, "expiresAt");
    os << "    next attempt: " << (next.empty() ? "-" : next + " (" + Until(next, now) + ")")
       << "  expires: " << (exp.empty() ? "-" : exp) << "\n";
    const auto& attempts = r["attempts"];
    if (attempts.Empty()) {
      os << "    attempts: none\n";
      continue;
    }
    os << "    attempts:\n";
    for (const auto& a : attempts.GetArray()) {
      os << "      " << Str(a, "at") << "  route=" << Str(a, "route")
         << "  host=" << (Str(a, "host").empty() ? "-" : Str(a, "host"))
         << "  ip=" << (Str(a, "ip").empty() ? "-" : Str(a, "ip")) << "  reply=\""
         << Str(a, "reply") << "\"  " << Str(a, "durationMs") << "ms\n";
    }
  }
}

void PrintCounts(std::ostream& os, const char* title, const rj::Value& obj) {
  os << title << ":";
  if (!obj.IsObject() || obj.MemberCount() == 0) os << " none";
  os << "\n";
  if (!obj.IsObject()) return;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    os << "  " << std::left << std::setw(12) << it->name.GetString() << " "
       << it->value.GetInt64() << "\n";
  }
}

void PrintStats(std::ostream& os, const rj::Document& s) {
  os << "messages: " << Str(s, "messages") << "\n";
  PrintCounts(os, "recipients by state", s["byState"]);
  PrintCounts(os, "active recipients by queue", s["byQueue"]);
  os << "top destinations:";
  if (s["topDestinations"].Empty()) os << " none";
  os << "\n";
  for (const auto& d : s["topDestinations"].GetArray()) {
    os << "  " << std::left << std::setw(30) << Str(d, "domain") << " " << Str(d, "count")
       << "\n";
  }
  if (s["oldestActiveAgeSeconds"].IsInt64()) {
    os << "oldest active message: " << Span(s["oldestActiveAgeSeconds"].GetInt64() * 1000)
       << " old (received " << Str(s, "oldestActiveReceivedAt") << ")\n";
  } else {
    os << "oldest active message: -\n";
  }
  if (s.HasMember("suspended")) {
    os << "suspended:";
    if (s["suspended"].Empty()) os << " none";
    os << "\n";
    for (const auto& d : s["suspended"].GetArray()) {
      os << "  " << Str(d, "kind") << " " << Str(d, "name") << "\n";
    }
  }
  if (Str(s, "quarantined") != "0") os << "quarantined records: " << Str(s, "quarantined") << "\n";
}

// ---- requests --------------------------------------------------------------------------------

struct Context {
  std::string sub;
  const Args& args;
  Io& io;
  bool json = false;
};

// Prints a document (the API's JSON, or the offline rendering of the same shape).
int Present(Context& c, const std::string& body) {
  rj::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.IsObject()) return Fail(c.io, c.sub, "unreadable answer: " + body.substr(0, 200));
  if (c.json) {
    c.io.out << body;
    if (body.empty() || body.back() != '\n') c.io.out << "\n";
    return kExitOk;
  }
  const int64_t now = RealClock::Instance().NowUnixMs();
  if (c.sub == "list") {
    PrintList(c.io.out, d, now);
  } else if (c.sub == "show") {
    PrintShow(c.io.out, d, now);
  } else if (c.sub == "stats") {
    PrintStats(c.io.out, d);
  } else if (c.sub == "suspend" || c.sub == "resume") {
    c.io.out << "suspended destinations:";
    if (d["suspended"].Empty()) c.io.out << " none";
    c.io.out << "\n";
    for (const auto& s : d["suspended"].GetArray()) {
      c.io.out << "  " << Str(s, "kind") << " " << Str(s, "name") << "\n";
    }
  }
  return kExitOk;
}

// Sends one request; on success returns the body in *body.
int Call(Context& c, const AdminClient& client, const std::string& method,
         const std::string& target, const std::string& request_body, std::string* body) {
  auto reply = client.Send(method, target, request_body);
  if (!reply.ok()) return Fail(c.io, c.sub, reply.status().message());
  if (reply->status != 200) {
    c.io.err << "outpost queue " << c.sub << ": " << DescribeFailure(*reply) << "\n";
    return reply->status == 400 ? kExitUsage : kExitFailure;
  }
  *body = std::move(reply->body);
  return kExitOk;
}

// Query string / JSON filter from the filter flags.
std::map<std::string, std::string> FilterFlags(const Args& a) {
  std::map<std::string, std::string> f;
  auto put = [&](const char* flag, const char* field) {
    if (auto v = a.Get(flag)) f[field] = *v;
  };
  put("status", "state");
  put("state", "state");
  put("rcpt-domain", "rcptDomain");
  put("sender", "sender");
  put("queue", "queue");
  put("older-than", "olderThan");
  return f;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '@') {
      out += static_cast<char>(ch);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

// ---- offline (--data-dir) ----------------------------------------------------------------------

int Offline(Context& c, const std::string& dir) {
  LibeventDispatcher dispatcher;
  auto store = queue::QueueStore::OpenReadOnly(dir, dispatcher);
  if (!store.ok()) {
    return Fail(c.io, c.sub, "cannot open the store in " + dir + " read-only: " +
                                 store.status().message());
  }
  const int64_t now = RealClock::Instance().NowUnixMs();
  std::string body;
  if (c.sub == "list") {
    auto spec = admin::ParseFilterFields(FilterFlags(c.args), now);
    if (!spec.ok()) return Usage(c.io, spec.status().message());
    queue::ListOptions lo;
    lo.filter = spec->filter;
    lo.cursor = c.args.Get("cursor").value_or("");
    if (auto l = c.args.Get("limit")) {
      int n = std::atoi(l->c_str());
      if (n <= 0 || n > 1000) return Usage(c.io, "--limit must be from 1 to 1000");
      lo.limit = static_cast<size_t>(n);
    }
    auto page = (*store)->List(lo);
    if (!page.ok()) return Fail(c.io, c.sub, page.status().message());
    body = admin::ListPageToJson(*page);
  } else if (c.sub == "show") {
    auto id = admin::ParseId(c.args.positional().at(1));
    if (!id.ok()) return Usage(c.io, id.status().message());
    auto m = (*store)->Get(*id);
    if (!m.ok()) return Fail(c.io, c.sub, m.status().message());
    body = admin::MessageToJson(*m);
  } else {
    auto st = (*store)->Stats(10);
    if (!st.ok()) return Fail(c.io, c.sub, st.status().message());
    body = admin::StatsToJson(*st, now, {}, /*include_suspended=*/false);
  }
  return Present(c, body);
}

// `check`: queue::CheckConsistency over a read-only (RocksDB secondary) view of the data dir,
// which is safe while the daemon runs and sees one point in time. Exit 0 when consistent, 1
// when problems were found, 2 when the store cannot be opened or read.
int Check(Context& c, const std::string& dir) {
  auto store = storage::Store::OpenReadOnly(dir);
  if (!store.ok()) {
    c.io.err << "outpost queue check: cannot open the store in " << dir
             << " read-only: " << store.status().message() << "\n";
    return kExitUsage;
  }
  auto report = queue::CheckConsistency(**store);
  if (!report.ok()) {
    c.io.err << "outpost queue check: " << report.status().message() << "\n";
    return kExitUsage;
  }
  const auto& r = *report;
  if (c.json) {
    c.io.out << admin::ConsistencyToJson(r) << "\n";
  } else {
    c.io.out << (r.ok() ? "consistent" : "INCONSISTENT") << ": " << r.messages << " messages, "
             << r.recipients << " recipients, " << r.bodies << " bodies; index keys: "
             << r.due_keys << " due, " << r.failed_keys << " failed, " << r.done_keys
             << " done; " << r.quarantined << " quarantined\n";
    if (!r.ok()) {
      c.io.out << r.problem_count << " problems";
      if (r.problems.size() < r.problem_count) c.io.out << " (first " << r.problems.size() << ")";
      c.io.out << ":\n";
      for (const auto& p : r.problems) c.io.out << "  " << ToValidUtf8(p) << "\n";
    }
  }
  return r.ok() ? kExitOk : kExitFailure;
}

// ---- bulk operations -------------------------------------------------------------------------

bool StderrIsTerminal(const Io& io) {
  return io.err.rdbuf() == std::cerr.rdbuf() && isatty(STDERR_FILENO) == 1;
}

// Adds the counts of one answer ({"messages","changed","skipped","inFlight","notFound"}).
void AddCounts(const rj::Document& d, queue::OpCounts* sum) {
  auto get = [&](const char* key) -> uint32_t {
    return d.IsObject() && d.HasMember(key) && d[key].IsUint() ? d[key].GetUint() : 0;
  };
  sum->messages += get("messages");
  sum->changed += get("changed");
  sum->skipped += get("skipped");
  sum->in_flight += get("inFlight");
  sum->not_found += get("notFound");
}

void WriteMember(rj::StringWriter& w, const std::string& k, const std::string& v) {
  w.Key(k.c_str());
  w.String(v.c_str());
}

int Bulk(Context& c, const AdminClient& client) {
  const Args& a = c.args;
  const bool replay = c.sub == "replay";
  std::vector<std::string> ids(a.positional().begin() + 1, a.positional().end());
  std::map<std::string, std::string> filter = FilterFlags(a);
  if (replay) {
    for (const char* k : {"status", "state", "sender", "queue", "older-than"}) {
      if (a.Get(k)) return Usage(c.io, std::string("replay takes --since, --until, --rcpt-domain, --error (not --") + k + ")");
    }
    if (a.Has("all")) return Usage(c.io, "replay selects every failed recipient without --all");
  } else {
    for (const char* k : {"since", "until", "error"}) {
      if (a.Get(k)) return Usage(c.io, std::string("--") + k + " is for replay");
    }
    if (ids.empty() && !a.Has("all") && filter.empty()) {
      return Usage(c.io, c.sub + " needs message ids, or --all (with optional filters)");
    }
  }
  if (!ids.empty() && (a.Has("all") || !filter.empty() || a.Get("since") || a.Get("until") ||
                       a.Get("error"))) {
    return Usage(c.io, "give message ids or filters, not both");
  }
  if (a.Has("bounce") && c.sub != "cancel") return Usage(c.io, "--bounce is for cancel");
  if (a.Has("pause-expiry") && c.sub != "hold") return Usage(c.io, "--pause-expiry is for hold");
  for (const auto& id : ids) {
    if (!admin::ParseId(id).ok()) return Usage(c.io, "'" + id + "' is not a message id");
  }

  // The request body, without the paging members.
  auto build = [&](bool dry_run, std::optional<std::string> cursor) {
    rj::StringBuffer buf;
    rj::StringWriter w(buf);
    w.StartObject();
    if (!ids.empty()) {
      w.Key("ids");
      w.StartArray();
      for (const auto& id : ids) w.String(id.c_str());
      w.EndArray();
    } else if (replay) {
      if (auto v = a.Get("since")) WriteMember(w, "since", *v);
      if (auto v = a.Get("until")) WriteMember(w, "until", *v);
      if (auto v = a.Get("rcpt-domain")) WriteMember(w, "rcptDomain", *v);
      if (auto v = a.Get("error")) WriteMember(w, "error", *v);
    } else {
      w.Key("filter");
      w.StartObject();
      for (const auto& [k, v] : filter) WriteMember(w, k, v);
      w.EndObject();
    }
    if (dry_run) {
      w.Key("dryRun");
      w.Bool(true);
    }
    if (a.Has("bounce")) {
      w.Key("bounce");
      w.Bool(true);
    }
    if (a.Has("pause-expiry")) {
      w.Key("pauseExpiry");
      w.Bool(true);
    }
    if (cursor) {
      WriteMember(w, "cursor", *cursor);
      w.Key("maxMessages");
      w.Uint(1000);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  };
  const std::string target = "/api/queue/" + c.sub;
  std::string body;
  if (a.Has("dry-run")) {
    if (int rc = Call(c, client, "POST", target, build(true, std::nullopt), &body)) return rc;
    if (c.json) return Present(c, body);
    rj::Document d;
    d.Parse(body.c_str());
    c.io.out << c.sub << " (dry run): would select " << Str(d, "recipients")
             << " recipients in " << Str(d, "messages") << " messages\n";
    return kExitOk;
  }
  const bool progress = !c.json && ids.empty() && (a.Has("progress") || StderrIsTerminal(c.io));
  queue::OpCounts sum;
  if (!progress) {
    if (int rc = Call(c, client, "POST", target, build(false, std::nullopt), &body)) return rc;
    if (c.json) return Present(c, body);
    rj::Document d;
    d.Parse(body.c_str());
    AddCounts(d, &sum);
  } else {
    // Count first, then walk the selection a page at a time, showing done / total.
    if (int rc = Call(c, client, "POST", target, build(true, std::nullopt), &body)) return rc;
    rj::Document total_doc;
    total_doc.Parse(body.c_str());
    const std::string total = Str(total_doc, "messages");
    std::string cursor;
    do {
      if (int rc = Call(c, client, "POST", target, build(false, cursor), &body)) {
        c.io.err << "\n";
        return rc;
      }
      rj::Document d;
      d.Parse(body.c_str());
      AddCounts(d, &sum);
      cursor = Str(d, "cursor");
      c.io.err << "\r" << c.sub << ": " << sum.messages << "/" << total << " messages"
               << std::flush;
    } while (!cursor.empty());
    c.io.err << "\n";
  }
  c.io.out << c.sub << ": " << sum.changed << " recipients changed in " << sum.messages
           << " messages";
  if (sum.skipped) c.io.out << ", " << sum.skipped << " skipped (state does not allow it)";
  if (sum.in_flight) c.io.out << ", " << sum.in_flight << " in flight (applied when the attempt ends)";
  if (sum.not_found) c.io.out << ", " << sum.not_found << " not found";
  c.io.out << "\n";
  return kExitOk;
}

int SuspendResume(Context& c, const AdminClient& client) {
  auto domain = c.args.Get("rcpt-domain");
  auto route = c.args.Get("route");
  if (domain.has_value() == route.has_value() || c.args.positional().size() != 1) {
    return Usage(c.io, c.sub + " takes exactly one of --rcpt-domain D or --route R");
  }
  rj::StringBuffer buf;
  rj::StringWriter w(buf);
  w.StartObject();
  WriteMember(w, domain ? "rcptDomain" : "route", domain ? *domain : *route);
  w.EndObject();
  std::string body;
  if (int rc = Call(c, client, "POST", "/api/queue/" + c.sub, buf.GetString(), &body)) return rc;
  return Present(c, body);
}

}  // namespace

int RunQueueCommand(std::span<const std::string> args, Io& io) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    io.out << kUsage;
    return kExitOk;
  }
  auto parsed = Args::Parse(args, kValued, kFlags);
  if (!parsed.ok()) return Usage(io, parsed.status().message());
  const Args& a = *parsed;
  if (a.positional().empty()) return Usage(io, "");
  Context c{a.positional()[0], a, io, a.Has("json")};
  static const std::set<std::string> kSubs = {"list",    "show", "stats",  "retry",   "replay",
                                              "hold",    "release", "cancel", "suspend",
                                              "resume",  "check"};
  if (!kSubs.count(c.sub)) return Usage(io, "unknown subcommand '" + c.sub + "'");
  const bool read_only = c.sub == "list" || c.sub == "show" || c.sub == "stats";
  if (c.sub == "show" && a.positional().size() != 2) return Usage(io, "show takes one message id");
  if ((c.sub == "list" || c.sub == "stats") && a.positional().size() != 1) {
    return Usage(io, c.sub + " takes no positional arguments");
  }
  if (c.sub == "check") {
    auto dir = a.Get("data-dir");
    if (!dir || a.positional().size() != 1) return Usage(io, "check takes --data-dir DIR");
    return Check(c, *dir);
  }
  if (auto dir = a.Get("data-dir")) {
    if (!read_only) return Usage(io, "--data-dir works for list, show and stats only");
    return Offline(c, *dir);
  }
  auto client = AdminClientFor(a.Get("admin-url"), a.Get("token"));
  if (!client.ok()) return Usage(io, client.status().message());
  std::string body;
  if (c.sub == "list") {
    std::string q;
    auto add = [&](const std::string& k, const std::string& v) {
      q += (q.empty() ? "?" : "&") + k + "=" + UrlEncode(v);
    };
    for (const auto& [k, v] : FilterFlags(a)) add(k, v);
    if (auto v = a.Get("limit")) add("limit", *v);
    if (auto v = a.Get("cursor")) add("cursor", *v);
    if (int rc = Call(c, *client, "GET", "/api/queue/messages" + q, "", &body)) return rc;
    return Present(c, body);
  }
  if (c.sub == "show") {
    const std::string& id = a.positional()[1];
    if (!admin::ParseId(id).ok()) return Usage(io, "'" + id + "' is not a message id");
    if (int rc = Call(c, *client, "GET", "/api/queue/messages/" + id, "", &body)) return rc;
    return Present(c, body);
  }
  if (c.sub == "stats") {
    if (int rc = Call(c, *client, "GET", "/api/queue/stats", "", &body)) return rc;
    return Present(c, body);
  }
  if (c.sub == "suspend" || c.sub == "resume") return SuspendResume(c, *client);
  return Bulk(c, *client);
}

}  // namespace outpost::cli
