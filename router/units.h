#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace outpost::router {

// "500ms", "90s", "5m", "1h", "3d", "1w" (also with a space, "5 m") -> milliseconds.
// A bare integer is not a duration here (callers decide what integers mean).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "1024", "512KB", "50MB", "1GB" (powers of 1024; "K"/"M"/"G" and lower case accepted) -> bytes.
std::optional<uint64_t> ParseSize(std::string_view text);

// The shortest exact spelling of a duration: 120000 -> "2m", 1500 -> "1500ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace outpost::router
