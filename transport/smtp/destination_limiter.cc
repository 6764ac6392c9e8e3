#include "transport/smtp/destination_limiter.h"

#include <algorithm>

namespace outpost::transport::smtp {

DestinationLimiter::Permit::Permit(Permit&& other) noexcept
    : limiter_(other.limiter_), key_(std::move(other.key_)) {
  other.limiter_ = nullptr;
}

DestinationLimiter::Permit& DestinationLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    reset();
    limiter_ = other.limiter_;
    key_ = std::move(other.key_);
    other.limiter_ = nullptr;
  }
  return *this;
}

void DestinationLimiter::Permit::reset() {
  if (limiter_ == nullptr) return;
  DestinationLimiter* l = limiter_;
  limiter_ = nullptr;
  l->Release(key_);
}

DestinationLimiter::~DestinationLimiter() = default;

void DestinationLimiter::Acquire(const std::string& key, uint32_t limit, Granted granted) {
  Entry& e = entries_[key];
  e.limit = std::max<uint32_t>(limit, 1);
  e.waiting.push_back(std::move(granted));
  GrantLocked(key, e);
}

void DestinationLimiter::GrantLocked(const std::string& key, Entry& e) {
  while (e.in_use < e.limit && !e.waiting.empty()) {
    ++e.in_use;
    Granted g = std::move(e.waiting.front());
    e.waiting.pop_front();
    std::weak_ptr<int> alive = alive_;
    dispatcher_.Post([this, alive, key, g = std::move(g)]() mutable {
      if (alive.expired()) return;
      g(Permit(this, key));
    });
  }
}

void DestinationLimiter::Release(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  --it->second.in_use;
  GrantLocked(key, it->second);
  if (it->second.in_use == 0 && it->second.waiting.empty()) entries_.erase(it);
}

size_t DestinationLimiter::InUseForTest(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.in_use;
}

size_t DestinationLimiter::WaitingForTest(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.waiting.size();
}

}  // namespace outpost::transport::smtp
