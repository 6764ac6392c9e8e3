#pragma once
// RapidJSON (as shipped with cereal; see router/json.h for the Debian packaging detail) under
// one short alias for the admin code.
#include "router/json.h"

namespace outpost::admin {
namespace rj = ::outpost::router::rj;

using JsonWriter = rj::StringWriter;

inline void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rj::SizeType>(s.size()));
}
inline void WriteKey(JsonWriter& w, std::string_view s) {
  w.Key(s.data(), static_cast<rj::SizeType>(s.size()));
}
}  // namespace outpost::admin
