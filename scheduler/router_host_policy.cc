#include "scheduler/router_host_policy.h"

#include "common/logging.h"

namespace outpost::scheduler {
namespace {

transport::TlsMode ModeOf(router::TlsRequirement r) {
  switch (r) {
    case router::TlsRequirement::kDisable: return transport::TlsMode::kDisable;
    case router::TlsRequirement::kRequire: return transport::TlsMode::kRequire;
    case router::TlsRequirement::kOptional: break;
  }
  return transport::TlsMode::kOptional;
}

transport::IpLookupStrategy LookupOf(router::IpLookup l) {
  switch (l) {
    case router::IpLookup::kV6ThenV4: return transport::IpLookupStrategy::kV6ThenV4;
    case router::IpLookup::kV4Only: return transport::IpLookupStrategy::kV4Only;
    case router::IpLookup::kV6Only: return transport::IpLookupStrategy::kV6Only;
    case router::IpLookup::kV4ThenV6: break;
  }
  return transport::IpLookupStrategy::kV4ThenV6;
}

}  // namespace

RouterHostPolicy::RouterHostPolicy(std::shared_ptr<const router::Router> router,
                                   EnvelopeFields envelope, std::string fallback_hostname)
    : router_(std::move(router)),
      envelope_(std::move(envelope)),
      fallback_hostname_(std::move(fallback_hostname)) {}

router::Envelope RouterHostPolicy::EnvelopeAt(const transport::HostContext& host) {
  envelope_.mx = host.mx;
  envelope_.remote_ip = host.remote_ip;
  envelope_.local_ip = host.local_ip;
  return envelope_.View();
}

bool RouterHostPolicy::ConnectionFor(const transport::HostContext& host,
                                     transport::ConnectionPolicy* out, std::string* error) {
  auto decision = router_->DecideConnection(EnvelopeAt(host));
  if (!decision.ok()) {
    *error = decision.status().message();
    OUTPOST_LOG_ERROR("config_error", {"strategy", "connection"}, {"rcpt", envelope_.rcpt},
                      {"mx", host.mx}, {"error", *error});
    return false;
  }
  const router::ConnectionStrategy& s = *decision->object;
  const router::SourceIp* source = nullptr;
  if (!s.source_ips.empty()) source = &s.source_ips[source_ip_turn_++ % s.source_ips.size()];
  const std::string& server = router_->config().server.hostname;
  *out = ToConnectionPolicy(s, source, server.empty() ? fallback_hostname_ : server);
  return true;
}

bool RouterHostPolicy::TlsFor(const transport::HostContext& host, transport::TlsPolicy* out,
                              std::string* error) {
  auto decision = router_->DecideTls(EnvelopeAt(host));
  if (!decision.ok()) {
    *error = decision.status().message();
    OUTPOST_LOG_ERROR("config_error", {"strategy", "tls"}, {"rcpt", envelope_.rcpt},
                      {"mx", host.mx}, {"error", *error});
    return false;
  }
  *out = ToTlsPolicy(*decision->object);
  return true;
}

transport::ConnectionPolicy ToConnectionPolicy(const router::ConnectionStrategy& s,
                                               const router::SourceIp* source,
                                               std::string_view server_hostname) {
  transport::ConnectionPolicy p;
  p.strategy_name = s.name;
  if (source) p.source_ip = source->ip;
  if (source && !source->ehlo_hostname.empty()) {
    p.ehlo_hostname = source->ehlo_hostname;
  } else if (!s.ehlo_hostname.empty()) {
    p.ehlo_hostname = s.ehlo_hostname;
  } else {
    p.ehlo_hostname = std::string(server_hostname);
  }
  p.connect_timeout = s.connect_timeout;
  p.greeting_timeout = s.greeting_timeout;
  p.ehlo_timeout = s.ehlo_timeout;
  p.mail_from_timeout = s.mail_from_timeout;
  p.rcpt_to_timeout = s.rcpt_to_timeout;
  p.data_timeout = s.data_timeout;
  return p;
}

transport::TlsPolicy ToTlsPolicy(const router::TlsStrategy& s) {
  transport::TlsPolicy p;
  p.strategy_name = s.name;
  p.starttls = ModeOf(s.start_tls);
  p.dane = ModeOf(s.dane);
  p.mta_sts = ModeOf(s.mta_sts);
  p.allow_invalid_certs = s.allow_invalid_certs;
  p.tls_timeout = s.tls_timeout;
  p.mta_sts_timeout = s.mta_sts_timeout;
  return p;
}

std::variant<transport::LocalRoute, transport::MxRoute, transport::RelayRoute> ToTransportRoute(
    const router::Route& route, std::string_view rcpt_domain) {
  switch (route.kind) {
    case router::Route::Kind::kLocal:
      return transport::LocalRoute{};
    case router::Route::Kind::kMx: {
      transport::MxRoute mx;
      mx.domain = std::string(rcpt_domain);
      mx.max_mx_hosts = route.max_mx_hosts;
      mx.max_multihomed = route.max_multihomed;
      mx.ip_lookup = LookupOf(route.ip_lookup);
      return mx;
    }
    case router::Route::Kind::kRelay: break;
  }
  transport::RelayRoute relay;
  relay.address = route.address;
  relay.port = route.port;
  relay.protocol = route.protocol == router::RelayProtocol::kLmtp ? transport::RelayProtocol::kLmtp
                                                                  : transport::RelayProtocol::kSmtp;
  relay.implicit_tls = route.implicit_tls;
  relay.allow_invalid_certs = route.allow_invalid_certs;
  relay.auth_username = route.auth_username;
  relay.auth_secret = route.auth_secret.value;
  relay.concurrency = route.concurrency;
  return relay;
}

}  // namespace outpost::scheduler
