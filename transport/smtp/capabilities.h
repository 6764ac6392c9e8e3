#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/smtp/reply_parser.h"

namespace outpost::transport::smtp {

// What a peer offered in its EHLO/LHLO reply. Empty after HELO (nothing is offered).
struct Capabilities {
  bool pipelining = false;
  bool starttls = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool enhanced_status_codes = false;
  // SIZE (RFC 1870): nullopt when not offered, 0 when offered without a limit.
  std::optional<uint64_t> size;
  std::vector<std::string> auth_mechanisms;  // upper case

  bool HasAuth(std::string_view mechanism) const;
};

// Parses the keyword lines of a 2xx EHLO/LHLO reply (the first line is the peer's name).
// Unknown keywords are ignored; a malformed SIZE value is treated as "no limit".
Capabilities ParseCapabilities(const Reply& ehlo_reply);

}  // namespace outpost::transport::smtp
