#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::smtp_server {

// Listener user passwords are stored as self-describing PBKDF2-HMAC-SHA256 strings:
//   "$pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>"
// with a random 16-byte salt and a 32-byte hash.

inline constexpr int kDefaultPbkdf2Iterations = 100000;

// Makes a hash for `password` with a fresh random salt (what `outpost passwd` prints).
StatusOr<std::string> MakePasswordHash(std::string_view password,
                                       int iterations = kDefaultPbkdf2Iterations);

// True when `password` matches `hash` (constant-time compare). A malformed `hash` is an
// error, not a mismatch, so configuration mistakes are loud.
StatusOr<bool> VerifyPassword(std::string_view password, std::string_view hash);

// Checks the format only (for config validation).
Status ValidatePasswordHash(std::string_view hash);

}  // namespace outpost::smtp_server
