#include "transport/dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>

#include <charconv>
#include <cstdlib>
#include <mutex>

#include "common/logging.h"

namespace outpost::transport::dns {
namespace {

static_assert(std::is_same_v<ares_socket_t, int>, "CaresResolver assumes POSIX sockets");
static_assert(std::is_same_v<ares_channel, ares_channeldata*>);

void InitAresLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) std::abort();
  });
}

bool ParsePort(std::string_view text, uint16_t* port) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

// The detail text of a c-ares failure, for logs and the attempt record.
std::string AresFailureDetail(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ENOTIMP:
      return "NOTIMP";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_ECONNREFUSED:
      return "connection refused";
    default:
      return ares_strerror(status);
  }
}

}  // namespace

StatusOr<std::string> DnsServersToCsv(const std::vector<std::string>& servers) {
  std::string csv;
  for (const std::string& server : servers) {
    std::string_view host = server;
    uint16_t port = 53;
    bool v6 = false;
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close == std::string_view::npos) {
        return Status::InvalidArgument("dns.servers: '" + server + "': missing ']'");
      }
      std::string_view rest = host.substr(close + 1);
      host = host.substr(1, close - 1);
      v6 = true;
      if (!rest.empty() && (rest.front() != ':' || !ParsePort(rest.substr(1), &port))) {
        return Status::InvalidArgument("dns.servers: '" + server + "': bad port");
      }
    } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
      if (host.find(':') != colon) {
        return Status::InvalidArgument("dns.servers: '" + server +
                                       "': write IPv6 servers as [addr]:port");
      }
      if (!ParsePort(host.substr(colon + 1), &port)) {
        return Status::InvalidArgument("dns.servers: '" + server + "': bad port");
      }
      host = host.substr(0, colon);
    }
    unsigned char buf[16];
    std::string host_str(host);
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host_str.c_str(), buf) != 1) {
      return Status::InvalidArgument("dns.servers: '" + server + "': not an IP address");
    }
    // Appended piecewise: GCC 12 -O3 reports a false -Wrestrict on "[" + host + "]".
    if (!csv.empty()) csv.push_back(',');
    if (v6) csv.push_back('[');
    csv.append(host_str);
    if (v6) csv.push_back(']');
    csv.push_back(':');
    csv.append(std::to_string(port));
  }
  return csv;
}

// Heap-allocated per ares_send; c-ares hands it back exactly once in OnAnswer.
struct CaresResolver::AnswerContext {
  CaresResolver* self;
  uint64_t id;
  std::string name;
  DnsType type;
};

StatusOr<std::unique_ptr<CaresResolver>> CaresResolver::Create(LibeventDispatcher& dispatcher,
                                                               CaresResolverOptions options) {
  if (options.timeout.count() <= 0) return Status::InvalidArgument("dns.timeout must be > 0");
  if (options.tries < 1) return Status::InvalidArgument("dns tries must be >= 1");
  std::unique_ptr<CaresResolver> resolver(new CaresResolver(dispatcher, std::move(options)));
  OUTPOST_RETURN_IF_ERROR(resolver->Init());
  return resolver;
}

CaresResolver::CaresResolver(LibeventDispatcher& dispatcher, CaresResolverOptions options)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      cache_(dispatcher.clock(), options_.cache_max_entries, options_.cache_max_ttl) {}

Status CaresResolver::Init() {
  InitAresLibrary();
  OUTPOST_ASSIGN_OR_RETURN(std::string csv, DnsServersToCsv(options_.servers));
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  // c-ares' own per-try timeout, so its tries fit inside our per-query deadline.
  opts.timeout = static_cast<int>(std::max<int64_t>(1, options_.timeout.count() / options_.tries));
  opts.tries = options_.tries;
  opts.sock_state_cb = &CaresResolver::OnSocketState;
  opts.sock_state_cb_data = this;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  int rc = ares_init_options(&channel_, &opts, mask);
  if (rc != ARES_SUCCESS) {
    channel_ = nullptr;
    return Status::Internal(std::string("ares_init_options: ") + ares_strerror(rc));
  }
  if (!csv.empty()) {
    rc = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (rc != ARES_SUCCESS) {
      return Status::InvalidArgument("dns.servers: " + std::string(ares_strerror(rc)));
    }
  }
  ares_timer_ = dispatcher_.CreateTimer([this] {
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    RearmTimer();
  });
  return Status::Ok();
}

CaresResolver::~CaresResolver() {
  alive_.reset();
  if (channel_ != nullptr) ares_destroy(channel_);  // OnAnswer(ARES_EDESTRUCTION) frees contexts
  for (auto& [fd, watch] : sockets_) event_free(watch.ev);
}

