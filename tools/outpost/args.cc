#include "tools/outpost/args.h"

namespace outpost::cli {

StatusOr<Args> Args::Parse(std::span<const std::string> args, const std::set<std::string>& valued,
                           const std::set<std::string>& flags) {
  Args out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      out.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flags.count(name)) {
      if (value) return Status::InvalidArgument("--" + name + " takes no value");
      out.flags_.insert(name);
    } else if (valued.count(name)) {
      if (!value) {
        if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
        value = args[++i];
      }
      out.values_[name] = *value;
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return out;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace outpost::cli
