#pragma once
// UTF-8 well-formedness (RFC 3629): the one validator for SMTP addresses, DSN fields and the
// admin API's JSON, where peer replies and envelope addresses may hold any bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace outpost {

// Length (1-4) of the well-formed UTF-8 sequence that starts at s[i], or 0 when there is none
// there (stray continuation byte, truncated sequence, overlong form, surrogate, > U+10FFFF).
// `cp`, when given, receives the code point. Requires i < s.size().
size_t Utf8SequenceAt(std::string_view s, size_t i, uint32_t* cp = nullptr);

// True when all of `s` is well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD, so the
// result is valid UTF-8 and shows where the bad bytes were; valid input is returned as is.
std::string ToValidUtf8(std::string_view s);

}  // namespace outpost
