#pragma once
// The JSON shapes of DESIGN.md §6, produced in ONE place so the admin API and the CLI's
// offline mode (--data-dir) print exactly the same documents. Compact JSON, one document, no
// trailing newline. Times are RFC 3339 (UTC, seconds); an unset time (0) is null.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/consistency.h"
#include "queue/types.h"

namespace outpost::admin {

// {"id","returnPath","size","receivedAt","source","recipients":[{"address","state","retryNum",
//  "lastError","lastReply":{"code","enhanced","text","host"},"nextAttemptAt","expiresAt",
//  "queue","attempts":[{"at","route","host","ip","reply","durationMs"}]}]}
// nextAttemptAt is null unless the recipient is scheduled or deferred; an attempt's "reply"
// is "<code> <enhanced> <text>" ("" when the attempt got no reply, e.g. a connect failure).
std::string MessageToJson(const queue::QueuedMessage& m);
// {"items":[<message>...],"cursor":"..."} ("" when the last page was reached).
std::string ListPageToJson(const queue::ListPage& page);

// A destination suspended by the operator: kind "domain" or "route".
struct SuspendedDestination {
  std::string kind;
  std::string name;
};

// {"suspended":[{"kind","name"}]}: the answer of suspend and resume.
std::string SuspendedToJson(const std::vector<SuspendedDestination>& suspended);

// {"messages","byState":{state:n},"byQueue":{queue:n},"topDestinations":[{"domain","count"}],
//  "oldestActiveReceivedAt","oldestActiveAgeSeconds","quarantined","suspended":[{"kind","name"}]}
// `suspended` is omitted when `include_suspended` is false (offline: nothing is known).
std::string StatsToJson(const queue::QueueStats& s, int64_t now_unix_ms,
                        const std::vector<SuspendedDestination>& suspended,
                        bool include_suspended);

// {"messages","changed","skipped","inFlight","notFound","cursor"}.
std::string OpCountsToJson(const queue::OpCounts& c);

// {"ok","messages","recipients","bodies","dueKeys","failedKeys","doneKeys","quarantined",
//  "problemCount","problems":[text]} (the first 100 problems): `outpost queue check --json`.
std::string ConsistencyToJson(const queue::ConsistencyReport& r);

// {"error": message}: every non-2xx answer of the admin API.
std::string ErrorJson(std::string_view message);

// "authenticated", "unauthenticated", "dsn", "report", "api" ("unknown" otherwise).
std::string_view SourceName(int source);

}  // namespace outpost::admin
