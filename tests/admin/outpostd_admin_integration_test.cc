// The real `outpostd` driven by the real `outpost` binary over loopback: inject, show, hold,
// list, stats, metrics, then SIGTERM and the offline view of the same store. Processes are
// started by the test and stopped by PID.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tools/outpost/admin_client.h"

namespace {

constexpr const char* kToken = "integration-token";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port that was free a moment ago (the config refuses port 0): bound then released.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Result {
  int rc = -1;
  std::string out, err;
};

class OutpostdAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/outpost-admin-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/outpost.json") << R"cfg({
      "server": {"hostname": "mta.outpost.test", "dataDir": ")cfg" << dir_ << R"cfg(/data"},
      "listeners": [{"name": "smtp", "bind": "127.0.0.1:)cfg" << FreePort() << R"cfg(", "relayNetworks": ["127.0.0.0/8"]}],
      "admin": {"bind": "127.0.0.1:)cfg" << FreePort() << R"cfg(", "token": {"@type": "Value", "secret": ")cfg" << kToken << R"cfg("}},
      "localDomains": ["local.test"],
      "local": {"maildirRoot": ")cfg" << dir_ << R"cfg(/mail", "users": null},
      "queue": {"minFreeSpace": 0},
      "routes": [{"@type": "Local", "name": "local"},
                 {"@type": "Relay", "name": "dead", "address": "127.0.0.1", "port": 1}],
      "strategy": {"route": {"match": [{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}],
                             "else": "'dead'"}}
    })cfg";
  }
  void TearDown() override {
    StopDaemon();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartDaemon() {
    const std::string log = dir_ + "/outpostd.log";
    daemon_pid_ = fork();
    ASSERT_GE(daemon_pid_, 0);
    if (daemon_pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      const std::string config = dir_ + "/outpost.json";
      execl(OUTPOSTD_PATH, "outpostd", "--config", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // The admin port is in the log line "admin.started ... port=N".
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      std::string text = ReadFile(log);
      size_t at = text.find("admin.started");
      if (at != std::string::npos) {
        size_t p = text.find("port=", at);
        if (p != std::string::npos) port_ = std::atoi(text.c_str() + p + 5);
      }
      int status = 0;
      if (port_ == 0 && waitpid(daemon_pid_, &status, WNOHANG) == daemon_pid_) {
        daemon_pid_ = -1;
        FAIL() << "outpostd exited:\n" << text;
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_NE(port_, 0) << ReadFile(log);
    url_ = "http://127.0.0.1:" + std::to_string(port_);
  }

  // SIGTERM, then waits for a clean exit. Returns the exit status.
  int StopDaemon() {
    if (daemon_pid_ <= 0) return -1;
    kill(daemon_pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1500; ++i) {
      if (waitpid(daemon_pid_, &status, WNOHANG) == daemon_pid_) {
        daemon_pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(daemon_pid_, SIGKILL);
    waitpid(daemon_pid_, &status, 0);
    daemon_pid_ = -1;
    return -1;
  }

  // Runs the real `outpost` binary with the admin URL/token in its environment.
  Result Outpost(std::vector<std::string> args, const std::string& stdin_file = "/dev/null") {
    const std::string out = dir_ + "/cli.out", err = dir_ + "/cli.err";
    pid_t pid = fork();
    if (pid == 0) {
      int in = open(stdin_file.c_str(), O_RDONLY);
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0);
      dup2(o, 1);
      dup2(e, 2);
      setenv("OUTPOST_ADMIN_URL", url_.c_str(), 1);
      setenv("OUTPOST_ADMIN_TOKEN", kToken, 1);
      std::vector<char*> argv = {const_cast<char*>("outpost")};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(OUTPOST_PATH, argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  std::string dir_;
  pid_t daemon_pid_ = -1;
  int port_ = 0;
  std::string url_;
};

TEST_F(OutpostdAdminTest, TheCliDrivesTheRealDaemon) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::ofstream(dir_ + "/msg.eml") << "Subject: integration\n\nhello\n";
  Result r = Outpost({"inject", "--from", "ops@origin.test", "--to", "someone@remote.test",
                      dir_ + "/msg.eml"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(r.out.rfind("queued as ", 0), 0u) << r.out;
  const std::string id = r.out.substr(10, 16);

  // The relay route points at a closed port: the first attempt defers with 'connection'.
  bool deferred = false;
  for (int i = 0; i < 500 && !deferred; ++i) {
    r = Outpost({"queue", "show", id, "--json"});
    ASSERT_EQ(r.rc, 0) << r.err;
    deferred = r.out.find("\"state\":\"deferred\"") != std::string::npos;
    if (!deferred) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(deferred) << r.out;
  EXPECT_NE(r.out.find("\"lastError\":\"connection\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"route\":\"dead\""), std::string::npos) << r.out;

  r = Outpost({"queue", "hold", id});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("hold: 1 recipients changed"), std::string::npos) << r.out;
  r = Outpost({"queue", "list", "--status", "held"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  r = Outpost({"queue", "stats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("held"), std::string::npos) << r.out;

  auto client = outpost::cli::AdminClient::Create(url_, kToken);
  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("outpost_queue_recipients{state=\"held\"} 1"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("outpost_deliveries_total{status=\"deferred\",route=\"dead\"} 1"),
            std::string::npos)
      << metrics->body;
  auto unauth = outpost::cli::AdminClient::Create(url_, "")->Get("/metrics");
  EXPECT_EQ(unauth->status, 401);

  ASSERT_EQ(StopDaemon(), 0);
  r = Outpost({"queue", "stats"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot reach outpostd"), std::string::npos) << r.err;
  r = Outpost({"queue", "show", id, "--json", "--data-dir", dir_ + "/data"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\"state\":\"held\""), std::string::npos) << r.out;
}

}  // namespace
