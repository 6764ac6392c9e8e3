#pragma once

// The entry point for SMTP/LMTP delivery to an ordered list of hosts: the MX agent calls it
// with the MX planner's TargetHost list, SmtpRelayAgent with the relay host. Owns the parts
// shared by all deliveries: the connection pool, the per-destination limiter and the down-host
// memory. Each Deliver() runs one DeliveryAttempt (failover per DESIGN.md §4, decisions from
// classify.h).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/smtp/connection_pool.h"
#include "transport/smtp/destination_limiter.h"
#include "transport/smtp/host_down_tracker.h"
#include "transport/smtp/tls_client.h"

namespace outpost::transport::tlspolicy {
class HostTlsEvaluator;
}

namespace outpost::transport::smtp {

class DeliveryAttempt;

struct SmtpDelivererOptions {
  ConnectionPool::Options pool;
  HostDownTracker::Options down_hosts;
  uint32_t mx_concurrency = 20;  // per recipient domain (queue.mxConcurrency)
  // EHLO name when the connection strategy gives none (the server hostname).
  std::string default_ehlo_hostname = "localhost";
  // DANE / MTA-STS / TLS-RPT for Mx routes (not owned, outlives the deliverer); null = none
  // (relay routes never use it: DANE and MTA-STS do not apply to a configured relay).
  tlspolicy::HostTlsEvaluator* tls_policy = nullptr;
};

class SmtpDeliverer {
 public:
  // `dispatcher`, `tls` and `clock` (for the down-host memory) outlive the deliverer.
  SmtpDeliverer(LibeventDispatcher& dispatcher, const TlsClientContext& tls, const Clock& clock,
                SmtpDelivererOptions options);
  ~SmtpDeliverer();  // attempts still running are abandoned: their callbacks never run

  // Delivers request.message to request.recipients over `hosts`, tried in order. Works for
  // MxRoute (SMTP, no AUTH) and RelayRoute (SMTP or LMTP, implicit TLS, AUTH). Loop thread.
  // `done` runs exactly once on the loop thread, never inside Deliver().
  void Deliver(DeliveryRequest request, std::vector<TargetHost> hosts,
               DeliveryAgent::DoneCallback done);

  ConnectionPool& pool() { return pool_; }
  DestinationLimiter& limiter() { return limiter_; }
  HostDownTracker& down_hosts() { return down_hosts_; }
  size_t InFlightForTest() const { return attempts_.size(); }

 private:
  friend class DeliveryAttempt;
  void Finished(DeliveryAttempt* attempt);

  LibeventDispatcher& dispatcher_;
  const TlsClientContext& tls_;
  SmtpDelivererOptions options_;
  ConnectionPool pool_;
  DestinationLimiter limiter_;
  HostDownTracker down_hosts_;
  std::map<DeliveryAttempt*, std::unique_ptr<DeliveryAttempt>> attempts_;
};

}  // namespace outpost::transport::smtp
