#include "transport/server/data_reader.h"

#include <cstring>

#include "transport/server/smtp_address.h"
#include "transport/server/smtp_command.h"

namespace outpost::smtp_server {
namespace {

constexpr size_t kLineHeadBytes = 16;

bool IsReceivedHeader(std::string_view head) {
  if (head.size() < 8 || !EqualsIgnoreCase(head.substr(0, 8), "Received")) return false;
  head.remove_prefix(8);
  while (!head.empty() && (head.front() == ' ' || head.front() == '\t')) head.remove_prefix(1);
  return !head.empty() && head.front() == ':';
}

// The first CR or LF at or after `from`, or in.size(). Two memchr scans beat find_first_of.
size_t FindLineEnd(std::string_view in, size_t from) {
  const char* base = in.data();
  const char* end = base + in.size();
  const char* cr = static_cast<const char*>(std::memchr(base + from, '\r', end - base - from));
  const char* stop = cr != nullptr ? cr : end;
  const char* lf = static_cast<const char*>(std::memchr(base + from, '\n', stop - base - from));
  return static_cast<size_t>((lf != nullptr ? lf : stop) - base);
}

}  // namespace

void DataReader::Emit(std::string_view bytes) {
  if (in_headers_ && line_head_.size() < kLineHeadBytes) {
    line_head_.append(bytes.substr(0, kLineHeadBytes - line_head_.size()));
  }
  line_len_ += bytes.size();
  Append(bytes);
}

void DataReader::Append(std::string_view bytes) {
  size_ += bytes.size();
  if (too_big_) return;
  if (size_ > limits_.max_size) {
    too_big_ = true;
    std::string().swap(body_);  // release the memory now; from here on only count
    return;
  }
  body_.append(bytes);
}

void DataReader::EndLine() {
  if (in_headers_) {
    if (line_len_ == 0) {
      in_headers_ = false;  // the empty line ends the header block
    } else if (IsReceivedHeader(line_head_)) {
      ++received_headers_;
    }
  }
  line_len_ = 0;
  line_head_.clear();
  Append("\r\n");
}

void DataReader::BareCr() {
  bare_line_ending_ = true;
  Emit("\r");
  state_ = State::kInLine;  // the byte after it is reprocessed as line content
}

size_t DataReader::Consume(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    char c = in[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++i;
        } else {
          state_ = State::kInLine;  // reprocess c as line content
        }
        break;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
        } else {
          state_ = State::kInLine;  // dot-unstuffing: the leading dot is dropped
        }
        break;
      case State::kDotCr:
        if (c == '\n') {
          state_ = State::kDone;
          ++i;
        } else {
          BareCr();  // ".\r" then something else: data, never an end marker
        }
        break;
      case State::kInLine: {
        size_t end = FindLineEnd(in, i);
        if (end > i) Emit(in.substr(i, end - i));
        i = end;
        if (i < in.size()) {
          if (in[i] == '\r') {
            state_ = State::kCr;
          } else {
            bare_line_ending_ = true;  // a bare LF is data, and does not start a line
            Emit("\n");
          }
          ++i;
        }
        break;
      }
      case State::kCr:
        if (c == '\n') {
          EndLine();
          state_ = State::kLineStart;
          ++i;
        } else {
          BareCr();
        }
        break;
      case State::kDone:
        break;
    }
  }
  return i;
}

DataVerdict DataReader::verdict() const {
  if (bare_line_ending_) return DataVerdict::kBareLineEnding;
  if (too_big_) return DataVerdict::kTooBig;
  if (received_headers_ > limits_.max_received_headers) return DataVerdict::kLoop;
  return DataVerdict::kAccepted;
}

SmtpReply DataVerdictReply(DataVerdict verdict) {
  switch (verdict) {
    case DataVerdict::kBareLineEnding:
      return Reply(554, "5.6.0", "Message refused: bare LF/CR not allowed, use CRLF");
    case DataVerdict::kTooBig:
      return Reply(552, "5.3.4", "Message size exceeds fixed limit");
    case DataVerdict::kLoop:
      return Reply(554, "5.4.6", "Too many Received headers: mail loop detected");
    case DataVerdict::kAccepted:
      break;
  }
  return Reply(250, "2.0.0", "Ok");
}

}  // namespace outpost::smtp_server
