#include "transport/server/connection_counter.h"

namespace outpost::smtp_server {

bool ConnectionCounter::TryAdd(const std::string& ip, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(ip);
  int current = it == counts_.end() ? 0 : it->second;
  if (current >= limit) return false;
  if (it == counts_.end()) {
    counts_.emplace(ip, 1);
  } else {
    ++it->second;
  }
  return true;
}

void ConnectionCounter::Remove(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(ip);
  if (it == counts_.end()) return;
  if (--it->second <= 0) counts_.erase(it);
}

size_t ConnectionCounter::ip_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_.size();
}

}  // namespace outpost::smtp_server
