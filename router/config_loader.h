#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "router/config.h"
#include "router/secret_resolver.h"

namespace outpost::router {

// Parses and validates the JSON configuration of DESIGN.md §3. Every section is optional;
// built-in objects are merged by name and each strategy expression defaults on its own.
// Unknown keys (except "@type" and "description"), bad values, expressions that do not compile
// and literal strategy results naming no object are all errors. On failure the Status is
// InvalidArgument and its message lists every error, one per line, each starting with its
// JSON path: "routes[2].port: 70000 is not a port". Pure apart from `secrets`.
// EnvironmentVariable/File secrets are resolved through `secrets` (an unset variable or an
// unreadable file is an error); with null they are not resolved (Secret::value stays empty),
// for tools that only evaluate policy, such as `route explain`.
StatusOr<std::shared_ptr<const Config>> LoadConfig(std::string_view json,
                                                   const SecretResolver* secrets);

// Reads `path` and calls LoadConfig. A read failure is IoError.
StatusOr<std::shared_ptr<const Config>> LoadConfigFile(std::string_view path,
                                                       const SecretResolver* secrets);

// The built-in configuration (what an empty "{}" gives).
std::shared_ptr<const Config> DefaultConfig();

}  // namespace outpost::router
