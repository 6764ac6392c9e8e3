#pragma once

// Per-destination concurrency limits (DESIGN.md §4): relay `concurrency` (default 10), MX per
// recipient domain (default 20). Requests beyond the limit wait in FIFO order; nothing fails.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/dispatcher.h"

namespace outpost::transport::smtp {

class DestinationLimiter {
 public:
  // Holding a Permit is one unit of concurrency for its key; destroying it (or reset()) frees
  // it and lets the next waiter in. Move-only. Must not outlive the limiter.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    ~Permit() { reset(); }
    void reset();
    bool held() const { return limiter_ != nullptr; }

   private:
    friend class DestinationLimiter;
    Permit(DestinationLimiter* limiter, std::string key)
        : limiter_(limiter), key_(std::move(key)) {}
    DestinationLimiter* limiter_ = nullptr;
    std::string key_;
  };
  using Granted = std::function<void(Permit)>;

  explicit DestinationLimiter(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  ~DestinationLimiter();

  // Loop thread. `granted` runs on the loop thread, always posted (never inside Acquire), once
  // fewer than `limit` permits for `key` are held (limit 0 is treated as 1). Waiters not yet
  // granted when the limiter is destroyed are dropped.
  void Acquire(const std::string& key, uint32_t limit, Granted granted);

  size_t InUseForTest(const std::string& key) const;
  size_t WaitingForTest(const std::string& key) const;

 private:
  struct Entry {
    uint32_t in_use = 0;
    uint32_t limit = 1;
    std::deque<Granted> waiting;
  };
  void Release(const std::string& key);
  void GrantLocked(const std::string& key, Entry& entry);

  Dispatcher& dispatcher_;
  std::map<std::string, Entry> entries_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace outpost::transport::smtp
