// libFuzzer target: the SMTP reply parser must never crash, never buffer without bound, and
// every reply it accepts must be well-formed (code 200-599, at least one line).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/smtp/capabilities.h"
#include "transport/smtp/reply_parser.h"

using outpost::transport::smtp::ParseCapabilities;
using outpost::transport::smtp::ReplyLimits;
using outpost::transport::smtp::ReplyParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ReplyLimits limits;
  limits.max_line_bytes = 512;
  limits.max_reply_bytes = 4096;
  ReplyParser parser(limits);
  // Feed in uneven pieces, as a socket would.
  size_t pos = 0, step = 1;
  while (pos < in.size()) {
    size_t n = std::min(step, in.size() - pos);
    if (!parser.Feed(in.substr(pos, n)).ok()) return 0;
    pos += n;
    step = step * 3 % 97 + 1;
    for (;;) {
      auto next = parser.Next();
      if (!next.ok()) return 0;
      if (!next->has_value()) break;
      const auto& r = **next;
      if (r.code < 200 || r.code > 599 || r.lines.empty()) std::abort();
      if (r.ToSmtpReply().text.size() > 1024 + 3) std::abort();
      (void)ParseCapabilities(r);
    }
    if (parser.buffered_bytes() > limits.max_line_bytes + 97 + 512) std::abort();
  }
  return 0;
}
