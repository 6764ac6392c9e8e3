#include "transport/smtp/connection_pool.h"

namespace outpost::transport::smtp {

std::string PoolKey(const PoolKeyParts& p) {
  // '\x1f' cannot occur in host names, IPs or strategy names, so fields never run together.
  std::string key;
  for (const std::string* s : {&p.route, &p.host, &p.ip, &p.source_ip, &p.ehlo, &p.tls_strategy,
                               &p.connection_strategy, &p.credentials, &p.variant}) {
    key += *s;
    key += '\x1f';
  }
  key += std::to_string(p.port);
  return key;
}

ConnectionPool::ConnectionPool(LibeventDispatcher& dispatcher, Options options)
    : dispatcher_(dispatcher), options_(options) {}

ConnectionPool::~ConnectionPool() = default;

std::unique_ptr<SmtpSession> ConnectionPool::Acquire(const std::string& key) {
  while (true) {
    auto it = idle_.end();
    for (auto i = idle_.begin(); i != idle_.end(); ++i) {
      if (i->key == key) it = i;  // the most recent one
    }
    if (it == idle_.end()) return nullptr;
    auto session = std::move(it->session);
    idle_.erase(it);
    if (session->ready()) return session;
    // The peer dropped it while idle: forget it and look further.
  }
}

void ConnectionPool::Release(const std::string& key, std::unique_ptr<SmtpSession> session) {
  if (!session || !session->ready()) return;  // closed or mid-operation: just drop it
  size_t same = 0;
  for (const Idle& i : idle_) same += i.key == key ? 1 : 0;
  if (same >= options_.max_idle_per_key) return Retire(std::move(session));
  uint64_t id = next_id_++;
  std::weak_ptr<int> alive = alive_;
  auto timer = dispatcher_.CreateTimer([this, alive, id] {
    // Not inside the timer's own callback: Expire() destroys the timer.
    dispatcher_.Post([this, alive, id] {
      if (!alive.expired()) Expire(id);
    });
  });
  timer->Enable(options_.idle_timeout);
  idle_.push_back(Idle{id, key, std::move(session), std::move(timer)});
}

void ConnectionPool::Expire(uint64_t id) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (it->id != id) continue;
    auto session = std::move(it->session);
    idle_.erase(it);
    Retire(std::move(session));
    return;
  }
}

void ConnectionPool::Retire(std::unique_ptr<SmtpSession> session) {
  if (!session) return;
  if (!session->ready()) return;  // nothing polite to say on a broken connection
  uint64_t id = next_id_++;
  SmtpSession* raw = session.get();
  quitting_.emplace(id, std::move(session));
  // The session's callbacks are posted, so erasing it from inside one is safe.
  raw->Quit([this, id] { quitting_.erase(id); });
}

}  // namespace outpost::transport::smtp
