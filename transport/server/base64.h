#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::smtp_server {

// Standard base64 with padding (RFC 4648 4), as SASL (RFC 4954) uses it.
std::string Base64Encode(std::string_view in);
// Strict: only the standard alphabet, correct padding, no whitespace.
StatusOr<std::string> Base64Decode(std::string_view in);

}  // namespace outpost::smtp_server
