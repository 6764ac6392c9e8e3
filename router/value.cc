#include "router/value.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace outpost::router {
namespace {

const Value::Array& EmptyArray() {
  static const Value::Array kEmpty;
  return kEmpty;
}

std::optional<double> ParseNumber(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return d;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    return ((a < 0) != (b < 0)) ? std::numeric_limits<int64_t>::min()
                                : std::numeric_limits<int64_t>::max();
  }
  return r;
}

// Numeric operand for arithmetic: non-numeric strings count as 0.
Value AsNumber(const Value& v) {
  if (v.is_number()) return v;
  if (v.is_string()) {
    std::string_view s = v.str();
    int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return Value::Int(i);
    if (auto d = ParseNumber(s)) return Value::Float(*d);
  }
  return Value::Int(0);
}

double AsDouble(const Value& v) {
  return v.kind() == Value::Kind::kFloat ? v.floating() : static_cast<double>(v.integer());
}

template <typename IntOp, typename FloatOp>
Value Arithmetic(const Value& a, const Value& b, IntOp iop, FloatOp fop) {
  Value x = AsNumber(a), y = AsNumber(b);
  if (x.kind() == Value::Kind::kInteger && y.kind() == Value::Kind::kInteger) {
    return Value::Int(iop(x.integer(), y.integer()));
  }
  return Value::Float(fop(AsDouble(x), AsDouble(y)));
}

}  // namespace

Value Value::Int(int64_t v) {
  Value r;
  r.kind_ = Kind::kInteger;
  r.i_ = v;
  return r;
}

Value Value::Float(double v) {
  Value r;
  r.kind_ = Kind::kFloat;
  r.f_ = v;
  return r;
}

Value Value::View(std::string_view v) {
  Value r;
  r.kind_ = Kind::kString;
  r.view_ = v;
  return r;
}

Value Value::Owned(std::string v) {
  auto storage = std::make_shared<const std::string>(std::move(v));
  Value r;
  r.kind_ = Kind::kString;
  r.view_ = *storage;
  r.hold_ = std::move(storage);
  return r;
}

Value Value::MakeArray(Array items) {
  Value r;
  r.kind_ = Kind::kArray;
  r.hold_ = std::make_shared<const Array>(std::move(items));
  return r;
}

const Value::Array& Value::array() const {
  return kind_ == Kind::kArray && hold_ ? *static_cast<const Array*>(hold_.get()) : EmptyArray();
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kInteger:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0.0;
    case Kind::kString:
      return !str().empty();
    case Kind::kArray:
      return !array().empty();
  }
  return false;
}

std::optional<double> Value::ToNumber() const {
  switch (kind_) {
    case Kind::kInteger:
      return static_cast<double>(i_);
    case Kind::kFloat:
      return f_;
    case Kind::kString:
      return ParseNumber(str());
    case Kind::kArray:
      return std::nullopt;
  }
  return std::nullopt;
}

int64_t Value::ToInteger() const {
  if (kind_ == Kind::kInteger) return i_;
  auto d = ToNumber();
  if (!d || std::isnan(*d)) return 0;
  if (*d >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (*d <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(*d);
}

std::string Value::ToString() const {
  switch (kind_) {
    case Kind::kInteger:
      return std::to_string(i_);
    case Kind::kFloat: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), f_);
      return ec == std::errc() ? std::string(buf, p) : std::string("0");
    }
    case Kind::kString:
      return std::string(str());
    case Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < array().size(); ++i) {
        if (i) out += ", ";
        out += array()[i].ToString();
      }
      return out + "]";
    }
  }
  return {};
}

Value Value::Detached() const {
  if (kind_ == Kind::kString) return owns() ? *this : Owned(std::string(view_));
  if (kind_ == Kind::kArray) {
    Array items;
    items.reserve(array().size());
    for (const Value& v : array()) items.push_back(v.Detached());
    return MakeArray(std::move(items));
  }
  return *this;
}

bool ValuesEqual(const Value& a, const Value& b) {
  if (a.is_array() || b.is_array()) {
    if (!a.is_array() || !b.is_array() || a.array().size() != b.array().size()) return false;
    for (size_t i = 0; i < a.array().size(); ++i) {
      if (!ValuesEqual(a.array()[i], b.array()[i])) return false;
    }
    return true;
  }
  if (a.is_string() && b.is_string()) return a.str() == b.str();
  auto x = a.ToNumber(), y = b.ToNumber();
  if (!x || !y) return false;
  if (a.kind() == Value::Kind::kInteger && b.kind() == Value::Kind::kInteger) {
    return a.integer() == b.integer();
  }
  return *x == *y;
}

int CompareValues(const Value& a, const Value& b) {
  auto rank = [](const Value& v) { return v.is_array() ? 2 : 0; };
  if (a.is_array() || b.is_array()) {
    if (rank(a) != rank(b)) return rank(a) - rank(b);
    const auto &x = a.array(), &y = b.array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (int c = CompareValues(x[i], y[i]); c != 0) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind() == Value::Kind::kInteger && b.kind() == Value::Kind::kInteger) {
    return a.integer() < b.integer() ? -1 : (a.integer() > b.integer() ? 1 : 0);
  }
  // Mixed string/number: numeric, an unparsable string counting as 0.
  double x = a.ToNumber().value_or(0), y = b.ToNumber().value_or(0);
  return x < y ? -1 : (x > y ? 1 : 0);
}

Value AddValues(const Value& a, const Value& b) {
  if (a.is_array()) {
    Value::Array items = a.array();
    if (b.is_array()) {
      items.insert(items.end(), b.array().begin(), b.array().end());
    } else {
      items.push_back(b);
    }
    return Value::MakeArray(std::move(items));
  }
  if (b.is_array()) {
    Value::Array items;
    items.reserve(b.array().size() + 1);
    items.push_back(a);
    items.insert(items.end(), b.array().begin(), b.array().end());
    return Value::MakeArray(std::move(items));
  }
  if (a.is_string() || b.is_string()) {
    if (a.is_string() && a.str().empty()) return b;
    if (b.is_string() && b.str().empty()) return a;
    return Value::Owned(a.ToString() + b.ToString());
  }
  return Arithmetic(a, b, SaturatingAdd, [](double x, double y) { return x + y; });
}

Value SubtractValues(const Value& a, const Value& b) {
  if (a.is_array()) {
    Value::Array items;
    for (const Value& v : a.array()) {
      bool removed = b.is_array() ? false : ValuesEqual(v, b);
      if (b.is_array()) {
        for (const Value& r : b.array()) removed = removed || ValuesEqual(v, r);
      }
      if (!removed) items.push_back(v);
    }
    return Value::MakeArray(std::move(items));
  }
  return Arithmetic(a, b, SaturatingSub, [](double x, double y) { return x - y; });
}

Value MultiplyValues(const Value& a, const Value& b) {
  return Arithmetic(a, b, SaturatingMul, [](double x, double y) { return x * y; });
}

Value DivideValues(const Value& a, const Value& b) {
  double x = AsDouble(AsNumber(a)), y = AsDouble(AsNumber(b));
  return Value::Float(y == 0.0 ? 0.0 : x / y);
}

Value NegateValue(const Value& a) {
  Value n = AsNumber(a);
  if (n.kind() == Value::Kind::kInteger) return Value::Int(SaturatingSub(0, n.integer()));
  return Value::Float(-n.floating());
}

}  // namespace outpost::router
