#include "router/secret_resolver.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace outpost::router {

StatusOr<std::string> SystemSecretResolver::GetEnv(std::string_view name) const {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return Status::NotFound("environment variable " + std::string(name) + " is not set");
  return std::string(v);
}

StatusOr<std::string> SystemSecretResolver::ReadFile(std::string_view path) const {
  return ReadWholeFile(path);
}

StatusOr<std::string> ReadWholeFile(std::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return Status::IoError("cannot read " + std::string(path) + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + std::string(path));
  return ss.str();
}

}  // namespace outpost::router
