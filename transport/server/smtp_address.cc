#include "transport/server/smtp_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace outpost::smtp_server {
namespace {

constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2
constexpr size_t kMaxPath = 256;      // RFC 5321 4.5.3.1.3, brackets included

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsAtext(unsigned char c) {
  return IsAlnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr || c >= 0x80;
}

// The local part: Dot-string or Quoted-string. Returns its length within `in` or 0.
size_t ScanLocalPart(std::string_view in) {
  if (in.empty()) return 0;
  if (in[0] == '"') {
    size_t i = 1;
    while (i < in.size()) {
      unsigned char c = in[i];
      if (c == '"') return i + 1;
      if (c == '\\') {
        if (i + 1 >= in.size()) return 0;
        unsigned char q = in[i + 1];
        if (q < 32 || q > 126) return 0;
        i += 2;
        continue;
      }
      if (c < 32 || c == 127) return 0;
      ++i;
    }
    return 0;  // unterminated
  }
  size_t i = 0;
  bool need_atext = true;
  while (i < in.size()) {
    unsigned char c = in[i];
    if (IsAtext(c)) {
      need_atext = false;
    } else if (c == '.' && !need_atext) {
      need_atext = true;
    } else {
      break;
    }
    ++i;
  }
  if (need_atext) return 0;  // empty, leading dot, trailing dot or ".."
  return i;
}

bool IsValidLabel(std::string_view label, bool allow_utf8) {
  if (label.empty() || label.size() > 63) return false;
  for (size_t i = 0; i < label.size(); ++i) {
    unsigned char c = label[i];
    bool ok =
        IsAlnum(c) || (c == '-' && i != 0 && i + 1 != label.size()) || (c >= 0x80 && allow_utf8);
    if (!ok) return false;
  }
  return true;
}

bool IsValidAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string inner(s.substr(1, s.size() - 2));
  unsigned char buf[16];
  if (inner.size() > 5 && EqualsIgnoreCase(std::string_view(inner).substr(0, 5), "IPv6:")) {
    return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  }
  return inet_pton(AF_INET, inner.c_str(), buf) == 1;
}

}  // namespace

std::string Mailbox::ToString() const {
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

bool Mailbox::IsAscii() const {
  for (unsigned char c : local_part) {
    if (c >= 0x80) return false;
  }
  for (unsigned char c : domain) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

bool IsValidDomainOrLiteral(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  if (s.front() == '[') return IsValidAddressLiteral(s);
  if (allow_utf8 && !IsValidUtf8(s)) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsValidLabel(label, allow_utf8)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

StatusOr<ParsedPath> ParsePath(std::string_view in, const PathOptions& options) {
  if (in.empty() || in[0] != '<') {
    return Status::InvalidArgument("address must be enclosed in <>");
  }
  // A '>' may appear inside a quoted local part, so the path is scanned, not split on '>'.
  ParsedPath out;
  std::string_view rest = in.substr(1);
  if (!rest.empty() && rest[0] == '>') {
    if (!options.allow_null) return Status::InvalidArgument("empty address not allowed here");
    out.null_path = true;
    out.consumed = 2;
    return out;
  }
  size_t pos = 1;
  // Optional source route: "@a,@b:" — skipped.
  if (pos < in.size() && in[pos] == '@') {
    size_t colon = in.find(':', pos);
    if (colon == std::string_view::npos) return Status::InvalidArgument("bad source route");
    std::string_view route = in.substr(pos, colon - pos);
    size_t s = 0;
    while (s < route.size()) {
      size_t comma = route.find(',', s);
      std::string_view hop = route.substr(s, comma == route.npos ? route.npos : comma - s);
      if (hop.size() < 2 || hop[0] != '@' || !IsValidDomainOrLiteral(hop.substr(1), false)) {
        return Status::InvalidArgument("bad source route");
      }
      if (comma == route.npos) break;
      s = comma + 1;
    }
    pos = colon + 1;
  }
  size_t local_len = ScanLocalPart(in.substr(pos));
  if (local_len == 0) return Status::InvalidArgument("bad local part");
  if (local_len > kMaxLocalPart) return Status::InvalidArgument("local part longer than 64");
  out.mailbox.local_part = std::string(in.substr(pos, local_len));
  if (!IsValidUtf8(out.mailbox.local_part)) return Status::InvalidArgument("invalid UTF-8");
  pos += local_len;
  if (pos < in.size() && in[pos] == '>') {
    if (options.allow_postmaster && EqualsIgnoreCase(out.mailbox.local_part, "postmaster")) {
      out.consumed = pos + 1;
      return out;
    }
    return Status::InvalidArgument("address needs a domain");
  }
  if (pos >= in.size() || in[pos] != '@') return Status::InvalidArgument("bad address syntax");
  ++pos;
  size_t end = in.find('>', pos);
  if (end == std::string_view::npos) return Status::InvalidArgument("missing '>'");
  std::string_view domain = in.substr(pos, end - pos);
  if (!IsValidDomainOrLiteral(domain, true)) return Status::InvalidArgument("bad domain");
  out.mailbox.domain = std::string(domain);
  out.consumed = end + 1;
  if (out.consumed > kMaxPath) return Status::InvalidArgument("address longer than 256");
  return out;
}

}  // namespace outpost::smtp_server
