#include "queue/dsn/field_codec.h"

#include <cstdint>

#include "common/utf8.h"

namespace outpost::dsn {
namespace {

bool IsSpaceOrCtl(unsigned char c) { return c < 0x20 || c == 0x7f || c == ' '; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

void AppendEmbeddedCodePoint(uint32_t cp, std::string* out) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string digits;
  do {
    digits.insert(digits.begin(), kHex[cp & 0xf]);
    cp >>= 4;
  } while (cp != 0);
  if (digits.size() < 2) digits.insert(digits.begin(), '0');
  out->append("\\x{").append(digits).push_back('}');
}

// RFC 6533 QUCHAR, ASCII part.
bool IsQuchar(unsigned char c) {
  return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\';
}

// Segments of a header value that may start a new line: a fold goes before a space that
// is followed by a non-space, so no continuation line is white space only.
bool IsFoldPoint(std::string_view v, size_t i) {
  return i > 0 && v[i] == ' ' && i + 1 < v.size() && v[i + 1] != ' ';
}

}  // namespace

std::string SanitizeFieldText(std::string_view in, bool allow_utf8) {
  std::string out;
  out.reserve(in.size());
  bool pending_space = false;
  for (size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (IsSpaceOrCtl(c)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t len = allow_utf8 ? Utf8SequenceAt(in, i, nullptr) : 0;
    if (len == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string FoldField(std::string_view name, std::string_view value) {
  std::string out(name);
  out.append(": ");
  size_t line_len = out.size();
  bool fresh = true;  // nothing of the value on the current line yet
  size_t start = 0;
  while (start < value.size()) {
    size_t end = start + 1;
    while (end < value.size() && !IsFoldPoint(value, end)) ++end;
    std::string_view seg = value.substr(start, end - start);
    start = end;
    if (!fresh && line_len + seg.size() > kFoldWidth && seg.front() == ' ') {
      out.append("\r\n");
      line_len = 0;
    }
    // A run without a usable break: split it hard, never inside a UTF-8 sequence.
    while (line_len + seg.size() > kMaxLineOctets) {
      size_t cut = kMaxLineOctets - line_len;
      while (cut > 1 && (static_cast<unsigned char>(seg[cut]) & 0xc0) == 0x80) --cut;
      out.append(seg.substr(0, cut));
      out.append("\r\n ");
      line_len = 1;
      seg.remove_prefix(cut);
    }
    out.append(seg);
    line_len += seg.size();
    fresh = false;
  }
  out.append("\r\n");
  return out;
}

std::string XtextDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

std::string EncodeUtf8AddrUnitext(std::string_view addr) {
  std::string out;
  for (size_t i = 0; i < addr.size();) {
    unsigned char c = static_cast<unsigned char>(addr[i]);
    if (c < 0x80) {
      if (IsQuchar(c)) {
        out.push_back(static_cast<char>(c));
      } else {
        AppendEmbeddedCodePoint(c, &out);
      }
      ++i;
      continue;
    }
    size_t len = Utf8SequenceAt(addr, i, nullptr);
    if (len == 0) {
      AppendEmbeddedCodePoint(0xfffd, &out);
      ++i;
    } else {
      out.append(addr.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string DecodeUtf8Addr(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in.substr(i, 3) == "\\x{") {
      size_t j = i + 3;
      uint32_t cp = 0;
      while (j < in.size() && j - (i + 3) < 6 && HexValue(in[j]) >= 0) {
        cp = cp * 16 + static_cast<uint32_t>(HexValue(in[j]));
        ++j;
      }
      bool valid_cp = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
      if (j > i + 3 && j < in.size() && in[j] == '}' && valid_cp) {
        AppendUtf8(cp, &out);
        i = j;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

bool IsValidEnhancedStatus(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (digits < 1 || digits > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

std::optional<TypedValue> SplitTypedValue(std::string_view field) {
  size_t semi = field.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  return TypedValue{AsciiLower(TrimWhitespace(field.substr(0, semi))),
                    std::string(TrimWhitespace(field.substr(semi + 1)))};
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

std::string_view TrimWhitespace(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace outpost::dsn
