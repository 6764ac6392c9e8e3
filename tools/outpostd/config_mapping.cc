#include "tools/outpostd/config_mapping.h"

#include <unistd.h>

#include <climits>
#include <filesystem>

namespace outpost::daemon {
namespace {

// "127.0.0.1:2525" / "[::1]:2525" -> address and port; {"", 0} when it does not parse (the
// listener itself reports bad binds).
transport::dns::MxSelfIdentity::Endpoint ParseBind(const std::string& bind) {
  transport::dns::MxSelfIdentity::Endpoint ep;
  size_t colon = bind.rfind(':');
  if (colon == std::string::npos) return ep;
  std::string host = bind.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : bind.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return {};
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return {};
  ep.address = host;
  ep.port = static_cast<uint16_t>(port);
  return ep;
}

}  // namespace

smtp_server::ListenerOptions ListenerOptionsFor(const router::Config& config,
                                                const router::ListenerConfig& l,
                                                const std::string& hostname) {
  smtp_server::ListenerOptions o;
  o.name = l.name;
  o.bind = l.bind;
  o.hostname = hostname;
  o.tls_cert_file = l.tls_cert_file.value_or("");
  o.tls_key_file = l.tls_key_file.value_or("");
  o.require_auth = l.require_auth;
  o.allow_plaintext_auth = l.allow_plaintext_auth;
  for (const auto& u : l.users) o.users.push_back({u.name, u.password_hash});
  o.relay_networks = l.relay_networks;
  o.local_domains = config.local_domains;
  o.local_users = config.local.users;
  o.max_connections_per_ip = static_cast<int>(l.max_connections_per_ip);
  o.max_recipients = static_cast<int>(l.max_recipients);
  o.max_received_headers = static_cast<int>(l.max_received_headers);
  o.max_message_size = l.max_message_size.value_or(config.queue.max_message_size);
  o.command_timeout = l.data_timeout;
  o.idle_timeout = l.command_timeout;
  return o;
}

transport::dns::MxSelfIdentity SelfIdentityFor(const router::Config& config,
                                               const std::string& hostname) {
  transport::dns::MxSelfIdentity self;
  self.names.push_back(hostname);
  for (const auto& l : config.listeners) {
    auto ep = ParseBind(l.bind);
    if (!ep.address.empty()) self.endpoints.push_back(ep);
  }
  return self;
}

transport::local::MaildirAgentOptions MaildirOptionsFor(const router::Config& config,
                                                        const std::string& hostname) {
  transport::local::MaildirAgentOptions o;
  o.maildir_root = config.local.maildir_root.empty()
                       ? (std::filesystem::path(config.server.data_dir) / "mail").string()
                       : config.local.maildir_root;
  o.mailboxes.local_domains = config.local_domains;
  o.mailboxes.users = config.local.users;
  o.hostname = hostname;
  o.threads = 1;
  return o;
}

std::string ResolveHostname(const router::Config& config) {
  if (!config.server.hostname.empty()) return config.server.hostname;
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) == 0 && buf[0] != '\0') return buf;
  return "localhost";
}

}  // namespace outpost::daemon
