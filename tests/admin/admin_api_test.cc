// The admin API over real loopback HTTP against a real store and scheduler (admin_test_env.h).
#include <set>
#include <string>
#include <vector>

#include "router/json.h"
#include "storage/keys.h"
#include "tests/admin/admin_test_env.h"

namespace outpost::admin::testing {
namespace {

namespace rj = ::outpost::router::rj;

rj::Document ParseBody(const cli::AdminReply& r) {
  rj::Document d;
  d.Parse(r.body.c_str());
  EXPECT_FALSE(d.HasParseError()) << r.body;
  return d;
}

std::string ErrorOf(const cli::AdminReply& r) {
  rj::Document d = ParseBody(r);
  if (!d.IsObject() || !d.HasMember("error") || !d["error"].IsString()) return "";
  return d["error"].GetString();
}

struct Endpoint {
  const char* method;
  const char* target;
  const char* body;
};

// Every endpoint of DESIGN.md §6, with a body that is valid for it.
const Endpoint kEndpoints[] = {
    {"GET", "/api/queue/messages", ""},
    {"GET", "/api/queue/messages/0000000000000001", ""},
    {"GET", "/api/queue/stats", ""},
    {"POST", "/api/queue/retry", R"({"filter": {}})"},
    {"POST", "/api/queue/replay", R"({"dryRun": true})"},
    {"POST", "/api/queue/hold", R"({"filter": {"rcptDomain": "none.test"}})"},
    {"POST", "/api/queue/release", R"({"filter": {"rcptDomain": "none.test"}})"},
    {"POST", "/api/queue/cancel", R"({"filter": {"rcptDomain": "none.test"}})"},
    {"POST", "/api/queue/suspend", R"({"rcptDomain": "paused.test"})"},
    {"POST", "/api/queue/resume", R"({"rcptDomain": "paused.test"})"},
    {"POST", "/api/messages", R"({"from": "a@origin.test", "to": ["b@dest.test"], "message": "Subject: x\n\nhi\n"})"},
    {"POST", "/api/route/explain", R"({"rcpt": "b@dest.test"})"},
    {"GET", "/metrics", ""},
    {"GET", "/no/such/path", ""},
};

class AdminApiTest : public AdminEnv {
 protected:
  void SetUp() override { StartAll(); }
};

TEST_F(AdminApiTest, EveryEndpointRequiresTheBearerToken) {
  auto none = Client("");
  auto wrong = Client("not-the-token");
  auto right = Client(kToken);
  for (const Endpoint& e : kEndpoints) {
    SCOPED_TRACE(std::string(e.method) + " " + e.target);
    auto r = none.Send(e.method, e.target, e.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 401);
    EXPECT_FALSE(ErrorOf(*r).empty());
    r = wrong.Send(e.method, e.target, e.body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401);
    r = right.Send(e.method, e.target, e.body);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->status, 401) << r->body;
    // A prefix or suffix of the token is not the token.
    r = Client(std::string(kToken) + "x").Send(e.method, e.target, e.body);
    EXPECT_EQ(r->status, 401);
  }
  // Authenticated: the unknown path is a 404, the unknown id too.
  EXPECT_EQ(right.Get("/no/such/path")->status, 404);
  EXPECT_EQ(right.Get("/api/queue/messages/0000000000000001")->status, 404);
}

class AdminApiNoTokenTest : public AdminEnv {
 protected:
  void SetUp() override { StartAll(""); }
};

TEST_F(AdminApiNoTokenTest, AnApiWithoutATokenAuthenticatesNobody) {
  auto r = Client("").Get("/api/queue/stats");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(ErrorOf(*r).find("no token"), std::string::npos);
  auto c = cli::AdminClient::Create(url, "");
  r = c->Send("GET", "/metrics", "");
  EXPECT_EQ(r->status, 401);
}

TEST_F(AdminApiTest, BadJsonAndBadFiltersAre400WithAMessage) {
  auto c = Client();
  const std::pair<const char*, const char*> bad_posts[] = {
      {"/api/queue/hold", "{"},
      {"/api/queue/hold", "[1,2]"},
      {"/api/queue/hold", "{}"},
      {"/api/queue/hold", R"({"filter": {"state": "bogus"}})"},
      {"/api/queue/hold", R"({"filter": {"colour": "red"}})"},
      {"/api/queue/hold", R"({"filter": {"olderThan": "soon"}})"},
      {"/api/queue/hold", R"({"filter": {"rcptDomain": ["a"]}})"},
      {"/api/queue/hold", R"({"ids": ["xyz"]})"},
      {"/api/queue/hold", R"({"ids": []})"},
      {"/api/queue/hold", R"({"ids": ["0000000000000001"], "filter": {}})"},
      {"/api/queue/hold", R"({"filter": {}, "bounce": true})"},
      {"/api/queue/cancel", R"({"filter": {}, "bounce": "yes"})"},
      {"/api/queue/replay", R"({"since": "yesterday"})"},
      {"/api/queue/replay", R"({"filter": {"state": "deferred"}})"},
      {"/api/queue/retry", R"({"filter": {}, "maxMessages": 0})"},
      {"/api/queue/retry", R"({"filter": {}, "cursor": "not-a-cursor"})"},
      {"/api/queue/suspend", R"({})"},
      {"/api/queue/suspend", R"({"rcptDomain": "a.test", "route": "primary"})"},
      {"/api/messages", R"({"from": "a@b.test", "message": "x"})"},
      {"/api/messages", R"({"to": ["c@d.test"], "message": "x"})"},
      {"/api/messages", R"({"from": "a@b.test", "to": ["not an address"], "message": "x"})"},
      {"/api/messages", R"({"from": "a@b.test", "to": ["c@d.test"]})"},
      {"/api/messages", R"({"from": "a@b.test", "to": ["c@d.test"], "message": ""})"},
      {"/api/route/explain", R"({"sender": "a@b.test"})"},
      {"/api/route/explain", R"({"rcpt": "a@b.test", "retryNum": -1})"},
  };
  for (const auto& [path, body] : bad_posts) {
    SCOPED_TRACE(std::string(path) + " " + body);
    auto r = c.Post(path, body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_FALSE(ErrorOf(*r).empty()) << r->body;
  }
  const char* bad_gets[] = {
      "/api/queue/messages?state=bogus", "/api/queue/messages?limit=0",
      "/api/queue/messages?limit=abc",   "/api/queue/messages?limit=100000",
      "/api/queue/messages?olderThan=x", "/api/queue/messages?cursor=zz",
      "/api/queue/messages?colour=red",  "/api/queue/messages/not-an-id",
  };
  for (const char* target : bad_gets) {
    SCOPED_TRACE(target);
    auto r = c.Get(target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_FALSE(ErrorOf(*r).empty());
  }
  EXPECT_EQ(c.Send("DELETE", "/api/queue/stats", "")->status, 405);
  EXPECT_EQ(c.Get("/api/queue/hold")->status, 405);
}

TEST_F(AdminApiTest, UnknownIdsAre404) {
  auto c = Client();
  EXPECT_EQ(c.Get("/api/queue/messages/00000000000000ff")->status, 404);
  EXPECT_EQ(c.Post("/api/queue/hold", R"({"ids": ["00000000000000ff"]})")->status, 404);
  EXPECT_EQ(c.Post("/api/queue/suspend", R"({"route": "nope"})")->status, 404);
  // Some known, some not: 200 with the count.
  auto ids = Seed(1);
  auto r = c.Post("/api/queue/hold", R"({"ids": [")" + storage::FormatMessageId(ids[0]) +
                                         R"(", "00000000000000ff"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  auto d = ParseBody(*r);
  EXPECT_EQ(d["changed"].GetUint(), 1u);
  EXPECT_EQ(d["notFound"].GetUint(), 1u);
}

TEST_F(AdminApiTest, PagingOverTenThousandMessagesVisitsEachExactlyOnce) {
  auto seeded = Seed(10000);
  auto c = Client();
  std::set<std::string> seen;
  size_t visits = 0, pages = 0;
  std::string cursor;
  do {
    auto r = c.Get("/api/queue/messages?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body.substr(0, 200);
    auto d = ParseBody(*r);
    ASSERT_TRUE(d["items"].IsArray());
    EXPECT_LE(d["items"].Size(), 1000u);
    for (const auto& m : d["items"].GetArray()) {
      ++visits;
      seen.insert(m["id"].GetString());
    }
    cursor = d["cursor"].GetString();
    ASSERT_LT(++pages, 20u);
  } while (!cursor.empty());
  EXPECT_EQ(visits, 10000u);
  EXPECT_EQ(seen.size(), 10000u);
  for (uint64_t id : seeded) EXPECT_TRUE(seen.count(storage::FormatMessageId(id)));
  // A filter pages the same way.
  auto r = c.Get("/api/queue/messages?rcptDomain=EXAMPLE.test&state=scheduled&limit=7");
  EXPECT_EQ(ParseBody(*r)["items"].Size(), 7u);
  r = c.Get("/api/queue/messages?rcptDomain=other.test");
  EXPECT_EQ(ParseBody(*r)["items"].Size(), 0u);
}

TEST_F(AdminApiTest, InjectAnswersAfterTheDurableWriteAndStoresCrlf) {
  auto c = Client();
  auto r = c.Post("/api/messages",
                  R"({"from": "ops@origin.test", "to": ["a@dest.test", "b@dest.test"],)"
                  R"( "message": "Subject: hi\n\nline one\nline two"})");
  ASSERT_EQ(r->status, 200) << r->body;
  std::string id = ParseBody(*r)["id"].GetString();
  auto parsed = storage::ParseMessageId(id);
  ASSERT_TRUE(parsed);
  // 200 came after the durable write: the message is readable right away.
  std::string body;
  OnLoop([&]() {
    auto b = store->GetBody(*parsed);
    if (b.ok()) body = *b;
  });
  EXPECT_EQ(body, "Subject: hi\r\n\r\nline one\r\nline two\r\n");
  auto show = c.Get("/api/queue/messages/" + id);
  ASSERT_EQ(show->status, 200);
  auto d = ParseBody(*show);
  EXPECT_EQ(std::string(d["id"].GetString()), id);
  EXPECT_EQ(std::string(d["returnPath"].GetString()), "ops@origin.test");
  EXPECT_EQ(std::string(d["source"].GetString()), "api");
  EXPECT_TRUE(d["receivedAt"].IsString());
  EXPECT_EQ(d["size"].GetUint64(), body.size());
  ASSERT_EQ(d["recipients"].Size(), 2u);
  const auto& rc = d["recipients"][0];
  EXPECT_EQ(std::string(rc["address"].GetString()), "a@dest.test");
  for (const char* key : {"address", "state", "retryNum", "lastError", "lastReply",
                          "nextAttemptAt", "expiresAt", "queue", "attempts"}) {
    EXPECT_TRUE(rc.HasMember(key)) << key;
  }
  for (const char* key : {"code", "enhanced", "text", "host"}) {
    EXPECT_TRUE(rc["lastReply"].HasMember(key)) << key;
  }
  EXPECT_EQ(std::string(rc["queue"].GetString()), "remote");
  // Too large: 413.
  std::string big(2 << 20, 'x');
  r = c.Post("/api/messages", R"({"from": "", "to": ["a@dest.test"], "message": ")" + big + "\"}");
  EXPECT_EQ(r->status, 413) << r->body.substr(0, 200);
}

// Waits until `pred` holds for the stored message.
bool WaitFor(AdminEnv& env, uint64_t id,
             const std::function<bool(const queue::QueuedMessage&)>& pred) {
  for (int i = 0; i < 2000; ++i) {
    auto m = env.Load(id);
    if (m && pred(*m)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

bool AllFailed(const queue::QueuedMessage& m) {
  for (const auto& r : m.recipients) {
    if (r.state() != proto::STATE_FAILED) return false;
  }
  return true;
}

TEST_F(AdminApiTest, ReplayByFilterRequeuesFailedRecipientsWithRetryZeroAndHistory) {
  auto c = Client();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/api/messages", R"({"from": "", "to": ["u)" + std::to_string(i) +
                                         R"(@fail.test"], "message": "Subject: x\n\nx\n"})");
    ASSERT_EQ(r->status, 200) << r->body;
    ids.push_back(*storage::ParseMessageId(ParseBody(*r)["id"].GetString()));
  }
  for (uint64_t id : ids) ASSERT_TRUE(WaitFor(*this, id, AllFailed));
  Settle();
  // Park whatever is replayed so the agent does not fail it again while we look.
  ASSERT_EQ(c.Post("/api/queue/suspend", R"({"route": "primary"})")->status, 200);

  auto dry = c.Post("/api/queue/replay", R"({"rcptDomain": "fail.test", "dryRun": true})");
  ASSERT_EQ(dry->status, 200) << dry->body;
  auto d = ParseBody(*dry);
  EXPECT_TRUE(d["dryRun"].GetBool());
  EXPECT_EQ(d["messages"].GetUint(), 3u);
  EXPECT_EQ(d["recipients"].GetUint64(), 3u);
  for (uint64_t id : ids) EXPECT_TRUE(AllFailed(*Load(id)));  // nothing changed

  // A filter that matches nothing changes nothing.
  auto none = c.Post("/api/queue/replay", R"({"rcptDomain": "fail.test", "error": "dns"})");
  EXPECT_EQ(ParseBody(*none)["changed"].GetUint(), 0u);
  auto future = c.Post("/api/queue/replay", R"({"since": "2999-01-01T00:00:00Z"})");
  EXPECT_EQ(ParseBody(*future)["changed"].GetUint(), 0u);
  auto past = c.Post("/api/queue/replay", R"({"until": "2000-01-01T00:00:00Z"})");
  EXPECT_EQ(ParseBody(*past)["changed"].GetUint(), 0u);

  auto r = c.Post("/api/queue/replay",
                  R"({"rcptDomain": "fail.test", "error": "unexpected-reply", "since": "1h"})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ParseBody(*r)["changed"].GetUint(), 3u);
  Settle();
  for (uint64_t id : ids) {
    auto m = Load(id);
    ASSERT_TRUE(m);
    const auto& rec = m->recipients.at(0);
    EXPECT_EQ(rec.state(), proto::STATE_SCHEDULED);
    EXPECT_EQ(rec.retry_num(), 0u);
    EXPECT_EQ(rec.attempts_size(), 1);  // history kept
    EXPECT_EQ(rec.attempts(0).reply().code(), 550);
  }
}

int CountDsns(cli::AdminClient& c) {
  auto r = c.Get("/api/queue/messages?limit=1000");
  auto d = ParseBody(*r);
  int n = 0;
  for (const auto& m : d["items"].GetArray()) n += std::string(m["source"].GetString()) == "dsn";
  return n;
}

TEST_F(AdminApiTest, CancelWithoutAndWithBounce) {
  auto ids = Seed(2);
  auto c = Client();
  auto r = c.Post("/api/queue/cancel", R"({"ids": [")" + storage::FormatMessageId(ids[0]) + R"("]})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ParseBody(*r)["changed"].GetUint(), 1u);
  Settle();
  EXPECT_EQ(Load(ids[0])->recipients[0].state(), proto::STATE_CANCELLED);
  EXPECT_EQ(CountDsns(c), 0);

  r = c.Post("/api/queue/cancel",
             R"({"ids": [")" + storage::FormatMessageId(ids[1]) + R"("], "bounce": true})");
  ASSERT_EQ(r->status, 200) << r->body;
  Settle();
  EXPECT_EQ(Load(ids[1])->recipients[0].state(), proto::STATE_CANCELLED);
  EXPECT_EQ(CountDsns(c), 1);
  // Cancelled is final: a second cancel skips it.
  r = c.Post("/api/queue/cancel", R"({"ids": [")" + storage::FormatMessageId(ids[1]) + R"("]})");
  EXPECT_EQ(ParseBody(*r)["skipped"].GetUint(), 1u);
}

TEST_F(AdminApiTest, HoldSurvivesARestartAndReleaseUndoesIt) {
  auto ids = Seed(3);
  auto c = Client();
  auto r = c.Post("/api/queue/hold", R"({"filter": {"rcptDomain": "example.test"}})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ParseBody(*r)["changed"].GetUint(), 3u);
  Settle();
  OnLoop([this]() { StopAll(); });
  StartAll();  // reopens the store
  c = Client();
  auto show = c.Get("/api/queue/messages/" + storage::FormatMessageId(ids[1]));
  ASSERT_EQ(show->status, 200);
  auto d = ParseBody(*show);
  EXPECT_EQ(std::string(d["recipients"][0]["state"].GetString()), "held");
  EXPECT_TRUE(d["recipients"][0]["nextAttemptAt"].IsNull());
  auto list = c.Get("/api/queue/messages?state=held");
  EXPECT_EQ(ParseBody(*list)["items"].Size(), 3u);
  r = c.Post("/api/queue/release", R"({"filter": {"state": "held"}})");
  EXPECT_EQ(ParseBody(*r)["changed"].GetUint(), 3u);
  Settle();
  EXPECT_EQ(Load(ids[1])->recipients[0].state(), proto::STATE_SCHEDULED);
}

TEST_F(AdminApiTest, BulkOperationsRunInBatchesAndPageOnRequest) {
  Seed(1000);  // the API's batch is 300: four batches
  auto c = Client();
  auto dry = c.Post("/api/queue/hold", R"({"filter": {}, "dryRun": true})");
  EXPECT_EQ(ParseBody(*dry)["messages"].GetUint(), 1000u);
  // One page at a time, continued with the cursor (how the CLI shows progress).
  std::string cursor;
  uint32_t changed = 0;
  int pages = 0;
  do {
    auto r = c.Post("/api/queue/hold",
                    R"({"filter": {}, "maxMessages": 400, "cursor": ")" + cursor + "\"}");
    ASSERT_EQ(r->status, 200) << r->body;
    auto d = ParseBody(*r);
    changed += d["changed"].GetUint();
    cursor = d["cursor"].GetString();
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(changed, 1000u);
  EXPECT_GE(pages, 3);
  // Without maxMessages the whole selection is done in one request.
  auto r = c.Post("/api/queue/release", R"({"filter": {"state": "held"}})");
  auto d = ParseBody(*r);
  EXPECT_EQ(d["changed"].GetUint(), 1000u);
  EXPECT_EQ(d["messages"].GetUint(), 1000u);
  EXPECT_EQ(std::string(d["cursor"].GetString()), "");
  // Released recipients are due again and the scheduler may have leased some (the agent
  // keeps them in flight): retry skips those.
  r = c.Post("/api/queue/retry", R"({"filter": {}})");
  d = ParseBody(*r);
  EXPECT_EQ(d["changed"].GetUint() + d["skipped"].GetUint(), 1000u);
  EXPECT_EQ(d["messages"].GetUint(), 1000u);
}

TEST_F(AdminApiTest, SuspendResumeAndStats) {
  Seed(4, "paused.test");
  auto c = Client();
  auto r = c.Post("/api/queue/suspend", R"({"rcptDomain": "Paused.TEST"})");
  ASSERT_EQ(r->status, 200) << r->body;
  auto d = ParseBody(*r);
  ASSERT_EQ(d["suspended"].Size(), 1u);
  EXPECT_EQ(std::string(d["suspended"][0]["name"].GetString()), "paused.test");
  auto stats = c.Get("/api/queue/stats");
  ASSERT_EQ(stats->status, 200);
  d = ParseBody(*stats);
  EXPECT_EQ(d["messages"].GetInt64(), 4);
  EXPECT_EQ(d["byState"]["scheduled"].GetInt64(), 4);
  EXPECT_EQ(d["byQueue"]["remote"].GetInt64(), 4);
  EXPECT_EQ(std::string(d["topDestinations"][0]["domain"].GetString()), "paused.test");
  EXPECT_TRUE(d["oldestActiveReceivedAt"].IsString());
  EXPECT_EQ(d["suspended"].Size(), 1u);
  r = c.Post("/api/queue/resume", R"({"rcptDomain": "paused.test"})");
  EXPECT_EQ(ParseBody(*r)["suspended"].Size(), 0u);
}

TEST_F(AdminApiTest, MetricsArePrometheusText) {
  Seed(5);
  auto r = Client().Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type.rfind("text/plain", 0), 0u);
  for (const char* line : {"outpost_queue_recipients{state=\"scheduled\"} 5",
                           "outpost_queue_active_recipients{queue=\"remote\"} 5",
                           "outpost_queue_messages 5",
                           "# TYPE outpost_attempt_duration_seconds histogram",
                           "outpost_attempt_duration_seconds_bucket{le=\"+Inf\"} 0",
                           "outpost_storage_committed_batches_total "}) {
    EXPECT_NE(r->body.find(line), std::string::npos) << line << "\n" << r->body;
  }
}

TEST_F(AdminApiTest, RouteExplainUsesTheRunningConfig) {
  auto r = Client().Post("/api/route/explain", R"({"rcpt": "someone@dest.test", "retryNum": 2})");
  ASSERT_EQ(r->status, 200) << r->body;
  auto d = ParseBody(*r);
  EXPECT_EQ(std::string(d["route"]["name"].GetString()), "primary");
  EXPECT_TRUE(d.HasMember("schedule"));
  EXPECT_TRUE(d.HasMember("tls"));
}

}  // namespace
}  // namespace outpost::admin::testing
