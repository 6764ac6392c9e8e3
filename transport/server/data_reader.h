#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/api/delivery.h"

namespace outpost::smtp_server {

using transport::SmtpReply;

// Why a DATA transfer is refused, checked only once the whole message has been read.
enum class DataVerdict {
  kAccepted,
  kBareLineEnding,  // a CR or LF not part of CRLF: 554 5.6.0 (SMTP smuggling defence)
  kTooBig,          // over max_size: 552 5.3.4
  kLoop,            // more Received headers than allowed: 554 5.4.6
};

// The DATA phase as a socket-free state machine (RFC 5321 4.1.1.4, 4.5.2). Feed it the bytes
// that follow the 354 reply; it stops right after the terminating CRLF.CRLF and leaves the
// rest (pipelined commands) to the caller.
//
// Only CRLF "." CRLF ends the data. A bare LF or CR never starts a new line, so `\n.\r\n`,
// `\r\n.\n`, `\r.\r` and friends can never end the message; they mark it refused and reading
// continues to the real end (so the bytes after it are not executed as commands either).
// Dot-stuffing is undone. Memory is bounded: once the size passes `max_size` the body is
// dropped and only counted.
class DataReader {
 public:
  struct Limits {
    uint64_t max_size = 50ull << 20;
    int max_received_headers = 50;
  };
  explicit DataReader(Limits limits) : limits_(limits) {}

  // Consumes bytes of `in` up to and including the end-of-data marker; returns how many.
  // Returns 0 once done().
  size_t Consume(std::string_view in);

  bool done() const { return state_ == State::kDone; }
  // Valid once done().
  DataVerdict verdict() const;
  // The unstuffed message with CRLF line endings (empty when refused for size).
  std::string TakeBody() { return std::move(body_); }
  // Unstuffed bytes seen, also past the limit.
  uint64_t size() const { return size_; }
  int received_headers() const { return received_headers_; }

 private:
  enum class State { kLineStart, kDot, kDotCr, kInLine, kCr, kDone };
  void Emit(std::string_view bytes);    // line content
  void Append(std::string_view bytes);  // to the body, within the size limit
  void EndLine();                       // a CRLF was seen
  void BareCr();                        // a CR not followed by LF

  const Limits limits_;
  State state_ = State::kLineStart;
  std::string body_;
  uint64_t size_ = 0;
  bool too_big_ = false;
  bool bare_line_ending_ = false;
  bool in_headers_ = true;
  size_t line_len_ = 0;    // content bytes of the current line
  std::string line_head_;  // first bytes of a header line, to spot "Received:"
  int received_headers_ = 0;
};

// The reply for a refused verdict (kAccepted has none: the caller replies after queueing).
SmtpReply DataVerdictReply(DataVerdict verdict);

}  // namespace outpost::smtp_server
