#include "queue/dsn/returned_content.h"

#include "queue/dsn/field_codec.h"

namespace outpost::dsn {
namespace {

bool HasLongLine(std::string_view crlf_text) {
  size_t start = 0;
  while (start < crlf_text.size()) {
    size_t end = crlf_text.find("\r\n", start);
    if (end == std::string_view::npos) end = crlf_text.size();
    if (end - start > kMaxLineOctets) return true;
    start = end + 2;
  }
  return false;
}

// Folds header lines longer than the limit (a fold inserts CRLF + space), so the returned
// headers stay valid even when the original was not.
std::string FoldLongHeaderLines(std::string_view headers) {
  constexpr size_t kChunk = kMaxLineOctets - 1;  // room for the leading space
  std::string out;
  out.reserve(headers.size());
  size_t start = 0;
  while (start < headers.size()) {
    size_t end = headers.find("\r\n", start);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(start, end - start);
    out.append(line.substr(0, kMaxLineOctets));
    for (size_t pos = kMaxLineOctets; pos < line.size(); pos += kChunk) {
      out.append("\r\n ");
      out.append(line.substr(pos, kChunk));
    }
    out.append("\r\n");
    start = end + 2;
  }
  return out;
}

// Cuts a header block to at most `max` bytes, preferably before a line that starts a new
// header field so no field loses its continuation lines.
std::string_view CapHeaders(std::string_view headers, size_t max) {
  if (headers.size() <= max) return headers;
  size_t best_any = 0, best_field = 0;
  for (size_t pos = headers.find("\r\n"); pos != std::string_view::npos && pos + 2 <= max;
       pos = headers.find("\r\n", pos + 2)) {
    best_any = pos + 2;
    if (pos + 2 < headers.size() && headers[pos + 2] != ' ' && headers[pos + 2] != '\t') {
      best_field = pos + 2;
    }
  }
  return headers.substr(0, best_field ? best_field : best_any);
}

}  // namespace

std::string NormalizeCrlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 64);
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r') {
      out.append("\r\n");
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out.append("\r\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view HeaderBlock(std::string_view crlf_message) {
  if (crlf_message.starts_with("\r\n")) return {};
  size_t sep = crlf_message.find("\r\n\r\n");
  return sep == std::string_view::npos ? crlf_message : crlf_message.substr(0, sep + 2);
}

ReturnedContent SelectReturnedContent(std::string_view raw, bool want_full, bool global,
                                      const ReturnedContentLimits& limits) {
  ReturnedContent rc;
  if (raw.empty()) return rc;
  std::string message = NormalizeCrlf(raw);
  if (want_full) {
    if (message.size() > limits.max_full_message_bytes) {
      rc.note = "The message is too large to be returned in full (" +
                std::to_string(message.size()) + " bytes); its headers are attached.";
    } else if (HasLongLine(message)) {
      rc.note = "The message has lines too long to be returned intact; its headers are attached.";
    } else {
      rc.full = true;
      rc.eight_bit = !IsAscii(message);
      rc.content_type = global ? "message/global" : "message/rfc822";
      rc.body = std::move(message);
      return rc;
    }
  }
  std::string_view headers = CapHeaders(HeaderBlock(message), limits.max_header_bytes);
  if (headers.empty()) return rc;
  rc.body = FoldLongHeaderLines(headers);
  rc.eight_bit = !IsAscii(rc.body);
  rc.content_type = global ? "message/global-headers" : "text/rfc822-headers";
  return rc;
}

}  // namespace outpost::dsn
