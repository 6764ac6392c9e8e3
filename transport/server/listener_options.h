#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace outpost::smtp_server {

struct ListenerUser {
  std::string name;
  std::string password_hash;  // "$pbkdf2-sha256$..." (see password_hash.h)
};

// One SMTP listener, filled by the daemon from the `listeners[]` config entry plus the global
// `localDomains`, `local.users` and `queue.maxMessageSize`. Defaults follow DESIGN.md §3.
struct ListenerOptions {
  std::string name = "smtp";
  std::string bind = "127.0.0.1:25";  // "ip:port" or "[ipv6]:port"; port 0 picks a free one
  std::string hostname;               // greeting, EHLO reply and Received "by"
  std::string tls_cert_file;          // PEM; STARTTLS is offered only when set
  std::string tls_key_file;
  bool require_auth = false;          // MAIL needs a successful AUTH
  bool allow_plaintext_auth = false;  // offer AUTH before STARTTLS
  std::vector<ListenerUser> users;
  std::vector<std::string> relay_networks;  // CIDR, v4 and v6
  std::vector<std::string> local_domains;
  // Known local users ("user" for every local domain or "user@domain"); nullopt accepts any.
  std::optional<std::vector<std::string>> local_users;
  int max_connections_per_ip = 100;  // relay networks are exempt
  int max_recipients = 100;
  int max_received_headers = 50;
  uint64_t max_message_size = 50ull << 20;
  // While a mail transaction or DATA is in progress, the longest wait for the client.
  Millis command_timeout = std::chrono::minutes(5);
  // Outside a transaction (after connect, after a message, after RSET).
  Millis idle_timeout = std::chrono::minutes(5);
};

// Every problem at once, one per line, each prefixed by the field name, e.g.
// "relayNetworks[1]: bad network \"10.0.0/33\"".
Status ValidateListenerOptions(const ListenerOptions& options);

}  // namespace outpost::smtp_server
