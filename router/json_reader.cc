#include "router/json_reader.h"

#include <algorithm>

#include "router/units.h"

namespace outpost::router {
namespace {

std::string Kind(const rj::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  return "an object";
}

std::string_view View(const rj::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// "'text'<suffix>", built with append: GCC 12 reports a false -Wrestrict for
// "'" + std::string(...) at -O3.
std::string Quoted(std::string_view text, std::string_view suffix) {
  std::string out;
  out.reserve(text.size() + suffix.size() + 2);
  out.append("'").append(text).append("'").append(suffix);
  return out;
}

}  // namespace

void Diagnostics::Add(std::string_view path, std::string_view message) {
  errors_.push_back((path.empty() ? std::string("(top level)") : std::string(path)) + ": " +
                    std::string(message));
}

std::string JoinPath(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return std::string(base) + "." + std::string(key);
}

std::string IndexPath(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

bool ReadString(const rj::Value& v, const std::string& path, Diagnostics* d, std::string* out) {
  if (!v.IsString()) {
    d->Add(path, "expected a string, found " + Kind(v));
    return false;
  }
  *out = View(v);
  return true;
}

bool ReadBool(const rj::Value& v, const std::string& path, Diagnostics* d, bool* out) {
  if (!v.IsBool()) {
    d->Add(path, "expected true or false, found " + Kind(v));
    return false;
  }
  *out = v.GetBool();
  return true;
}

bool ReadUint(const rj::Value& v, const std::string& path, Diagnostics* d, uint64_t min,
              uint64_t max, uint64_t* out) {
  if (!v.IsNumber()) {
    d->Add(path, "expected a number, found " + Kind(v));
    return false;
  }
  if (!v.IsUint64()) {
    d->Add(path, "expected a non-negative integer");
    return false;
  }
  uint64_t n = v.GetUint64();
  if (n < min || n > max) {
    d->Add(path, std::to_string(n) + " is out of range " + std::to_string(min) + ".." +
                     std::to_string(max));
    return false;
  }
  *out = n;
  return true;
}

bool ReadDuration(const rj::Value& v, const std::string& path, Diagnostics* d,
                  std::chrono::milliseconds* out) {
  if (v.IsString()) {
    if (auto ms = ParseDuration(View(v))) {
      *out = *ms;
      return true;
    }
    d->Add(path, Quoted(View(v), " is not a duration (use e.g. \"500ms\", \"90s\", \"5m\", \"1h\", \"3d\")"));
    return false;
  }
  if (v.IsUint64() && v.GetUint64() <= static_cast<uint64_t>(INT64_MAX)) {
    *out = std::chrono::milliseconds(static_cast<int64_t>(v.GetUint64()));
    return true;
  }
  d->Add(path, "expected a duration (string or milliseconds), found " + Kind(v));
  return false;
}

bool ReadSize(const rj::Value& v, const std::string& path, Diagnostics* d, uint64_t* out) {
  if (v.IsString()) {
    if (auto n = ParseSize(View(v))) {
      *out = *n;
      return true;
    }
    d->Add(path, Quoted(View(v), " is not a size (use bytes or \"KB\", \"MB\", \"GB\")"));
    return false;
  }
  if (v.IsUint64()) {
    *out = v.GetUint64();
    return true;
  }
  d->Add(path, "expected a size (bytes or a string such as \"50MB\"), found " + Kind(v));
  return false;
}

bool ReadStringList(const rj::Value& v, const std::string& path, Diagnostics* d,
                    std::vector<std::string>* out) {
  if (!v.IsArray()) {
    d->Add(path, "expected an array of strings, found " + Kind(v));
    return false;
  }
  bool ok = true;
  out->clear();
  for (rj::SizeType i = 0; i < v.Size(); ++i) {
    std::string s;
    if (ReadString(v[i], IndexPath(path, i), d, &s)) {
      out->push_back(std::move(s));
    } else {
      ok = false;
    }
  }
  return ok;
}

ObjectReader::ObjectReader(const rj::Value& v, std::string path, Diagnostics* d)
    : path_(std::move(path)), d_(d) {
  if (!v.IsObject()) {
    d_->Add(path_, "expected an object, found " + Kind(v));
    return;
  }
  obj_ = &v;
  std::vector<std::string_view> seen;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view k = View(it->name);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      d_->Add(PathOf(k), "duplicate key");
    }
    seen.push_back(k);
  }
}

const rj::Value* ObjectReader::Take(std::string_view key) {
  if (obj_ == nullptr) return nullptr;
  taken_.emplace_back(key);
  for (auto it = obj_->MemberBegin(); it != obj_->MemberEnd(); ++it) {
    if (View(it->name) == key) return it->value.IsNull() ? nullptr : &it->value;
  }
  return nullptr;
}

const rj::Value* ObjectReader::Require(std::string_view key) {
  const rj::Value* v = Take(key);
  if (v == nullptr && obj_ != nullptr) d_->Add(PathOf(key), "missing (required)");
  return v;
}

void ObjectReader::String(std::string_view key, std::string* out) {
  if (const rj::Value* v = Take(key)) ReadString(*v, PathOf(key), d_, out);
}

void ObjectReader::Bool(std::string_view key, bool* out) {
  if (const rj::Value* v = Take(key)) ReadBool(*v, PathOf(key), d_, out);
}

void ObjectReader::Duration(std::string_view key, std::chrono::milliseconds* out) {
  if (const rj::Value* v = Take(key)) ReadDuration(*v, PathOf(key), d_, out);
}

void ObjectReader::Size(std::string_view key, uint64_t* out) {
  if (const rj::Value* v = Take(key)) ReadSize(*v, PathOf(key), d_, out);
}

void ObjectReader::StringList(std::string_view key, std::vector<std::string>* out) {
  if (const rj::Value* v = Take(key)) ReadStringList(*v, PathOf(key), d_, out);
}

std::optional<std::string> ObjectReader::Type() const {
  if (obj_ == nullptr) return std::nullopt;
  auto it = obj_->FindMember("@type");
  if (it == obj_->MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(View(it->value));
}

void ObjectReader::Finish() {
  if (obj_ == nullptr) return;
  for (auto it = obj_->MemberBegin(); it != obj_->MemberEnd(); ++it) {
    std::string_view k = View(it->name);
    if (k == "@type" || k == "description") continue;
    if (std::find(taken_.begin(), taken_.end(), k) == taken_.end()) {
      d_->Add(PathOf(k), "unknown key");
    }
  }
}

}  // namespace outpost::router
