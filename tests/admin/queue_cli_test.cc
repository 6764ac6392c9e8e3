// The `outpost queue`, `inject` and `passwd` commands run in-process (RunCli with captured
// streams) against the in-process admin server of admin_test_env.h, and offline on a closed
// store (--data-dir).
#include <stdlib.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "router/json.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/admin/admin_test_env.h"
#include "tools/outpost/cli.h"
#include "transport/server/password_hash.h"

namespace outpost::admin::testing {
namespace {

namespace rj = ::outpost::router::rj;

struct CliRun {
  int rc = -1;
  std::string out, err;
};

class QueueCliTest : public AdminEnv {
 protected:
  void SetUp() override {
    unsetenv("OUTPOST_ADMIN_URL");
    unsetenv("OUTPOST_ADMIN_TOKEN");
    StartAll();
  }

  // Runs `outpost <args...>` with the admin URL and token appended as flags.
  CliRun Cli(std::vector<std::string> args, bool with_server_flags = true) {
    if (with_server_flags) {
      args.insert(args.end(), {"--admin-url", url, "--token", kToken});
    }
    std::ostringstream out, err;
    cli::Io io{out, err};
    CliRun r;
    r.rc = cli::RunCli(args, io);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  std::string Inject(const std::string& to) {
    auto r = Client().Post("/api/messages", R"({"from": "ops@origin.test", "to": [")" + to +
                                                R"("], "message": "Subject: t\n\nbody\n"})");
    EXPECT_EQ(r->status, 200) << r->body;
    rj::Document d;
    d.Parse(r->body.c_str());
    return d["id"].GetString();
  }
};

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_F(QueueCliTest, ListPrintsATableOrTheApiJson) {
  auto ids = Seed(3);
  CliRun r = Cli({"queue", "list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "ID")) << r.out;
  for (const char* col : {"AGE", "SENDER", "RECIPIENT", "STATE", "RETRY", "LAST_ERROR", "NEXT"}) {
    EXPECT_TRUE(Has(r.out, col)) << col;
  }
  for (uint64_t id : ids) EXPECT_TRUE(Has(r.out, storage::FormatMessageId(id)));
  EXPECT_TRUE(Has(r.out, "user2@example.test"));
  EXPECT_TRUE(Has(r.out, "scheduled"));
  EXPECT_TRUE(Has(r.out, "in 23h"));  // next attempt in a day (minus a moment)

  r = Cli({"queue", "list", "--json", "--limit", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  rj::Document d;
  d.Parse(r.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.out;
  EXPECT_EQ(d["items"].Size(), 2u);
  std::string cursor = d["cursor"].GetString();
  ASSERT_FALSE(cursor.empty());
  r = Cli({"queue", "list", "--json", "--limit", "2", "--cursor", cursor});
  d.Parse(r.out.c_str());
  EXPECT_EQ(d["items"].Size(), 1u);
  // Human paging says how to continue.
  r = Cli({"queue", "list", "--limit", "1"});
  EXPECT_TRUE(Has(r.out, "more: add --cursor ")) << r.out;
  r = Cli({"queue", "list", "--status", "failed"});
  EXPECT_TRUE(Has(r.out, "no messages match")) << r.out;
}

TEST_F(QueueCliTest, TheEnvironmentNamesTheDaemon) {
  Seed(1);
  setenv("OUTPOST_ADMIN_URL", url.c_str(), 1);
  setenv("OUTPOST_ADMIN_TOKEN", kToken, 1);
  CliRun r = Cli({"queue", "stats"}, /*with_server_flags=*/false);
  unsetenv("OUTPOST_ADMIN_URL");
  unsetenv("OUTPOST_ADMIN_TOKEN");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "messages: 1"));
  EXPECT_TRUE(Has(r.out, "example.test"));
  EXPECT_TRUE(Has(r.out, "suspended: none"));
}

TEST_F(QueueCliTest, ShowJsonIsExactlyTheApiDocumentAndTextHasTheHistory) {
  std::string id = Inject("someone@fail.test");
  for (int i = 0; i < 2000; ++i) {
    auto m = Load(*storage::ParseMessageId(id));
    if (m && m->recipients[0].state() == proto::STATE_FAILED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Settle();
  CliRun r = Cli({"queue", "show", id, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto api = Client().Get("/api/queue/messages/" + id);
  EXPECT_EQ(r.out, api->body);

  r = Cli({"queue", "show", id});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* needle :
       {"return path: <ops@origin.test>", "source:      api", "someone@fail.test",
        "state: failed", "retry_num: 1", "last_error: unexpected-reply",
        "last reply: 550 5.1.1 no such user (mx.peer.test)", "next attempt: -", "attempts:",
        "route=primary", "host=mx.peer.test", "ip=127.0.0.2",
        "reply=\"550 5.1.1 no such user\""}) {
    EXPECT_TRUE(Has(r.out, needle)) << needle << "\n" << r.out;
  }
}

TEST_F(QueueCliTest, BulkCommandsShowProgressAndSummaries) {
  Seed(2500);  // three pages of 1000
  CliRun r = Cli({"queue", "hold", "--all", "--progress"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "hold: 1000/2500 messages")) << r.err;
  EXPECT_TRUE(Has(r.err, "hold: 2500/2500 messages")) << r.err;
  EXPECT_TRUE(Has(r.out, "hold: 2500 recipients changed in 2500 messages")) << r.out;
  // Not a terminal and no --progress: quiet, one request.
  r = Cli({"queue", "release", "--status", "held", "--rcpt-domain", "example.test"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(Has(r.out, "release: 2500 recipients changed")) << r.out;
  // --json: the API's counts.
  r = Cli({"queue", "hold", "--all", "--json", "--progress"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");  // --json is quiet
  rj::Document d;
  d.Parse(r.out.c_str());
  // Released recipients are due again: the scheduler may have some in flight already
  // (hold applies to those when their attempt ends).
  EXPECT_EQ(d["changed"].GetUint() + d["inFlight"].GetUint(), 2500u);
  r = Cli({"queue", "cancel", "--all", "--dry-run"});
  EXPECT_TRUE(Has(r.out, "would select 2500 recipients in 2500 messages")) << r.out;
}

TEST_F(QueueCliTest, ReplayDryRunThenReplay) {
  std::string id = Inject("x@fail.test");
  for (int i = 0; i < 2000; ++i) {
    auto m = Load(*storage::ParseMessageId(id));
    if (m && m->recipients[0].state() == proto::STATE_FAILED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Settle();
  ASSERT_EQ(Cli({"queue", "suspend", "--route", "primary"}).rc, 0);
  CliRun r = Cli({"queue", "replay", "--rcpt-domain", "fail.test", "--error", "unexpected-reply",
               "--since", "1h", "--dry-run"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "would select 1 recipients in 1 messages")) << r.out;
  r = Cli({"queue", "replay", id});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "replay: 1 recipients changed in 1 messages")) << r.out;
  Settle();
  auto m = Load(*storage::ParseMessageId(id));
  EXPECT_EQ(m->recipients[0].state(), proto::STATE_SCHEDULED);
  EXPECT_EQ(m->recipients[0].retry_num(), 0u);
}

TEST_F(QueueCliTest, SuspendAndResume) {
  CliRun r = Cli({"queue", "suspend", "--rcpt-domain", "slow.test"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "domain slow.test")) << r.out;
  r = Cli({"queue", "resume", "--rcpt-domain", "slow.test", "--json"});
  EXPECT_EQ(r.out, "{\"suspended\":[]}\n");
  EXPECT_EQ(Cli({"queue", "suspend"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "suspend", "--route", "a", "--rcpt-domain", "b"}).rc, 2);
}

TEST_F(QueueCliTest, ExitStatusesAndErrorMessages) {
  EXPECT_EQ(Cli({"queue"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "frobnicate"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "list", "--no-such-option"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "show"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "show", "xyz"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "hold"}).rc, 2);  // no selection
  EXPECT_EQ(Cli({"queue", "hold", "0000000000000001", "--all"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "retry", "--all", "--bounce"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "replay", "--status", "held"}).rc, 2);
  EXPECT_EQ(Cli({"queue", "--help"}).rc, 0);
  // The server refuses a bad filter value: a usage error, with its message.
  CliRun r = Cli({"queue", "list", "--status", "bogus"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(Has(r.err, "'bogus' is not one of")) << r.err;
  r = Cli({"queue", "show", "00000000000000ff"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "HTTP 404: no message 00000000000000ff")) << r.err;
  r = Cli({"queue", "stats", "--admin-url", url, "--token", "wrong"}, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "HTTP 401")) << r.err;
  EXPECT_TRUE(Has(r.err, "OUTPOST_ADMIN_TOKEN")) << r.err;
  r = Cli({"queue", "stats", "--admin-url", "http://127.0.0.1:1", "--token", kToken}, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "cannot reach outpostd at http://127.0.0.1:1")) << r.err;
  EXPECT_TRUE(Has(r.err, "use --data-dir to read the store offline")) << r.err;
  EXPECT_EQ(Cli({"queue", "hold", "--all", "--data-dir", "/nonexistent"}, false).rc, 2);
}

TEST_F(QueueCliTest, OfflineReadsAClosedStore) {
  auto ids = Seed(2);
  const std::string id = storage::FormatMessageId(ids[0]);
  const std::string online = Client().Get("/api/queue/messages/" + id)->body;
  OnLoop([this]() { StopAll(); });
  const std::string db = dir_ + "/db";
  CliRun r = Cli({"queue", "show", id, "--json", "--data-dir", db}, false);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, online);
  r = Cli({"queue", "list", "--data-dir", db, "--rcpt-domain", "example.test"}, false);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, id));
  EXPECT_TRUE(Has(r.out, storage::FormatMessageId(ids[1])));
  r = Cli({"queue", "stats", "--data-dir", db}, false);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "messages: 2")) << r.out;
  EXPECT_FALSE(Has(r.out, "suspended"));  // unknown offline
  r = Cli({"queue", "show", "00000000000000ff", "--data-dir", db}, false);
  EXPECT_EQ(r.rc, 1);
  r = Cli({"queue", "list", "--data-dir", dir_ + "/missing"}, false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "cannot open the store")) << r.err;
}

// `outpost queue check`: the consistency checker over a read-only view, also while the store
// is open read-write; a store with a record missing is reported and exits 1.
TEST_F(QueueCliTest, CheckReportsConsistencyAndExitsNonZeroOnProblems) {
  auto ids = Seed(2);
  const std::string db = dir_ + "/db";
  CliRun r = Cli({"queue", "check", "--data-dir", db}, false);  // the store is live
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "consistent: 2 messages, 2 recipients, 2 bodies")) << r.out;
  OnLoop([this]() { StopAll(); });
  {
    storage::StoreOptions o;
    o.path = db;
    auto store = storage::Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    storage::WriteBatch b;
    b.Delete(storage::Cf::kBodies, storage::MessageKey(ids[0]));
    ASSERT_TRUE((*store)->CommitAndWait(std::move(b)).ok());
  }
  r = Cli({"queue", "check", "--data-dir", db}, false);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_TRUE(Has(r.out, "INCONSISTENT: 2 messages, 2 recipients, 1 bodies")) << r.out;
  EXPECT_TRUE(Has(r.out, storage::FormatMessageId(ids[0]))) << r.out;
  r = Cli({"queue", "check", "--data-dir", db, "--json"}, false);
  EXPECT_EQ(r.rc, 1);
  rj::Document d;
  d.Parse(r.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.out;
  EXPECT_FALSE(d["ok"].GetBool());
  EXPECT_EQ(d["bodies"].GetUint64(), 1u);
  EXPECT_GE(d["problemCount"].GetUint64(), 1u);
  EXPECT_EQ(d["problems"].Size(), d["problemCount"].GetUint64());
  r = Cli({"queue", "check", "--data-dir", dir_ + "/missing"}, false);
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(Has(r.err, "cannot open the store")) << r.err;
  EXPECT_EQ(Cli({"queue", "check"}, false).rc, 2);  // --data-dir is required
}

TEST_F(QueueCliTest, InjectFromAFileWithLfLineEndings) {
  const std::string file = dir_ + "/msg.eml";
  std::ofstream(file) << "Subject: from a file\n\nline\n";
  CliRun r = Cli({"inject", "--from", "ops@origin.test", "--to", "a@dest.test", "--to=b@dest.test",
               file});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(Has(r.out, "queued as ")) << r.out;
  std::string id = r.out.substr(std::string("queued as ").size(), 16);
  auto m = Load(*storage::ParseMessageId(id));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->recipients.size(), 2u);
  EXPECT_EQ(m->message.source(), proto::SOURCE_API);
  EXPECT_EQ(Cli({"inject", "--to", "a@dest.test", file}).rc, 2);          // no --from
  EXPECT_EQ(Cli({"inject", "--from", "a@b.test", file}).rc, 2);           // no --to
  EXPECT_EQ(Cli({"inject", "--from", "a@b.test", "--to", "bad", file}).rc, 2);  // server 400
  EXPECT_EQ(Cli({"inject", "--from", "a@b.test", "--to", "c@d.test", dir_ + "/none"}).rc, 1);
}

TEST(PasswdCli, HashesAPasswordReadFromStdin) {
  std::istringstream in("correct horse\n");
  auto* saved = std::cin.rdbuf(in.rdbuf());
  std::ostringstream out, err;
  cli::Io io{out, err};
  std::vector<std::string> args = {"passwd", "--iterations", "1000"};
  int rc = cli::RunCli(args, io);
  std::cin.rdbuf(saved);
  ASSERT_EQ(rc, 0) << err.str();
  std::string hash = out.str();
  ASSERT_FALSE(hash.empty());
  hash.pop_back();  // newline
  EXPECT_EQ(hash.rfind("$pbkdf2-sha256$1000$", 0), 0u) << hash;
  EXPECT_TRUE(*smtp_server::VerifyPassword("correct horse", hash));
  EXPECT_FALSE(*smtp_server::VerifyPassword("wrong", hash));

  std::istringstream empty("");
  saved = std::cin.rdbuf(empty.rdbuf());
  rc = cli::RunCli(args, io);
  std::cin.rdbuf(saved);
  EXPECT_EQ(rc, 1);
  std::vector<std::string> bad = {"passwd", "extra"};
  EXPECT_EQ(cli::RunCli(bad, io), 2);
}

}  // namespace
}  // namespace outpost::admin::testing
