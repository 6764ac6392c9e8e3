#include "transport/server/listener_options.h"

#include "transport/server/ip_address.h"
#include "transport/server/password_hash.h"
#include "transport/server/smtp_address.h"
#include "transport/server/socket_address.h"

namespace outpost::smtp_server {

Status ValidateListenerOptions(const ListenerOptions& o) {
  std::vector<std::string> errors;
  auto add = [&](const std::string& field, const std::string& what) {
    errors.push_back(field + ": " + what);
  };
  if (auto b = ParseSocketAddress(o.bind); !b.ok()) add("bind", b.status().message());
  if (o.hostname.empty() || !IsValidDomainOrLiteral(o.hostname, false)) {
    add("hostname", "\"" + o.hostname + "\" is not a host name");
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    add("tls", "certFile and keyFile go together");
  }
  for (size_t i = 0; i < o.users.size(); ++i) {
    std::string f = "users[" + std::to_string(i) + "]";
    if (o.users[i].name.empty()) add(f + ".name", "empty user name");
    if (Status s = ValidatePasswordHash(o.users[i].password_hash); !s.ok()) {
      add(f + ".passwordHash", s.message());
    }
  }
  if (o.require_auth && o.users.empty()) add("requireAuth", "needs at least one user");
  for (size_t i = 0; i < o.relay_networks.size(); ++i) {
    if (auto r = CidrRange::Parse(o.relay_networks[i]); !r.ok()) {
      add("relayNetworks[" + std::to_string(i) + "]", r.status().message());
    }
  }
  for (size_t i = 0; i < o.local_domains.size(); ++i) {
    if (!IsValidDomainOrLiteral(o.local_domains[i], true)) {
      add("localDomains[" + std::to_string(i) + "]", "not a domain");
    }
  }
  if (o.max_connections_per_ip < 1) add("maxConnectionsPerIp", "must be at least 1");
  if (o.max_recipients < 1) add("maxRecipients", "must be at least 1");
  if (o.max_received_headers < 1) add("maxReceivedHeaders", "must be at least 1");
  if (o.max_message_size < 1024) add("maxMessageSize", "must be at least 1KB");
  if (o.command_timeout.count() <= 0) add("commandTimeout", "must be positive");
  if (o.idle_timeout.count() <= 0) add("idleTimeout", "must be positive");
  if (errors.empty()) return Status::Ok();
  std::string msg = "listener " + o.name + ":";
  for (const auto& e : errors) msg += "\n  " + e;
  return Status::InvalidArgument(msg);
}

}  // namespace outpost::smtp_server
