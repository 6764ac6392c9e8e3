#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "router/config.h"
#include "router/secret_resolver.h"

namespace outpost::router {

// A hand-written SecretResolver: a fixed environment and file system.
class FakeSecrets : public SecretResolver {
 public:
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;

  StatusOr<std::string> GetEnv(std::string_view name) const override {
    auto it = env.find(std::string(name));
    if (it == env.end()) {
      return Status::NotFound("environment variable " + std::string(name) + " is not set");
    }
    return it->second;
  }
  StatusOr<std::string> ReadFile(std::string_view path) const override {
    auto it = files.find(std::string(path));
    if (it == files.end()) return Status::IoError("cannot read " + std::string(path));
    return it->second;
  }
};

inline std::string SourceDir() {
  const char* dir = std::getenv("OUTPOST_SOURCE_DIR");
  return dir ? dir : ".";
}

inline std::string TestdataPath(const std::string& name) {
  return SourceDir() + "/tests/router/testdata/" + name;
}

}  // namespace outpost::router
