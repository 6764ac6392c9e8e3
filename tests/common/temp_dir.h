#pragma once
// A fresh directory under /tmp for one test, removed with everything in it at the end.
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace outpost::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "outpost-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace outpost::testing
