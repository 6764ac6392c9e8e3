// The `outpost` CLI: config and route commands, in-process through RunCli (outputs and exit
// codes), plus the real binary for the process-level contract (exit status, stdout/stderr).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "router/json.h"
#include "tools/outpost/cli.h"

namespace outpost::cli {
namespace {

std::string Source(const std::string& rel) {
  const char* dir = std::getenv("OUTPOST_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/" + rel;
}

struct CliRun {
  int rc;
  std::string out;
  std::string err;
};

CliRun Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  Io io{out, err};
  int rc = RunCli(args, io);
  return {rc, out.str(), err.str()};
}

// A scratch file removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/outpost_cli_testXXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Cli, NoArgumentsIsUsage) {
  CliRun r = Cli({});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("usage:"), std::string::npos);
}

TEST(Cli, UnknownCommandIsUsage) {
  CliRun r = Cli({"frobnicate"});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(Cli, ConfigCheckOk) {
  TempFile f(R"j({"localDomains": ["example.org"]})j");
  CliRun r = Cli({"config", "check", f.path()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_EQ(r.err, "");
}

TEST(Cli, ConfigCheckPrintsEveryError) {
  TempFile f(R"j({"routes": [{"@type": "Relay", "name": "r", "address": "a", "port": 70000}],
                  "strategy": {"route": "'nowhere'"}})j");
  CliRun r = Cli({"config", "check", f.path()});
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("routes[0].port: 70000 is not a port"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("strategy.route: no route named 'nowhere'"), std::string::npos) << r.err;
}

TEST(Cli, ConfigCheckMissingFileFails) {
  CliRun r = Cli({"config", "check", "/nonexistent/outpost.json"});
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.err.find("/nonexistent/outpost.json"), std::string::npos);
}

TEST(Cli, ConfigUsageErrors) {
  EXPECT_EQ(Cli({"config"}).rc, kExitUsage);
  EXPECT_EQ(Cli({"config", "check"}).rc, kExitUsage);
  EXPECT_EQ(Cli({"config", "lint", "x"}).rc, kExitUsage);
  EXPECT_EQ(Cli({"config", "check", "x", "--bogus"}).rc, kExitUsage);
}

TEST(Cli, ImportLegacyWritesJsonAndWarnings) {
  CliRun r = Cli({"config", "import-legacy", Source("tests/router/testdata/failover.toml")});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  router::rj::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  EXPECT_STREQ(doc["routes"][0]["name"].GetString(), "fallback");
  EXPECT_STREQ(doc["strategy"]["route"]["else"].GetString(), "'mx'");
  EXPECT_NE(r.err.find("warning: remote.fallback.tls.implicit"), std::string::npos) << r.err;
}

TEST(Cli, ImportLegacySyntaxErrorFails) {
  TempFile f("[queue\n");
  CliRun r = Cli({"config", "import-legacy", f.path()});
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Cli, RouteExplainJson) {
  CliRun r = Cli({"route", "explain", "--config", Source("examples/failover.json"), "--rcpt",
               "bob@remote.net", "--retry-num", "2", "--json"});
  ASSERT_EQ(r.rc, kExitOk) << r.err;
  router::rj::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  EXPECT_STREQ(doc["route"]["name"].GetString(), "fallback");
  EXPECT_EQ(doc["route"]["rule"].GetInt(), 1);
  EXPECT_EQ(doc["route"]["variables"]["retry_num"].GetInt(), 2);
  EXPECT_STREQ(doc["schedule"]["name"].GetString(), "remote");
  EXPECT_STREQ(doc["connection"]["rule"].GetString(), "else");
  EXPECT_STREQ(doc["tls"]["name"].GetString(), "default");
}

TEST(Cli, RouteExplainTextAndOptions) {
  CliRun r = Cli({"route", "explain", "--config=" + Source("examples/strategies.json"),
               "--rcpt", "Bob@Remote.NET", "--sender", "a@b.c", "--retry-num", "1",
               "--last-error", "tls", "--source", "dsn"});
  ASSERT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_NE(r.out.find("route:      mx  (else)  with rcpt_domain='remote.net'"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("schedule:   dsn  (rule 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tls:        invalid-tls  (rule 0)"), std::string::npos) << r.out;
}

TEST(Cli, RouteExplainLocalDomain) {
  CliRun r = Cli({"route", "explain", "--config", Source("examples/lmtp.json"), "--rcpt",
               "user@example.org", "--json"});
  ASSERT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_NE(r.out.find("\"name\": \"lmtp\""), std::string::npos) << r.out;
}

TEST(Cli, RouteExplainUsageErrors) {
  std::string cfg = Source("examples/local.json");
  EXPECT_EQ(Cli({"route", "explain", "--config", cfg}).rc, kExitUsage);  // no --rcpt
  EXPECT_EQ(Cli({"route", "explain", "--config", cfg, "--rcpt"}).rc, kExitUsage);
  EXPECT_EQ(Cli({"route", "explain", "--config", cfg, "--rcpt", "a@b", "--retry-num", "x"}).rc,
            kExitUsage);
  EXPECT_EQ(Cli({"route", "explian", "--config", cfg, "--rcpt", "a@b"}).rc, kExitUsage);
  EXPECT_EQ(Cli({"route", "explain", "--config", cfg, "--rcpt", "a@b", "--colour"}).rc, kExitUsage);
}

TEST(Cli, RouteExplainFailsOnBadConfigOrUnknownComputedName) {
  TempFile bad(R"j({"strategy": {"route": "'nowhere'"}})j");
  CliRun r = Cli({"route", "explain", "--config", bad.path(), "--rcpt", "a@b.c"});
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.err.find("no route named 'nowhere'"), std::string::npos);
  TempFile computed(R"j({"strategy": {"route": "'relay-' + rcpt_domain"}})j");
  CliRun c = Cli({"route", "explain", "--config", computed.path(), "--rcpt", "a@b.c", "--json"});
  EXPECT_EQ(c.rc, kExitFailure);
  EXPECT_NE(c.out.find("returned 'relay-b.c'"), std::string::npos) << c.out;
}

// The real binary: exit statuses and streams as a shell sees them.
CliRun Exec(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  EXPECT_EQ(pipe(out_pipe), 0);
  EXPECT_EQ(pipe(err_pipe), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    std::vector<char*> argv;
    std::string bin = OUTPOST_CLI_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  auto drain = [](int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, n);
    close(fd);
    return s;
  };
  // Output is small (well under a pipe buffer), so reading one pipe after the other is safe.
  std::string out = drain(out_pipe[0]);
  std::string err = drain(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

TEST(CliBinary, ExitStatusesAndStreams) {
  TempFile good(R"j({})j");
  CliRun ok = Exec({"config", "check", good.path()});
  EXPECT_EQ(ok.rc, 0);
  EXPECT_EQ(ok.out, "ok\n");
  TempFile bad(R"j({"queue": {"mxConcurrency": 0}})j");
  CliRun fail = Exec({"config", "check", bad.path()});
  EXPECT_EQ(fail.rc, 1);
  EXPECT_NE(fail.err.find("queue.mxConcurrency"), std::string::npos) << fail.err;
  EXPECT_EQ(Exec({"route"}).rc, 2);
  CliRun explain = Exec({"route", "explain", "--config", Source("examples/local.json"), "--rcpt",
                      "a@example.org", "--json"});
  EXPECT_EQ(explain.rc, 0) << explain.err;
  EXPECT_NE(explain.out.find("\"name\": \"local\""), std::string::npos);
}

}  // namespace
}  // namespace outpost::cli
