#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::router {

// A value of the expression language (reference/stalwart.md §1.3): integer, float, string or
// array. Booleans are integers 0/1. Strings are either borrowed (a view into the program's
// constants or the caller's Envelope, which outlive one evaluation) or owned (computed), so
// reading a variable or a literal never allocates. Arrays are shared and immutable.
class Value {
 public:
  enum class Kind : uint8_t { kInteger, kFloat, kString, kArray };
  using Array = std::vector<Value>;

  Value() = default;
  static Value Int(int64_t v);
  static Value Bool(bool v) { return Int(v ? 1 : 0); }
  static Value Float(double v);
  // Borrows `v`: the caller keeps the bytes alive while the value is used.
  static Value View(std::string_view v);
  static Value Owned(std::string v);
  static Value MakeArray(Array items);

  Kind kind() const { return kind_; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_number() const { return kind_ == Kind::kInteger || kind_ == Kind::kFloat; }
  int64_t integer() const { return i_; }
  double floating() const { return f_; }
  std::string_view str() const { return view_; }
  // True when this value keeps its bytes alive itself (views into them die with it).
  bool owns() const { return hold_ != nullptr; }
  // A string value holding `part`, a piece of this value's string, sharing its storage (so
  // the piece stays valid however long it is kept). Never copies bytes.
  Value Slice(std::string_view part) const {
    Value r = View(part);
    r.hold_ = hold_;
    return r;
  }
  const Array& array() const;

  // Non-empty string, non-zero number, non-empty array.
  bool Truthy() const;
  // Numeric reading: numbers as they are, strings parsed ("12", "1.5"), else nullopt.
  std::optional<double> ToNumber() const;
  // Integer reading for arguments such as indexes: numbers truncated, strings parsed, else 0.
  int64_t ToInteger() const;
  // Display form: strings raw, integers in decimal, floats shortest, arrays "[a, b]".
  std::string ToString() const;
  // A value that owns everything it refers to (for results kept after evaluation).
  Value Detached() const;

 private:
  // Small on purpose (values are pushed and popped on every instruction): a string is a view
  // plus, when computed, the shared storage it points into; an array lives in `hold_` too.
  Kind kind_ = Kind::kInteger;
  int64_t i_ = 0;
  double f_ = 0;
  std::string_view view_;
  std::shared_ptr<const void> hold_;
};

// Operator semantics of reference/stalwart.md §1.3. Comparison results are Integer 0/1.
bool ValuesEqual(const Value& a, const Value& b);
// <0, 0, >0
int CompareValues(const Value& a, const Value& b);
Value AddValues(const Value& a, const Value& b);
Value SubtractValues(const Value& a, const Value& b);
Value MultiplyValues(const Value& a, const Value& b);
Value DivideValues(const Value& a, const Value& b);
Value NegateValue(const Value& a);

}  // namespace outpost::router
