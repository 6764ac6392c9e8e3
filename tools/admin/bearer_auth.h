#pragma once
// The admin API's only credential: a bearer token from the config (admin.token).
#include <string_view>

namespace outpost::admin {

// True when `authorization` (the raw Authorization header value, "" when absent) is
// "Bearer <token>" (scheme case-insensitive) with exactly `token`. Always false when `token`
// is empty: an API without a configured token authenticates nobody. The comparison takes
// the same time whatever the presented value (both sides are hashed with SHA-256 first, then
// compared with CRYPTO_memcmp), so neither the token nor its length leaks through timing.
bool BearerMatches(std::string_view authorization, std::string_view token);

}  // namespace outpost::admin
