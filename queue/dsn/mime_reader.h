#pragma once

// A small, total MIME reader: header blocks with continuation lines, Content-Type
// parameters, multipart bodies and the base64 / quoted-printable transfer encodings. Enough to
// take DSNs apart; it tolerates LF-only line endings. Views point into the caller's bytes.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace outpost::dsn {

struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded (line breaks removed, white space kept), trimmed
};

// Looks a field up by name, case-insensitively; the first occurrence wins.
std::optional<std::string> FindField(const std::vector<HeaderField>& fields, std::string_view name);

// Reads header lines up to an empty line or the end of `block`; `*rest` (if given) receives
// what follows the empty line. Lines that are not fields (no colon, or a continuation before
// any field) are skipped. At most `max_fields` fields are kept.
std::vector<HeaderField> ReadFields(std::string_view block, std::string_view* rest = nullptr,
                                    size_t max_fields = 1000);

// A MIME entity: its header fields and its (still encoded) body.
struct MimeEntity {
  std::vector<HeaderField> headers;
  std::string_view body;
};
MimeEntity ReadEntity(std::string_view bytes);

struct ContentType {
  std::string type = "text/plain";                          // lower-cased "type/subtype"
  std::vector<std::pair<std::string, std::string>> params;  // names lower-cased, unquoted
  std::optional<std::string> Param(std::string_view name) const;
};
// RFC 2045 §5.1, with RFC 2045's default (text/plain) when absent or unreadable.
ContentType ParseContentType(std::optional<std::string> value);

// The body parts of a multipart body, between "--boundary" delimiter lines (RFC 2046
// §5.1.1); a missing close delimiter ends the last part at the end of the input.
// InvalidArgument when the boundary is empty or never appears, or beyond `max_parts`.
StatusOr<std::vector<std::string_view>> SplitMultipart(std::string_view body,
                                                       std::string_view boundary,
                                                       size_t max_parts = 100);

// Decodes a body by its Content-Transfer-Encoding (7bit, 8bit, binary, base64,
// quoted-printable; absent = 7bit). InvalidArgument for an unknown encoding.
StatusOr<std::string> DecodeBody(std::string_view body, std::optional<std::string> encoding);

}  // namespace outpost::dsn
