#pragma once

// A real peer (smtp-sink, an aiosmtpd script, ...) started by a test as a child process on
// 127.0.0.1 and stopped by its PID (SIGTERM, then SIGKILL) when the object goes away.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace outpost::transport::smtp::testing {

class PeerProcess {
 public:
  // Starts argv[0] with `argv`, stdout and stderr appended to `log_path`, then waits (bounded)
  // until 127.0.0.1:`port` accepts connections. ok() is false if it never does.
  PeerProcess(std::vector<std::string> argv, uint16_t port, std::string log_path);
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  bool ok() const { return ready_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;  // what the peer printed so far
  void Stop();

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string log_path_;
};

// A port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
uint16_t FreePort();
// A fresh empty directory under TMPDIR (or /tmp) for this test process.
std::string MakeTempDir(const std::string& tag);
std::string ReadFile(const std::string& path);

}  // namespace outpost::transport::smtp::testing