void CaresResolver::Lookup(std::string_view name, DnsType type, Callback done) {
  std::string key_name = NormalizeDnsName(name);
  if (std::optional<DnsResult> cached = cache_.Get(key_name, type)) {
    PostAnswer(std::move(done), std::move(*cached));
    return;
  }
  auto key = std::make_pair(key_name, type);
  if (auto it = in_flight_.find(key); it != in_flight_.end()) {
    pending_[it->second].waiters.push_back(std::move(done));
    return;
  }
  StatusOr<std::string> query = BuildDnsQuery(key_name, type, 0);  // c-ares sets the id
  if (!query.ok()) {
    PostAnswer(std::move(done), DnsResult::TempFail(query.status().message()));
    return;
  }
  const uint64_t id = next_id_++;
  in_flight_[key] = id;
  Pending& p = pending_[id];
  p.name = std::move(key_name);
  p.type = type;
  p.waiters.push_back(std::move(done));
  // The deadline posts rather than completing in place, so the timer is never destroyed
  // inside its own callback.
  p.deadline = dispatcher_.CreateTimer([this, id] {
    PostCompletion(id, DnsResult::TempFail("timeout after " +
                                           std::to_string(options_.timeout.count()) + "ms"));
  });
  p.deadline->Enable(options_.timeout);
  auto* ctx = new AnswerContext{this, id, p.name, type};
  ares_send(channel_, reinterpret_cast<const unsigned char*>(query->data()),
            static_cast<int>(query->size()), &CaresResolver::OnAnswer, ctx);
  RearmTimer();
}

void CaresResolver::PostAnswer(Callback done, DnsResult result) {
  dispatcher_.Post([alive = std::weak_ptr<bool>(alive_), done = std::move(done),
                    result = std::move(result)]() mutable {
    if (alive.lock()) done(std::move(result));
  });
}

void CaresResolver::OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                             int alen) {
  std::unique_ptr<AnswerContext> ctx(static_cast<AnswerContext*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  DnsResult result;
  if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
    result = DnsResult::TempFail(AresFailureDetail(status));
  } else {
    StatusOr<DnsResult> parsed = ParseDnsResponse(
        std::span<const uint8_t>(abuf, static_cast<size_t>(alen)), ctx->name, ctx->type);
    result = parsed.ok() ? std::move(*parsed)
                         : DnsResult::TempFail("bad answer: " + parsed.status().message());
  }
  // We may be inside ares_send() (called from Lookup) or ares_process_fd(): hand the result
  // to the loop rather than run user code under c-ares.
  ctx->self->PostCompletion(ctx->id, std::move(result));
}

void CaresResolver::PostCompletion(uint64_t id, DnsResult result) {
  dispatcher_.Post(
      [alive = std::weak_ptr<bool>(alive_), this, id, result = std::move(result)]() mutable {
        if (alive.lock()) Complete(id, std::move(result));
      });
}

// Answers every waiter of the question once: the first of answer and deadline wins, the other
// finds the id gone and does nothing.
void CaresResolver::Complete(uint64_t id, DnsResult result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  in_flight_.erase(std::make_pair(p.name, p.type));
  if (result.outcome == DnsOutcome::kTempFail) {
    OUTPOST_LOG_DEBUG("dns_tempfail", {"name", p.name}, {"type", DnsTypeName(p.type)},
                      {"detail", result.detail});
  }
  cache_.Put(p.name, p.type, result);
  // Waiters may start new lookups (even of this name): the question is already gone.
  for (size_t i = 0; i + 1 < p.waiters.size(); ++i) p.waiters[i](result);
  p.waiters.back()(std::move(result));
}

void CaresResolver::RearmTimer() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    ares_timer_->Disable();
    return;
  }
  ares_timer_->Enable(Millis(static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000));
}

void CaresResolver::OnSocketState(void* data, int fd, int readable, int writable) {
  static_cast<CaresResolver*>(data)->WatchSocket(fd, readable != 0, writable != 0);
}

void CaresResolver::WatchSocket(int fd, bool read, bool write) {
  auto it = sockets_.find(fd);
  if (it != sockets_.end()) {
    if (it->second.read == read && it->second.write == write) return;
    // Freeing an event from inside its own callback is allowed by libevent.
    event_free(it->second.ev);
    sockets_.erase(it);
  }
  if (!read && !write) return;  // c-ares closed the socket
  short what = EV_PERSIST | (read ? EV_READ : 0) | (write ? EV_WRITE : 0);
  event* ev = event_new(dispatcher_.base(), fd, what, &CaresResolver::OnSocketEvent, this);
  if (ev == nullptr || event_add(ev, nullptr) != 0) std::abort();  // out of memory
  sockets_[fd] = SocketWatch{ev, read, write};
}

void CaresResolver::OnSocketEvent(int fd, short what, void* arg) {
  auto* self = static_cast<CaresResolver*>(arg);
  ares_process_fd(self->channel_, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->RearmTimer();
}

}  // namespace outpost::transport::dns
