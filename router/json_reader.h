#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/json.h"

namespace outpost::router {

// Collects every configuration error as "<json path>: <message>".
class Diagnostics {
 public:
  void Add(std::string_view path, std::string_view message);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c"; "a" + 2 -> "a[2]".
std::string JoinPath(std::string_view base, std::string_view key);
std::string IndexPath(std::string_view base, size_t index);

// Typed reading of one JSON value with errors recorded at `path`. Each returns false (and
// records an error) when the value has the wrong shape.
bool ReadString(const rj::Value& v, const std::string& path, Diagnostics* d, std::string* out);
bool ReadBool(const rj::Value& v, const std::string& path, Diagnostics* d, bool* out);
bool ReadUint(const rj::Value& v, const std::string& path, Diagnostics* d, uint64_t min,
              uint64_t max, uint64_t* out);
// Strings ("90s", "5m") or integer milliseconds.
bool ReadDuration(const rj::Value& v, const std::string& path, Diagnostics* d,
                  std::chrono::milliseconds* out);
// Integers (bytes) or "KB"/"MB"/"GB" strings (powers of 1024).
bool ReadSize(const rj::Value& v, const std::string& path, Diagnostics* d, uint64_t* out);
bool ReadStringList(const rj::Value& v, const std::string& path, Diagnostics* d,
                    std::vector<std::string>* out);

// Reads the members of one JSON object, remembering which keys were consumed so Finish() can
// reject the rest (typos must not be silently ignored). "@type" and "description" are always
// allowed. Duplicate keys are errors.
class ObjectReader {
 public:
  // Records an error if `v` is not an object (then every getter finds nothing).
  ObjectReader(const rj::Value& v, std::string path, Diagnostics* d);

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  Diagnostics* diagnostics() const { return d_; }
  bool valid() const { return obj_ != nullptr; }

  // The member, marked consumed; null when absent (JSON null counts as absent).
  const rj::Value* Take(std::string_view key);
  // Records "missing" when absent.
  const rj::Value* Require(std::string_view key);

  void String(std::string_view key, std::string* out);
  void Bool(std::string_view key, bool* out);
  template <typename T>
  void Uint(std::string_view key, T* out, uint64_t min, uint64_t max) {
    uint64_t v = 0;
    if (const rj::Value* m = Take(key); m && ReadUint(*m, PathOf(key), d_, min, max, &v)) {
      *out = static_cast<T>(v);
    }
  }
  void Duration(std::string_view key, std::chrono::milliseconds* out);
  void Size(std::string_view key, uint64_t* out);
  void StringList(std::string_view key, std::vector<std::string>* out);
  // "@type" (may be absent).
  std::optional<std::string> Type() const;

  // Reports every key not consumed.
  void Finish();

 private:
  const rj::Value* obj_ = nullptr;
  std::string path_;
  Diagnostics* d_;
  std::vector<std::string> taken_;
};

}  // namespace outpost::router
