#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::smtp_server {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// "127.0.0.1:25", "[::1]:2525", "0.0.0.0:0". Literal addresses only: binding never waits on
// DNS.
StatusOr<SocketAddress> ParseSocketAddress(std::string_view text);

// The port of a bound AF_INET/AF_INET6 address (0 for anything else).
int PortOf(const sockaddr* sa);

}  // namespace outpost::smtp_server
