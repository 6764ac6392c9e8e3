#include "tools/admin/queue_json.h"

#include <algorithm>

#include "common/time_format.h"
#include "queue/recipient_state.h"
#include "storage/keys.h"
#include "tools/admin/json_writer.h"

namespace outpost::admin {
namespace {

void WriteTime(JsonWriter& w, int64_t unix_ms) {
  if (unix_ms <= 0) {
    w.Null();
  } else {
    WriteString(w, FormatRfc3339(unix_ms));
  }
}

std::string ReplyLine(const proto::SmtpReply& r) {
  if (r.code() == 0 && r.text().empty()) return "";
  std::string line = std::to_string(r.code());
  if (!r.enhanced().empty()) line += " " + r.enhanced();
  if (!r.text().empty()) line += " " + r.text();
  return line;
}

std::string_view StateName(int state) {
  auto s = queue::RecipientStateFromProto(state);
  return s ? queue::RecipientStateName(*s) : std::string_view("unknown");
}

void WriteAttempt(JsonWriter& w, const proto::AttemptRecord& a) {
  w.StartObject();
  WriteKey(w, "at");
  WriteTime(w, a.at_unix_ms());
  WriteKey(w, "route");
  WriteString(w, a.route());
  WriteKey(w, "host");
  WriteString(w, a.host());
  WriteKey(w, "ip");
  WriteString(w, a.ip());
  WriteKey(w, "reply");
  WriteString(w, ReplyLine(a.reply()));
  WriteKey(w, "durationMs");
  w.Int64(a.duration_ms());
  w.EndObject();
}

void WriteRecipient(JsonWriter& w, const proto::RecipientRecord& r) {
  w.StartObject();
  WriteKey(w, "address");
  WriteString(w, r.address());
  WriteKey(w, "state");
  WriteString(w, StateName(r.state()));
  WriteKey(w, "retryNum");
  w.Uint(r.retry_num());
  WriteKey(w, "lastError");
  WriteString(w, r.last_error().empty() ? "none" : r.last_error());
  WriteKey(w, "lastReply");
  w.StartObject();
  WriteKey(w, "code");
  w.Int(r.last_reply().code());
  WriteKey(w, "enhanced");
  WriteString(w, r.last_reply().enhanced());
  WriteKey(w, "text");
  WriteString(w, r.last_reply().text());
  WriteKey(w, "host");
  WriteString(w, r.last_reply().host());
  w.EndObject();
  auto state = queue::RecipientStateFromProto(r.state());
  WriteKey(w, "nextAttemptAt");
  WriteTime(w, state && queue::IsPending(*state) ? r.next_attempt_unix_ms() : 0);
  WriteKey(w, "expiresAt");
  WriteTime(w, r.expiry_unix_ms());
  WriteKey(w, "queue");
  WriteString(w, r.virtual_queue());
  WriteKey(w, "attempts");
  w.StartArray();
  for (const auto& a : r.attempts()) WriteAttempt(w, a);
  w.EndArray();
  w.EndObject();
}

void WriteMessage(JsonWriter& w, const queue::QueuedMessage& m) {
  const proto::MessageRecord& msg = m.message;
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, storage::FormatMessageId(msg.id()));
  WriteKey(w, "returnPath");
  WriteString(w, msg.return_path());
  WriteKey(w, "size");
  w.Uint64(msg.size_bytes());
  WriteKey(w, "receivedAt");
  WriteTime(w, msg.received_unix_ms());
  WriteKey(w, "source");
  WriteString(w, SourceName(msg.source()));
  WriteKey(w, "recipients");
  w.StartArray();
  std::vector<const proto::RecipientRecord*> rcpts;
  for (const auto& r : m.recipients) rcpts.push_back(&r);
  std::sort(rcpts.begin(), rcpts.end(), [](auto* a, auto* b) { return a->idx() < b->idx(); });
  for (const auto* r : rcpts) WriteRecipient(w, *r);
  w.EndArray();
  w.EndObject();
}

void WriteCounts(JsonWriter& w, const std::map<std::string, int64_t>& counts) {
  w.StartObject();
  for (const auto& [k, v] : counts) {
    WriteKey(w, k);
    w.Int64(v);
  }
  w.EndObject();
}

void WriteSuspended(JsonWriter& w, const std::vector<SuspendedDestination>& suspended) {
  w.StartArray();
  for (const auto& d : suspended) {
    w.StartObject();
    WriteKey(w, "kind");
    WriteString(w, d.kind);
    WriteKey(w, "name");
    WriteString(w, d.name);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string SuspendedToJson(const std::vector<SuspendedDestination>& suspended) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "suspended");
  WriteSuspended(w, suspended);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string_view SourceName(int source) {
  switch (source) {
    case proto::SOURCE_AUTHENTICATED:
      return "authenticated";
    case proto::SOURCE_UNAUTHENTICATED:
      return "unauthenticated";
    case proto::SOURCE_DSN:
      return "dsn";
    case proto::SOURCE_REPORT:
      return "report";
    case proto::SOURCE_API:
      return "api";
    default:
      return "unknown";
  }
}

std::string MessageToJson(const queue::QueuedMessage& m) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  WriteMessage(w, m);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string ListPageToJson(const queue::ListPage& page) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "items");
  w.StartArray();
  for (const auto& m : page.items) WriteMessage(w, m);
  w.EndArray();
  WriteKey(w, "cursor");
  WriteString(w, page.cursor);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string StatsToJson(const queue::QueueStats& s, int64_t now_unix_ms,
                        const std::vector<SuspendedDestination>& suspended,
                        bool include_suspended) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "messages");
  w.Int64(s.messages);
  WriteKey(w, "byState");
  WriteCounts(w, s.by_state);
  WriteKey(w, "byQueue");
  WriteCounts(w, s.by_queue);
  WriteKey(w, "topDestinations");
  w.StartArray();
  for (const auto& [domain, n] : s.top_destinations) {
    w.StartObject();
    WriteKey(w, "domain");
    WriteString(w, domain);
    WriteKey(w, "count");
    w.Int64(n);
    w.EndObject();
  }
  w.EndArray();
  const int64_t oldest = s.active_messages_oldest_received_unix_ms;
  WriteKey(w, "oldestActiveReceivedAt");
  WriteTime(w, oldest);
  WriteKey(w, "oldestActiveAgeSeconds");
  if (oldest > 0) {
    w.Int64(std::max<int64_t>(0, (now_unix_ms - oldest) / 1000));
  } else {
    w.Null();
  }
  WriteKey(w, "quarantined");
  w.Int64(s.quarantined);
  if (include_suspended) {
    WriteKey(w, "suspended");
    WriteSuspended(w, suspended);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string OpCountsToJson(const queue::OpCounts& c) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "messages");
  w.Uint(c.messages);
  WriteKey(w, "changed");
  w.Uint(c.changed);
  WriteKey(w, "skipped");
  w.Uint(c.skipped);
  WriteKey(w, "inFlight");
  w.Uint(c.in_flight);
  WriteKey(w, "notFound");
  w.Uint(c.not_found);
  WriteKey(w, "cursor");
  WriteString(w, c.cursor);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string ConsistencyToJson(const queue::ConsistencyReport& r) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "ok");
  w.Bool(r.ok());
  const std::pair<const char*, uint64_t> counts[] = {
      {"messages", r.messages},       {"recipients", r.recipients}, {"bodies", r.bodies},
      {"dueKeys", r.due_keys},        {"failedKeys", r.failed_keys}, {"doneKeys", r.done_keys},
      {"quarantined", r.quarantined}, {"problemCount", r.problem_count}};
  for (const auto& [key, n] : counts) {
    WriteKey(w, key);
    w.Uint64(n);
  }
  WriteKey(w, "problems");
  w.StartArray();
  for (const auto& p : r.problems) WriteString(w, p);
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string ErrorJson(std::string_view message) {
  rj::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "error");
  WriteString(w, message);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace outpost::admin
