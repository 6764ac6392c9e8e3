#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace outpost::router {

struct TomlKeyValue;

// A parsed TOML value. Tables keep their keys in file order. `line` is where the value (or,
// for tables, the header or first key) appears, for messages about converted keys.
struct TomlValue {
  enum class Type { kString, kInteger, kFloat, kBool, kArray, kTable };
  Type type = Type::kTable;
  std::string str;
  int64_t integer = 0;
  double floating = 0;
  bool boolean = false;
  std::vector<TomlValue> array;
  // Not std::pair: clang rejects pair<string, TomlValue> while TomlValue is incomplete.
  std::vector<TomlKeyValue> table;
  int line = 0;
  bool inline_table = false;  // { ... } (closed: no keys may be added later)
  bool array_of_tables = false;  // created by [[header]]

  const TomlValue* Find(std::string_view key) const;
  bool is_table() const { return type == Type::kTable; }
  bool is_string() const { return type == Type::kString; }
  bool is_array() const { return type == Type::kArray; }
};

struct TomlKeyValue {
  std::string first;  // the key
  TomlValue second;
};

// Parses the subset of TOML 1.0 that Stalwart configurations use: comments, [tables],
// [[arrays of tables]], dotted and quoted keys, basic and literal strings (also multi-line)
// with escapes, integers (with _ and 0x/0o/0b), floats, booleans, arrays and inline tables.
// Dates are not supported. Errors: InvalidArgument "line N: <what>". Never crashes on hostile
// input (bounded nesting).
StatusOr<TomlValue> ParseToml(std::string_view text);

}  // namespace outpost::router
