#pragma once

// Idle SMTP sessions kept for a short time and handed out again for the next message to the
// same destination. The key (PoolKey) holds everything that must match for reuse (DESIGN.md §4):
// route, host/IP, port, source IP, EHLO name, TLS and connection strategies, credentials.
// The caller sends RSET before reusing a session (SmtpSession::Reset).
//
// Loop thread only. Idle sessions are closed with QUIT after `idle_timeout`, or at once when
// the peer drops them. Destroying the pool closes every idle session without QUIT.

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "common/libevent_dispatcher.h"
#include "transport/smtp/session.h"

namespace outpost::transport::smtp {

struct PoolKeyParts {
  std::string route;
  std::string host;
  std::string ip;
  uint16_t port = 0;
  std::string source_ip;
  std::string ehlo;
  std::string tls_strategy;
  std::string connection_strategy;
  std::string credentials;  // user + secret; the key lives in memory only and is never logged
  std::string variant;      // protocol, implicit TLS, certificate mode, plaintext fallback
};
std::string PoolKey(const PoolKeyParts& parts);

class ConnectionPool {
 public:
  struct Options {
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};
    // At least the usual per-destination concurrency (relay 10, MX 20): with fewer, a busy
    // destination's connections finishing together are partly QUIT and reopened a moment
    // later (relay benchmark, concurrency 20, limit 8: 1 new connection per 1.9 messages).
    size_t max_idle_per_key = 32;
  };
  ConnectionPool(LibeventDispatcher& dispatcher, Options options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // The most recently released ready session for `key`, or nullptr.
  std::unique_ptr<SmtpSession> Acquire(const std::string& key);
  // Keeps `session` for reuse if it is ready() (else closes it). Sessions beyond
  // max_idle_per_key are closed with QUIT.
  void Release(const std::string& key, std::unique_ptr<SmtpSession> session);
  // Closes politely (QUIT) a session that will not be reused.
  void Retire(std::unique_ptr<SmtpSession> session);

  size_t IdleCountForTest() const { return idle_.size(); }

 private:
  struct Idle {
    uint64_t id;
    std::string key;
    std::unique_ptr<SmtpSession> session;
    std::unique_ptr<Timer> timer;
  };
  void Expire(uint64_t id);

  LibeventDispatcher& dispatcher_;
  Options options_;
  uint64_t next_id_ = 1;
  std::list<Idle> idle_;  // most recent last
  std::map<uint64_t, std::unique_ptr<SmtpSession>> quitting_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace outpost::transport::smtp
