#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace outpost::router {

struct LegacyImport {
  std::string json;                   // the converted configuration (DESIGN.md §3), pretty-printed
  std::vector<std::string> warnings;  // "<toml key> (line N): <what>", for stderr
};

// Converts a Stalwart <= 0.15 TOML configuration into Outpost's JSON model:
//  - <= 0.12: queue.outbound.next-hop (false -> route 'mx'; the early
//    {if = "rcpt-domain", in-list = "list/x", then = "id"} rule form too), remote.<id>.*
//    (legacy defaults kept, e.g. tls.implicit = true, with a warning on port 25),
//    queue.outbound.{hostname, ip-strategy, source-ip, limits, timeouts, tls.*},
//    queue.schedule.{retry, notify, expire}, queue.threads.*;
//  - 0.13-0.15: queue.strategy.*, queue.route.<id>.*, queue.schedule.<id>.*,
//    queue.virtual.<id>.*, queue.connection.<id>.*, queue.tls.<id>.*;
//  - [list] tables -> "lists"; server.hostname.
// Whatever cannot be converted (SQL lookups, unknown keys, expressions where a value is
// needed) is reported in `warnings`, never dropped silently. TOML syntax errors are
// InvalidArgument "line N: ...". Pure: text in, text out.
StatusOr<LegacyImport> ImportLegacyToml(std::string_view toml);

}  // namespace outpost::router
