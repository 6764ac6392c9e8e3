#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::smtp_server {

// An IPv4 or IPv6 address. IPv4 is kept as the v4-mapped IPv6 form (::ffff:a.b.c.d) so that
// one CIDR list covers clients of a dual-stack socket too.
class IpAddress {
 public:
  static StatusOr<IpAddress> Parse(std::string_view text);
  // AF_INET or AF_INET6 sockaddr; anything else is an error.
  static StatusOr<IpAddress> FromSockaddr(const sockaddr* sa);
  bool is_v4() const;
  // "192.0.2.1" or "2001:db8::1"
  std::string ToString() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, 16> bytes_{};
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("127.0.0.1" = /32).
class CidrRange {
 public:
  static StatusOr<CidrRange> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;

 private:
  IpAddress base_;
  int prefix_bits_ = 128;  // in the 128-bit (mapped) space
};

}  // namespace outpost::smtp_server
