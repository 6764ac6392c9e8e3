#pragma once

// Runs Debian's dnsmasq on 127.0.0.1 and a free port for integration tests. Only this
// server is ever queried: no system resolver, no other network.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "transport/dns/dns_message.h"

namespace outpost::transport::dns::testing {

class DnsmasqProcess {
 public:
  // Starts dnsmasq with `records` (dnsmasq options such as "--mx-host=a,b,10") and waits until
  // it answers. Returns false (and cleans up) if it could not be started.
  bool Start(const std::vector<std::string>& records) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      if (port_ == 0) continue;
      std::vector<std::string> args = {"/usr/sbin/dnsmasq",
                                       "--no-daemon",
                                       "--no-resolv",
                                       "--no-hosts",
                                       "--port=" + std::to_string(port_),
                                       "--listen-address=127.0.0.1",
                                       "--bind-interfaces",

                                       "--pid-file",
                                       "--log-facility=/dev/null"};
      args.insert(args.end(), records.begin(), records.end());
      pid_ = fork();
      if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int devnull = open("/dev/null", O_WRONLY);  // dnsmasq chats on stderr at start
        if (devnull >= 0) dup2(devnull, STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
      }
      if (pid_ < 0) return false;
      if (WaitUntilAnswering()) return true;
      Stop();
    }
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  ~DnsmasqProcess() { Stop(); }

  uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static uint16_t FreePort() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // Sends a probe query (blocking, this test thread only) until dnsmasq answers.
  bool WaitUntilAnswering() {
    auto query = BuildDnsQuery("probe.invalid", DnsType::kA, 7);
    if (!query.ok()) return false;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    bool ok = false;
    for (int i = 0; i < 50 && !ok; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited (port taken?)
        break;
      }
      sendto(fd, query->data(), query->size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      char buf[512];
      ok = recv(fd, buf, sizeof(buf), 0) > 0;
    }
    close(fd);
    return ok;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace outpost::transport::dns::testing
