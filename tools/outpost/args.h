#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace outpost::cli {

// Options after a subcommand: "--name value", "--name=value" and boolean "--flag"; everything
// else is positional. Unknown options are errors (a typo must not be ignored).
class Args {
 public:
  // `valued`: options that take a value; `flags`: options that do not.
  static StatusOr<Args> Parse(std::span<const std::string> args,
                              const std::set<std::string>& valued,
                              const std::set<std::string>& flags);

  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& name) const { return flags_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

}  // namespace outpost::cli
