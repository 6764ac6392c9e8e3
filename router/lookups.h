#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace outpost::router {

// Hashing that lets unordered containers of std::string be searched with a string_view
// without building a temporary string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// One named list from the config's "lists" section: an array (a set; key_get returns the key
// itself) or an object (a map; key_get returns the mapped string).
struct NamedList {
  std::string name;
  StringMap<std::string> entries;
};

// The directory-like data expression functions consult (is_local_domain, is_local_address,
// key_exists, key_get). Immutable after load; lower-cased keys for domains and users.
struct Lookups {
  StringSet local_domains;
  // Local parts accepted in local domains; nullopt = every local part (no user directory).
  std::optional<StringSet> local_users;
  std::vector<NamedList> lists;
  StringMap<size_t> list_index;

  const NamedList* FindList(std::string_view name) const {
    auto it = list_index.find(name);
    return it == list_index.end() ? nullptr : &lists[it->second];
  }
};

}  // namespace outpost::router
