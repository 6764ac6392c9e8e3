#include "queue/dsn/mime_reader.h"

#include "common/base64.h"
#include "queue/dsn/field_codec.h"

namespace outpost::dsn {
namespace {

// Splits off the next line (without its CRLF or LF); returns false at the end.
bool NextLine(std::string_view* in, std::string_view* line) {
  if (in->empty()) return false;
  size_t nl = in->find('\n');
  if (nl == std::string_view::npos) {
    *line = *in;
    in->remove_prefix(in->size());
  } else {
    *line = in->substr(0, nl);
    in->remove_prefix(nl + 1);
  }
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  return true;
}

bool IsFieldNameChar(char c) { return c > 32 && c < 127 && c != ':'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2045 §6.7: "=HH" escapes, "=" at the end of a line is a soft line break.
std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 < in.size() && HexDigit(in[i + 1]) >= 0 && HexDigit(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(in[i + 1]) * 16 + HexDigit(in[i + 2])));
      i += 2;
      continue;
    }
    size_t j = i + 1;
    while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
    if (j < in.size() && in[j] == '\r') ++j;
    if (j < in.size() && in[j] == '\n') {
      i = j;  // soft line break
      continue;
    }
    out.push_back('=');
  }
  return out;
}

}  // namespace

std::optional<std::string> FindField(const std::vector<HeaderField>& fields,
                                     std::string_view name) {
  for (const HeaderField& f : fields) {
    if (EqualsIgnoreCase(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::vector<HeaderField> ReadFields(std::string_view block, std::string_view* rest,
                                    size_t max_fields) {
  std::vector<HeaderField> fields;
  bool current_valid = false;  // whether continuation lines belong to a kept field
  std::string_view line;
  while (NextLine(&block, &line)) {
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      if (current_valid) fields.back().value.append(line);
      continue;
    }
    current_valid = false;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos || fields.size() >= max_fields) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    bool valid = !name.empty();
    for (char c : name) valid = valid && IsFieldNameChar(c);
    if (!valid) continue;
    fields.push_back({std::string(name), std::string(line.substr(colon + 1))});
    current_valid = true;
  }
  for (HeaderField& f : fields) f.value = std::string(TrimWhitespace(f.value));
  if (rest) *rest = block;
  return fields;
}

MimeEntity ReadEntity(std::string_view bytes) {
  MimeEntity e;
  e.headers = ReadFields(bytes, &e.body);
  return e;
}

std::optional<std::string> ContentType::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

ContentType ParseContentType(std::optional<std::string> value) {
  ContentType ct;
  if (!value) return ct;
  std::string_view v = *value;
  size_t semi = v.find(';');
  std::string type = AsciiLower(TrimWhitespace(v.substr(0, semi)));
  if (type.find('/') != std::string::npos) ct.type = type;
  if (semi == std::string_view::npos) return ct;
  v.remove_prefix(semi + 1);
  while (!v.empty()) {
    v = TrimWhitespace(v);
    size_t eq = v.find('=');
    if (eq == std::string_view::npos) break;
    std::string name = AsciiLower(TrimWhitespace(v.substr(0, eq)));
    v.remove_prefix(eq + 1);
    v = TrimWhitespace(v);
    std::string val;
    if (!v.empty() && v[0] == '"') {
      size_t i = 1;
      for (; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        val.push_back(v[i]);
      }
      v.remove_prefix(i < v.size() ? i + 1 : v.size());
      size_t next = v.find(';');
      v.remove_prefix(next == std::string_view::npos ? v.size() : next + 1);
    } else {
      size_t next = v.find(';');
      val = std::string(TrimWhitespace(v.substr(0, next)));
      v.remove_prefix(next == std::string_view::npos ? v.size() : next + 1);
    }
    ct.params.emplace_back(std::move(name), std::move(val));
  }
  return ct;
}

StatusOr<std::vector<std::string_view>> SplitMultipart(std::string_view body,
                                                       std::string_view boundary,
                                                       size_t max_parts) {
  if (boundary.empty()) return Status::InvalidArgument("multipart without a boundary");
  std::string delimiter = "--" + std::string(boundary);
  std::vector<std::string_view> parts;
  bool found = false;
  bool in_part = false;
  size_t part_start = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? body.size() : nl;
    size_t next = nl == std::string_view::npos ? body.size() : nl + 1;
    std::string_view line = body.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with(delimiter)) {
      std::string_view after = line.substr(delimiter.size());
      bool close = after.starts_with("--");
      if (close) after.remove_prefix(2);
      if (TrimWhitespace(after).empty()) {
        found = true;
        if (in_part) {
          // The line break before the delimiter belongs to the delimiter.
          size_t end = pos;
          if (end > part_start && body[end - 1] == '\n') --end;
          if (end > part_start && body[end - 1] == '\r') --end;
          if (parts.size() >= max_parts) return Status::InvalidArgument("too many MIME parts");
          parts.push_back(body.substr(part_start, end - part_start));
        }
        if (close) return parts;
        in_part = true;
        part_start = next;
      }
    }
    pos = next;
  }
  if (!found) return Status::InvalidArgument("multipart boundary not found in the body");
  if (in_part && part_start < body.size()) {
    if (parts.size() >= max_parts) return Status::InvalidArgument("too many MIME parts");
    parts.push_back(body.substr(part_start));
  }
  return parts;
}

StatusOr<std::string> DecodeBody(std::string_view body, std::optional<std::string> encoding) {
  std::string cte = encoding ? AsciiLower(TrimWhitespace(*encoding)) : "7bit";
  if (cte == "7bit" || cte == "8bit" || cte == "binary" || cte.empty()) return std::string(body);
  if (cte == "base64") return Base64DecodeLenient(body);
  if (cte == "quoted-printable") return DecodeQuotedPrintable(body);
  return Status::InvalidArgument("unknown Content-Transfer-Encoding '" +
                                 SanitizeFieldText(cte, false) + "'");
}

}  // namespace outpost::dsn
