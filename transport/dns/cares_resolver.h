#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dispatcher.h"
#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "transport/dns/dns_cache.h"
#include "transport/dns/resolver.h"

struct event;
struct ares_channeldata;  // c-ares stays a private dependency of this target

namespace outpost::transport::dns {

struct CaresResolverOptions {
  // `dns.servers`: "host:port" with an IP literal host ("127.0.0.1:5353", "[::1]:53"; the port
  // defaults to 53). Empty means the system configuration (/etc/resolv.conf).
  std::vector<std::string> servers;
  // Per query, all tries and servers included; then the lookup ends as kTempFail "timeout".
  Millis timeout{5000};
  int tries = 2;
  size_t cache_max_entries = 10000;
  Millis cache_max_ttl{std::chrono::hours(1)};
};

// Validates `servers` and returns the c-ares CSV form ("127.0.0.1:5353,[::1]:53").
StatusOr<std::string> DnsServersToCsv(const std::vector<std::string>& servers);

// Resolver on c-ares, driven by the LibeventDispatcher's event_base: c-ares tells us which
// sockets it wants (socket state callback -> one libevent event per socket) and when it next
// needs a kick (ares_timeout -> one Timer). Queries are our own bytes (BuildDnsQuery, with the
// AD bit) sent with ares_send; answers are parsed by ParseDnsResponse. Nothing blocks.
// Loop thread only: construct, use and destroy it on the thread running the dispatcher.
// Destroying it cancels every pending lookup; their callbacks are then never called.
class CaresResolver final : public Resolver {
 public:
  static StatusOr<std::unique_ptr<CaresResolver>> Create(LibeventDispatcher& dispatcher,
                                                         CaresResolverOptions options);
  ~CaresResolver() override;
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  void Lookup(std::string_view name, DnsType type, Callback done) override;

  // Questions on the wire; identical lookups made while one is outstanding share it.
  size_t PendingCountForTest() const { return pending_.size(); }
  size_t CacheSizeForTest() const { return cache_.size(); }

 private:
  // One question on the wire and everyone waiting for its answer.
  struct Pending {
    std::string name;
    DnsType type;
    std::vector<Callback> waiters;
    std::unique_ptr<Timer> deadline;
  };
  struct SocketWatch {
    event* ev = nullptr;
    bool read = false;
    bool write = false;
  };
  struct AnswerContext;

  CaresResolver(LibeventDispatcher& dispatcher, CaresResolverOptions options);
  Status Init();
  void PostCompletion(uint64_t id, DnsResult result);
  void PostAnswer(Callback done, DnsResult result);
  void Complete(uint64_t id, DnsResult result);
  void RearmTimer();
  void WatchSocket(int fd, bool read, bool write);

  static void OnSocketState(void* data, int fd, int readable, int writable);
  static void OnSocketEvent(int fd, short what, void* arg);
  static void OnAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  LibeventDispatcher& dispatcher_;
  const CaresResolverOptions options_;
  ares_channeldata* channel_ = nullptr;
  std::unique_ptr<Timer> ares_timer_;
  std::map<int, SocketWatch> sockets_;
  std::map<uint64_t, Pending> pending_;
  std::map<std::pair<std::string, DnsType>, uint64_t> in_flight_;  // question -> pending_ id
  uint64_t next_id_ = 1;
  DnsCache cache_;
  // Posted completions hold a weak reference so none runs after destruction.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::dns
