#pragma once
// Base64 (RFC 4648 §4, standard alphabet): the one codec for SASL (strict) and MIME bodies
// (lenient).
#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost {

// With padding.
std::string Base64Encode(std::string_view in);
// Strict, as SASL (RFC 4954) wants it: only the alphabet, correct padding, no whitespace.
StatusOr<std::string> Base64Decode(std::string_view in);
// Lenient, for MIME bodies (RFC 2045 §6.8): characters outside the alphabet (line breaks,
// junk) are skipped and decoding stops at the first '='.
std::string Base64DecodeLenient(std::string_view in);

}  // namespace outpost
