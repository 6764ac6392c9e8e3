#include "transport/smtp/smtp_deliverer.h"

#include "transport/smtp/delivery_attempt.h"

namespace outpost::transport::smtp {

SmtpDeliverer::SmtpDeliverer(LibeventDispatcher& dispatcher, const TlsClientContext& tls,
                             const Clock& clock, SmtpDelivererOptions options)
    : dispatcher_(dispatcher),
      tls_(tls),
      options_(std::move(options)),
      pool_(dispatcher, options_.pool),
      limiter_(dispatcher),
      down_hosts_(clock, options_.down_hosts) {}

SmtpDeliverer::~SmtpDeliverer() {
  // Attempts hold limiter permits and sessions: destroy them before those members go.
  attempts_.clear();
}

void SmtpDeliverer::Deliver(DeliveryRequest request, std::vector<TargetHost> hosts,
                            DeliveryAgent::DoneCallback done) {
  auto attempt = std::make_unique<DeliveryAttempt>(*this, std::move(request), std::move(hosts),
                                                   std::move(done));
  DeliveryAttempt* raw = attempt.get();
  attempts_.emplace(raw, std::move(attempt));
  raw->Start();
}

void SmtpDeliverer::Finished(DeliveryAttempt* attempt) {
  auto it = attempts_.find(attempt);
  if (it == attempts_.end()) return;
  std::unique_ptr<DeliveryAttempt> owned = std::move(it->second);
  attempts_.erase(it);
  dispatcher_.DeferredDelete(std::move(owned));
}

}  // namespace outpost::transport::smtp
