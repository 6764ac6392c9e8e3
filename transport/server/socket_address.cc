#include "transport/server/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace outpost::smtp_server {

StatusOr<SocketAddress> ParseSocketAddress(std::string_view text) {
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == text.npos) return Status::InvalidArgument("expected [ipv6]:port");
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == text.npos) return Status::InvalidArgument("expected ip:port");
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return Status::InvalidArgument("bad port");
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Status::InvalidArgument("bad port");
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return Status::InvalidArgument(std::string(port) + " is not a port");
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    out.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    out.length = sizeof(sockaddr_in6);
  } else {
    return Status::InvalidArgument("\"" + host + "\" is not an IP address");
  }
  return out;
}

int PortOf(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
  return 0;
}

}  // namespace outpost::smtp_server
