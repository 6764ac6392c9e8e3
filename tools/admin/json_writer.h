#pragma once
// RapidJSON (as shipped with cereal; see router/json.h for the Debian packaging detail) under
// one short alias for the admin code.
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "router/json.h"

namespace outpost::admin {
namespace rj = ::outpost::router::rj;

using JsonWriter = rj::StringWriter;

// Every string the admin API writes goes through these two. Stored text can hold any bytes
// (peer replies, 8-bit envelope addresses: proto fields are `bytes`), and RapidJSON copies
// them as they are, which strict JSON parsers refuse. Bytes that are not well-formed UTF-8
// become U+FFFD; control characters are escaped by RapidJSON itself.
inline void WriteString(JsonWriter& w, std::string_view s) {
  if (IsValidUtf8(s)) {
    w.String(s.data(), static_cast<rj::SizeType>(s.size()));
    return;
  }
  std::string valid = ToValidUtf8(s);
  w.String(valid.data(), static_cast<rj::SizeType>(valid.size()));
}
inline void WriteKey(JsonWriter& w, std::string_view s) {
  if (IsValidUtf8(s)) {
    w.Key(s.data(), static_cast<rj::SizeType>(s.size()));
    return;
  }
  std::string valid = ToValidUtf8(s);
  w.Key(valid.data(), static_cast<rj::SizeType>(valid.size()));
}
}  // namespace outpost::admin
