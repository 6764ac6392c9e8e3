#pragma once

// Chooses and prepares the third part of a DSN: the original message (RET=FULL failures) or
// its header block, made safe to embed (CRLF only, no line over 998 octets, bounded size).

#include <cstddef>
#include <string>
#include <string_view>

namespace outpost::dsn {

struct ReturnedContent {
  std::string content_type;  // "" when there is nothing to return (empty original)
  std::string body;          // CRLF line endings, every line <= 998 octets
  bool full = false;         // the whole message (true) or its headers (false)
  bool eight_bit = false;    // body has bytes >= 0x80
  // Human-readable reason why a full message was requested but only headers are returned.
  std::string note;
};

struct ReturnedContentLimits {
  size_t max_full_message_bytes = 0;
  size_t max_header_bytes = 0;
};

// `want_full`: a RET=FULL failure report. `global`: use the RFC 6533 message/global* types.
ReturnedContent SelectReturnedContent(std::string_view raw, bool want_full, bool global,
                                      const ReturnedContentLimits& limits);

// Bare LF and bare CR become CRLF.
std::string NormalizeCrlf(std::string_view in);

// The header block of a message, including the CRLF that ends its last header line but not
// the empty separator line; the whole input when it has no body.
std::string_view HeaderBlock(std::string_view crlf_message);

}  // namespace outpost::dsn
