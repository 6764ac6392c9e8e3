// Pure parts of the admin API and its client: request parsing, the bearer check, the
// Prometheus rendering and the HTTP answer parser.
#include <gtest/gtest.h>

#include "common/utf8.h"

#include "queue/record_filter.h"
#include "tools/admin/bearer_auth.h"
#include "tools/admin/metrics_text.h"
#include "tools/admin/queue_json.h"
#include "tools/admin/request_parse.h"
#include "tools/outpost/admin_client.h"

namespace outpost::admin {
namespace {

TEST(ParseRfc3339, AcceptsUtcOffsetsAndFractions) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2026-01-01T00:00:00Z"), 1767225600000);
  EXPECT_EQ(*ParseRfc3339("2026-01-01T02:00:00.250+02:00"), 1767225600250);
  EXPECT_EQ(*ParseRfc3339("2025-12-31T19:00:00-05:00"), 1767225600000);
}

TEST(ParseRfc3339, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026-01-01", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-01-01T00:00:00", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00Zjunk",
                          "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+2:00"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(ParseTimeArg, ADurationMeansThatLongAgo) {
  EXPECT_EQ(*ParseTimeArg("2h", 10'000'000), 10'000'000 - 7'200'000);
  EXPECT_EQ(*ParseTimeArg("1970-01-01T00:00:01Z", 5), 1000);
  EXPECT_FALSE(ParseTimeArg("later", 5).ok());
}

TEST(ParseFilterFields, MapsEveryFieldAndRejectsUnknownOnes) {
  auto spec = ParseFilterFields({{"state", "failed"},
                                 {"rcptDomain", "example.org"},
                                 {"sender", ""},
                                 {"queue", "remote"},
                                 {"olderThan", "1h"},
                                 {"error", "dns"},
                                 {"since", "2h"},
                                 {"until", "3600000"}},
                                10'000'000);
  ASSERT_FALSE(spec.ok());  // "until" takes a time, not integer milliseconds
  spec = ParseFilterFields({{"state", "failed"},
                            {"rcptDomain", "example.org"},
                            {"sender", ""},
                            {"queue", "remote"},
                            {"olderThan", "1h"},
                            {"error", "dns"},
                            {"since", "2h"},
                            {"until", "1h"}},
                           10'000'000);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->filter.state, queue::RecipientState::kFailed);
  EXPECT_EQ(spec->filter.rcpt_domain, "example.org");
  EXPECT_EQ(spec->filter.sender, std::optional<std::string>(""));
  EXPECT_EQ(spec->filter.virtual_queue, "remote");
  EXPECT_EQ(spec->filter.received_before_unix_ms, 10'000'000 - 3'600'000);
  EXPECT_EQ(spec->filter.error_class, "dns");
  EXPECT_EQ(spec->filter.failed_since_unix_ms, 10'000'000 - 7'200'000);
  EXPECT_EQ(spec->filter.failed_until_unix_ms, 10'000'000 - 3'600'000);
  auto bad = ParseFilterFields({{"domain", "x"}}, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown filter field 'domain'"), std::string::npos);
  EXPECT_FALSE(ParseFilterFields({{"state", "lost"}}, 0).ok());
  EXPECT_TRUE(ParseFilterFields({{"olderThan", "60000"}}, 100000).ok());
}

// replay --since/--until bound each recipient's failure time (not the message's): in a
// message whose recipients failed at different times only those inside the window match.
TEST(ParseFilterFields, SinceAndUntilSelectRecipientsByTheirFailureTime) {
  auto spec = ParseFilterFields({{"since", "3h"}, {"until", "1h"}}, 10'000'000);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto failed_at = [](int64_t t) {
    proto::RecipientRecord r;
    r.set_state(proto::STATE_FAILED);
    r.set_failed_unix_ms(t);
    return r;
  };
  EXPECT_TRUE(queue::RecipientMatches(spec->filter, failed_at(10'000'000 - 2 * 3'600'000)));
  EXPECT_TRUE(queue::RecipientMatches(spec->filter, failed_at(10'000'000 - 3'600'000)));
  EXPECT_FALSE(queue::RecipientMatches(spec->filter, failed_at(10'000'000 - 1'800'000)));
  EXPECT_FALSE(queue::RecipientMatches(spec->filter, failed_at(10'000'000 - 4 * 3'600'000)));
  EXPECT_FALSE(queue::RecipientMatches(spec->filter, failed_at(0)));  // never failed
}

TEST(ToCrlf, NormalisesEveryLineEnding) {
  EXPECT_EQ(ToCrlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
  EXPECT_EQ(ToCrlf("\n\n"), "\r\n\r\n");
  EXPECT_EQ(ToCrlf("no newline"), "no newline");
}

TEST(CheckAddress, RefusesWhatCannotBeAnEnvelopeAddress) {
  EXPECT_TRUE(CheckAddress("a@b.test", false).ok());
  EXPECT_TRUE(CheckAddress("", true).ok());
  for (const char* bad : {"", "a", "@b.test", "a@", "a b@c.test", "<a@b.test>", "a@b\r\n.test"}) {
    EXPECT_FALSE(CheckAddress(bad, false).ok()) << bad;
  }
}

TEST(ParseIds, SixteenHexDigitsEach) {
  auto doc = ParseJsonObject(R"({"ids": ["00000000000000ff", "0123456789abcdef"]})");
  ASSERT_TRUE(doc.ok());
  auto ids = ParseIds((**doc)["ids"]);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((*ids)[0], 0xffu);
  EXPECT_FALSE(ParseId("ff").ok());
  EXPECT_FALSE(ParseId("000000000000000g").ok());
}

TEST(ParseJsonObject, ErrorsSayWhere) {
  auto bad = ParseJsonObject("{\"a\": ");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset"), std::string::npos);
  EXPECT_FALSE(ParseJsonObject("[]").ok());
  EXPECT_FALSE(ParseJsonObject("").ok());
}

TEST(BearerMatches, OnlyTheExactToken) {
  EXPECT_TRUE(BearerMatches("Bearer abc", "abc"));
  EXPECT_TRUE(BearerMatches("bearer abc", "abc"));
  EXPECT_FALSE(BearerMatches("Bearer abcd", "abc"));
  EXPECT_FALSE(BearerMatches("Bearer ab", "abc"));
  EXPECT_FALSE(BearerMatches("Basic abc", "abc"));
  EXPECT_FALSE(BearerMatches("abc", "abc"));
  EXPECT_FALSE(BearerMatches("", "abc"));
  EXPECT_FALSE(BearerMatches("Bearer ", ""));  // no token configured: nobody
  EXPECT_FALSE(BearerMatches("", ""));
}

TEST(RenderPrometheus, CumulativeHistogramAndEscapedLabels) {
  MetricsSnapshot m;
  queue::QueueStats q;
  q.messages = 3;
  q.by_state["failed"] = 2;
  q.by_queue["re\"mote"] = 1;
  m.queue = q;
  m.scheduler.deliveries[{"sent", "mx"}] = 7;
  m.scheduler.attempt_latency_buckets[0] = 2;  // <= 50 ms
  m.scheduler.attempt_latency_buckets[3] = 1;  // <= 500 ms
  m.scheduler.attempt_latency_buckets.back() = 1;
  m.scheduler.attempts = 4;
  m.scheduler.attempt_latency_sum_ms = 70500;
  m.storage.synced_writes = 2;
  m.storage.committed_batches = 6;
  m.scheduler.attempt_errors["dns"] = 3;
  m.scheduler.attempt_errors["connection"] = 1;
  m.scheduler.destinations_down = 2;
  m.scheduler.deferred_destination_down = 300;
  m.storage.sync_latency.buckets[1] = 1;      // <= 500 us
  m.storage.sync_latency.buckets.back() = 1;  // > 1 s
  m.storage.sync_latency.sum_us = 1'500'400;
  m.storage.sync_latency.count = 2;
  std::string text = RenderPrometheus(m);
  for (const char* line : {"outpost_queue_recipients{state=\"failed\"} 2\n",
                           "outpost_queue_recipients{state=\"held\"} 0\n",
                           "outpost_queue_active_recipients{queue=\"re\\\"mote\"} 1\n",
                           "outpost_deliveries_total{status=\"sent\",route=\"mx\"} 7\n",
                           "outpost_attempt_duration_seconds_bucket{le=\"0.05\"} 2\n",
                           "outpost_attempt_duration_seconds_bucket{le=\"0.25\"} 2\n",
                           "outpost_attempt_duration_seconds_bucket{le=\"0.5\"} 3\n",
                           "outpost_attempt_duration_seconds_bucket{le=\"60\"} 3\n",
                           "outpost_attempt_duration_seconds_bucket{le=\"+Inf\"} 4\n",
                           "outpost_attempt_duration_seconds_sum 70.5\n",
                           "outpost_attempt_duration_seconds_count 4\n",
                           "outpost_storage_group_commit_batch_size_mean 3\n",
                           "outpost_queue_store_read_ok 1\n",
                           "outpost_attempt_errors_total{class=\"dns\"} 3\n",
                           "outpost_attempt_errors_total{class=\"connection\"} 1\n",
                           "outpost_destinations_down 2\n",
                           "outpost_deferred_destination_down_total 300\n",
                           "outpost_storage_sync_write_duration_seconds_bucket{le=\"0.00025\"} 0\n",
                           "outpost_storage_sync_write_duration_seconds_bucket{le=\"0.0005\"} 1\n",
                           "outpost_storage_sync_write_duration_seconds_bucket{le=\"1\"} 1\n",
                           "outpost_storage_sync_write_duration_seconds_bucket{le=\"+Inf\"} 2\n",
                           "outpost_storage_sync_write_duration_seconds_sum 1.5004\n",
                           "outpost_storage_sync_write_duration_seconds_count 2\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  m.queue.reset();
  EXPECT_NE(RenderPrometheus(m).find("outpost_queue_store_read_ok 0\n"), std::string::npos);
}

TEST(QueueJson, MessageShapeAndNullTimes) {
  queue::QueuedMessage qm;
  qm.message.set_id(0x1234);
  qm.message.set_return_path("");
  qm.message.set_size_bytes(10);
  qm.message.set_received_unix_ms(1767225600000);
  qm.message.set_source(proto::SOURCE_DSN);
  proto::RecipientRecord r;
  r.set_idx(0);
  r.set_address("a@b.test");
  r.set_state(proto::STATE_FAILED);
  r.set_retry_num(2);
  r.set_last_error("unexpected-reply");
  r.mutable_last_reply()->set_code(550);
  r.set_next_attempt_unix_ms(1767225600000);  // not pending: printed as null
  auto* a = r.add_attempts();
  a->set_at_unix_ms(1767225600000);
  a->set_route("mx");
  a->mutable_reply()->set_code(550);
  a->mutable_reply()->set_enhanced("5.1.1");
  a->mutable_reply()->set_text("no such user");
  a->set_duration_ms(12);
  qm.recipients.push_back(r);
  EXPECT_EQ(MessageToJson(qm),
            R"({"id":"0000000000001234","returnPath":"","size":10,"receivedAt":"2026-01-01T00:00:00Z",)"
            R"("source":"dsn","recipients":[{"address":"a@b.test","state":"failed","retryNum":2,)"
            R"("lastError":"unexpected-reply","lastReply":{"code":550,"enhanced":"","text":"","host":""},)"
            R"("nextAttemptAt":null,"expiresAt":null,"queue":"","attempts":[{"at":"2026-01-01T00:00:00Z",)"
            R"("route":"mx","host":"","ip":"","reply":"550 5.1.1 no such user","durationMs":12}]}]})");
}

// Stored text may hold any bytes (a peer's reply, an 8-bit address): the JSON must stay
// valid UTF-8 for strict parsers, with the bad bytes visible as U+FFFD.
TEST(QueueJson, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  queue::QueuedMessage qm;
  qm.message.set_id(1);
  qm.message.set_return_path(std::string("s\xe9@old.test", 11));  // Latin-1, not UTF-8
  proto::RecipientRecord r;
  r.set_address("caf\xc3\xa9@b.test");  // valid UTF-8 is kept as it is
  r.mutable_last_reply()->set_code(450);
  // Stray byte, an overlong '/', a surrogate, a cut-off sequence and a NUL.
  r.mutable_last_reply()->set_text(std::string("busy \xff \xc0\xaf \xed\xa0\x80 \xe2\x82\0x", 18));
  qm.recipients.push_back(r);
  std::string json = MessageToJson(qm);
  EXPECT_TRUE(IsValidUtf8(json)) << json;
  rj::Document d;
  d.Parse<rj::kParseValidateEncodingFlag>(json.data(), json.size());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_EQ(std::string(d["returnPath"].GetString()), "s\xef\xbf\xbd@old.test");
  const auto& rcpt = d["recipients"][0];
  EXPECT_EQ(std::string(rcpt["address"].GetString()), "caf\xc3\xa9@b.test");
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(std::string(rcpt["lastReply"]["text"].GetString(),
                        rcpt["lastReply"]["text"].GetStringLength()),
            "busy " + fffd + " " + fffd + fffd + " " + fffd + fffd + fffd + " " + fffd + fffd +
                std::string("\0x", 2));
}

TEST(ParseHttpResponse, ContentLengthAndErrors) {
  auto r = cli::ParseHttpResponse(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}xx");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_FALSE(cli::ParseHttpResponse("garbage").ok());
  EXPECT_FALSE(cli::ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").ok());
  EXPECT_FALSE(cli::ParseHttpResponse("HTTP/1.1 2x0 OK\r\n\r\n").ok());
}

TEST(AdminClient, UrlsAreCheckedAndUnreachableDaemonsSaySo) {
  EXPECT_FALSE(cli::AdminClient::Create("ftp://x", "").ok());
  EXPECT_FALSE(cli::AdminClient::Create("http://host:notaport", "").ok());
  EXPECT_FALSE(cli::AdminClient::Create("http://host:1/path", "").ok());
  EXPECT_TRUE(cli::AdminClient::Create("http://[::1]:8025/", "").ok());
  // Port 1 on loopback: nothing listens there in the test environment.
  auto c = cli::AdminClient::Create("http://127.0.0.1:1", "t");
  ASSERT_TRUE(c.ok());
  auto r = c->Get("/api/queue/stats");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot reach outpostd at http://127.0.0.1:1"),
            std::string::npos);
  EXPECT_NE(r.status().message().find("--data-dir"), std::string::npos);
}

}  // namespace
}  // namespace outpost::admin
