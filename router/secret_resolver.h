#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::router {

// Where EnvironmentVariable and File secrets come from. The loader asks through this seam so
// the router stays pure and tests can fake the environment and the file system.
class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  // NotFound when the variable is unset.
  virtual StatusOr<std::string> GetEnv(std::string_view name) const = 0;
  // The file's content (one trailing newline removed by the loader); IoError when unreadable.
  virtual StatusOr<std::string> ReadFile(std::string_view path) const = 0;
};

// The real process environment and file system (the one I/O edge of router/).
class SystemSecretResolver : public SecretResolver {
 public:
  StatusOr<std::string> GetEnv(std::string_view name) const override;
  StatusOr<std::string> ReadFile(std::string_view path) const override;
};

// Reads a whole file (used by the loaders' file entry points).
StatusOr<std::string> ReadWholeFile(std::string_view path);

}  // namespace outpost::router
