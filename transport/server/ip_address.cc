#include "transport/server/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace outpost::smtp_server {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(ip.bytes_.data(), kV4MappedPrefix, 12);
    std::memcpy(ip.bytes_.data() + 12, &v4, 4);
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes_.data()) == 1) return ip;
  return Status::InvalidArgument("not an IP address: " + s);
}

StatusOr<IpAddress> IpAddress::FromSockaddr(const sockaddr* sa) {
  IpAddress ip;
  if (sa != nullptr && sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(ip.bytes_.data(), kV4MappedPrefix, 12);
    std::memcpy(ip.bytes_.data() + 12, &in->sin_addr, 4);
    return ip;
  }
  if (sa != nullptr && sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::memcpy(ip.bytes_.data(), &in6->sin6_addr, 16);
    return ip;
  }
  return Status::InvalidArgument("not an IP socket address");
}

bool IpAddress::is_v4() const { return std::memcmp(bytes_.data(), kV4MappedPrefix, 12) == 0; }

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  }
  return buf;
}

StatusOr<CidrRange> CidrRange::Parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip.ok()) return Status::InvalidArgument("bad network \"" + std::string(text) + "\"");
  CidrRange r;
  r.base_ = *ip;
  int max_bits = ip->is_v4() ? 32 : 128;
  int bits = max_bits;
  if (slash != text.npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      return Status::InvalidArgument("bad prefix length in \"" + std::string(text) + "\"");
    }
    bits = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return Status::InvalidArgument("bad prefix length in \"" + std::string(text) + "\"");
      }
      bits = bits * 10 + (c - '0');
    }
    if (bits > max_bits) {
      return Status::InvalidArgument("prefix length too long in \"" + std::string(text) + "\"");
    }
  }
  r.prefix_bits_ = bits + (ip->is_v4() ? 96 : 0);
  return r;
}

bool CidrRange::Contains(const IpAddress& ip) const {
  const auto& a = base_.bytes();
  const auto& b = ip.bytes();
  int bits = prefix_bits_;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace outpost::smtp_server
