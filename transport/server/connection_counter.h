#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace outpost::smtp_server {

// Open sessions per client IP for `maxConnectionsPerIp`. One counter is shared by the
// listeners of one configured address when they run on several event loops (one listening
// socket per loop), so the limit holds for the address as a whole, not per loop.
//
// Threading: every method may be called from any thread.
class ConnectionCounter {
 public:
  // Counts one more session for `ip` and returns true while it has fewer than `limit`;
  // returns false (and counts nothing) at the limit.
  bool TryAdd(const std::string& ip, int limit);
  // Forgets one counted session of `ip`.
  void Remove(const std::string& ip);
  // Distinct IPs with counted sessions.
  size_t ip_count() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;  // guarded by mu_; no entry at zero
};

}  // namespace outpost::smtp_server
