#include "transport/smtp/reply_parser.h"

#include <cctype>

namespace outpost::transport::smtp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of a leading RFC 3463 code "c.sss.ddd" (class must equal `klass`), followed by a
// space or the end of text; 0 when there is none.
size_t EnhancedCodeLength(std::string_view text, int klass) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + klass) || text[1] != '.') return 0;
  size_t i = 2;
  size_t digits = 0;
  while (i < text.size() && IsDigit(text[i]) && digits < 3) ++i, ++digits;
  if (digits == 0 || i >= text.size() || text[i] != '.') return 0;
  ++i;
  digits = 0;
  while (i < text.size() && IsDigit(text[i]) && digits < 3) ++i, ++digits;
  if (digits == 0) return 0;
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string Reply::Text() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out.push_back('\n');
    out += lines[i];
  }
  return out;
}

SmtpReply Reply::ToSmtpReply(size_t max_text) const {
  SmtpReply r;
  r.code = code;
  r.enhanced = enhanced;
  r.text = Text();
  if (r.text.size() > max_text) {
    r.text.resize(max_text);
    r.text += "...";
  }
  return r;
}

Status ReplyParser::Fail(std::string message) {
  error_ = Status::InvalidArgument("SMTP protocol error: " + std::move(message));
  buf_.clear();
  pos_ = 0;
  return error_;
}

Status ReplyParser::Feed(std::string_view data) {
  if (!error_.ok()) return error_;
  // Compact consumed bytes so the buffer never grows with the session's history.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data);
  size_t last_nl = buf_.rfind('\n');
  size_t partial_start = last_nl == std::string::npos || last_nl < pos_ ? pos_ : last_nl + 1;
  if (buf_.size() - partial_start > limits_.max_line_bytes) {
    return Fail("reply line longer than " + std::to_string(limits_.max_line_bytes) + " bytes");
  }
  return Status::Ok();
}

void ReplyParser::Clear() {
  buf_.clear();
  pos_ = 0;
  current_ = Reply();
  current_bytes_ = 0;
}

Status ReplyParser::TakeLine(std::string_view line, bool* complete) {
  *complete = false;
  if (line.size() > limits_.max_line_bytes) {
    return Fail("reply line longer than " + std::to_string(limits_.max_line_bytes) + " bytes");
  }
  current_bytes_ += line.size() + 2;
  if (current_bytes_ > limits_.max_reply_bytes || current_.lines.size() >= limits_.max_lines) {
    return Fail("reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes or " +
                std::to_string(limits_.max_lines) + " lines");
  }
  if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2])) {
    return Fail("reply does not start with a 3-digit code: \"" + Sanitize(line.substr(0, 40)) +
                "\"");
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) {
    return Fail("reply code " + std::to_string(code) + " is outside 2xx-5xx");
  }
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return Fail("malformed reply line: \"" + Sanitize(line.substr(0, 40)) + "\"");
    }
  }
  if (!current_.lines.empty() && code != current_.code) {
    return Fail("multi-line reply mixes codes " + std::to_string(current_.code) + " and " +
                std::to_string(code));
  }
  current_.code = code;
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  size_t enh = EnhancedCodeLength(text, code / 100);
  if (enh > 0) {
    if (current_.lines.empty()) current_.enhanced = std::string(text.substr(0, enh));
    text.remove_prefix(enh);
    if (!text.empty()) text.remove_prefix(1);
  }
  current_.lines.push_back(Sanitize(text));
  *complete = last;
  return Status::Ok();
}

StatusOr<std::optional<Reply>> ReplyParser::Next() {
  if (!error_.ok()) return error_;
  while (pos_ < buf_.size()) {
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) break;
    // CRLF is the terminator; a bare LF is tolerated (robustness, RFC 5321 §4.5.3.1.5 note).
    size_t end = nl;
    if (end > pos_ && buf_[end - 1] == '\r') --end;
    std::string_view line(buf_.data() + pos_, end - pos_);
    pos_ = nl + 1;
    bool complete = false;
    OUTPOST_RETURN_IF_ERROR(TakeLine(line, &complete));
    if (complete) {
      Reply done = std::move(current_);
      current_ = Reply();
      current_bytes_ = 0;
      return std::optional<Reply>(std::move(done));
    }
  }
  return std::optional<Reply>();
}

StatusOr<Reply> ParseReply(std::string_view text, ReplyLimits limits) {
  ReplyParser parser(limits);
  OUTPOST_RETURN_IF_ERROR(parser.Feed(text));
  OUTPOST_ASSIGN_OR_RETURN(std::optional<Reply> reply, parser.Next());
  if (!reply.has_value()) {
    return Status::InvalidArgument("SMTP protocol error: incomplete reply");
  }
  if (parser.buffered_bytes() > 0) {
    return Status::InvalidArgument("SMTP protocol error: bytes after the reply");
  }
  return std::move(*reply);
}

}  // namespace outpost::transport::smtp
