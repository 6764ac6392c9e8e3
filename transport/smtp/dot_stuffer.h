#pragma once

// Streaming dot-stuffing of a message body for DATA (RFC 5321 §4.5.2). Works chunk by chunk
// so a large body is written straight into the connection's output buffer: the body is copied
// once (into that buffer), never assembled stuffed in memory.
//
// The wire never carries a bare CR or LF (RFC 5321 §2.3.8, SMTP smuggling): the stored body is
// already CRLF, but any stray CR or LF is sent as CRLF. Finish() ends the body with CRLF if
// needed and writes the terminating ".\r\n", so CRLF.CRLF appears exactly once, at the end.

#include <functional>
#include <string_view>

namespace outpost::transport::smtp {

class DotStuffer {
 public:
  // Receives consecutive pieces of the output; views are valid only during the call.
  using Emit = std::function<void(std::string_view)>;

  void Append(std::string_view chunk, const Emit& emit);
  void Finish(const Emit& emit);

 private:
  bool at_line_start_ = true;
  bool pending_cr_ = false;  // the previous chunk ended with a CR
};

}  // namespace outpost::transport::smtp
