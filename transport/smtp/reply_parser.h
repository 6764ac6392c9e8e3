#pragma once

// Incremental, socket-free parser for SMTP/LMTP replies (RFC 5321 §4.2, RFC 2034 enhanced codes).
// Bytes from a possibly hostile peer go in; whole replies or a clear protocol error come out.
// Memory is bounded: a line longer than `max_line_bytes` or a reply larger than
// `max_reply_bytes` is an error, never unbounded buffering (CVE-2020-8794 class).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "transport/api/delivery.h"

namespace outpost::transport::smtp {

struct ReplyLimits {
  size_t max_line_bytes = 2048;    // RFC 5321 says 512; be robust beyond it, but bounded
  size_t max_reply_bytes = 65536;  // all lines of one (multi-line) reply
  size_t max_lines = 256;
};

// One complete reply. Lines carry the text only (no code, no separator, no enhanced code of
// that line); control characters in the text are replaced by '?' so a reply can never forge
// log lines or stored fields.
struct Reply {
  int code = 0;
  std::string enhanced;            // "5.1.1" when the first line carries one, else empty
  std::vector<std::string> lines;  // at least one (possibly empty) line

  int klass() const { return code / 100; }  // 2, 3, 4 or 5
  bool positive() const { return klass() == 2; }
  // "250 2.0.0 text\nline 2"; text joined by '\n' and cut at `max_text` bytes.
  SmtpReply ToSmtpReply(size_t max_text = 1024) const;
  std::string Text() const;  // lines joined by '\n'
};

class ReplyParser {
 public:
  explicit ReplyParser(ReplyLimits limits = {}) : limits_(limits) {}

  // Appends bytes read from the peer. Fails (and stays failed) as soon as a partial line
  // exceeds the line limit, so a peer sending megabytes without a newline costs at most
  // max_line_bytes + data.size() of memory.
  Status Feed(std::string_view data);

  // The next complete reply, std::nullopt when more bytes are needed, or the protocol error.
  // After an error every later call returns the same error.
  StatusOr<std::optional<Reply>> Next();

  // Drops everything buffered (used after STARTTLS's 220: plaintext bytes that followed it
  // must never reach the TLS session, CVE-2011-0411 / CVE-2021-38371).
  void Clear();
  size_t buffered_bytes() const { return buf_.size() - pos_; }

 private:
  Status Fail(std::string message);
  // Parses one line (without its terminator) into the reply being assembled. Sets *complete
  // when the line was the last of the reply.
  Status TakeLine(std::string_view line, bool* complete);

  ReplyLimits limits_;
  std::string buf_;
  size_t pos_ = 0;  // start of unconsumed bytes in buf_
  Status error_;
  Reply current_;
  size_t current_bytes_ = 0;
};

// Parses exactly one complete reply from `text` (e.g. a transcript line or a fuzz input).
// Trailing bytes after the reply are an error.
StatusOr<Reply> ParseReply(std::string_view text, ReplyLimits limits = {});

}  // namespace outpost::transport::smtp
