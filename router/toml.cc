#include "router/toml.h"

#include <charconv>

namespace outpost::router {
namespace {

constexpr int kMaxDepth = 64;

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class TomlParser {
 public:
  explicit TomlParser(std::string_view text) : s_(text) {}

  StatusOr<TomlValue> Parse() {
    root_.type = TomlValue::Type::kTable;
    root_.line = 1;
    while (true) {
      SkipBlankLines();
      if (AtEnd()) break;
      if (Peek() == '[') {
        OUTPOST_RETURN_IF_ERROR(ParseHeader());
      } else {
        OUTPOST_ASSIGN_OR_RETURN(TomlValue* table, CurrentTable());
        OUTPOST_RETURN_IF_ERROR(ParseKeyValue(table));
      }
      OUTPOST_RETURN_IF_ERROR(ExpectLineEnd());
    }
    return std::move(root_);
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  void Advance() {
    if (s_[pos_] == '\n') ++line_;
    ++pos_;
  }
  Status Error(std::string_view what) const {
    return Status::InvalidArgument("line " + std::to_string(line_) + ": " + std::string(what));
  }

  void SkipSpaces() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) Advance();
  }
  void SkipComment() {
    if (Peek() == '#') {
      while (!AtEnd() && Peek() != '\n') Advance();
    }
  }
  // Whitespace, newlines and comments (inside arrays and between statements).
  void SkipBlankLines() {
    while (!AtEnd()) {
      SkipSpaces();
      SkipComment();
      if (Peek() == '\n' || Peek() == '\r') {
        Advance();
      } else {
        break;
      }
    }
  }
  Status ExpectLineEnd() {
    SkipSpaces();
    SkipComment();
    if (Peek() == '\r') Advance();
    if (AtEnd()) return Status::Ok();
    if (Peek() != '\n') return Error(std::string("unexpected '") + Peek() + "' after value");
    Advance();
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> ParseKey() {
    std::vector<std::string> parts;
    while (true) {
      SkipSpaces();
      std::string part;
      if (Peek() == '"' || Peek() == '\'') {
        OUTPOST_ASSIGN_OR_RETURN(part, ParseString());
      } else {
        while (!AtEnd() && IsBareKeyChar(Peek())) {
          part.push_back(Peek());
          Advance();
        }
        if (part.empty()) {
          return Error(AtEnd() ? std::string("expected a key") 
                               : std::string("expected a key, found '") + Peek() + "'");
        }
      }
      parts.push_back(std::move(part));
      SkipSpaces();
      if (Peek() != '.') return parts;
      Advance();
    }
  }

  static TomlValue* FindChild(TomlValue* table, const std::string& key) {
    for (auto& [k, v] : table->table) {
      if (k == key) return &v;
    }
    return nullptr;
  }

  // Walks/creates `path` of tables from `table`. Arrays of tables descend into their last
  // element. `define` is set for [header] lines (which may not repeat).
  StatusOr<TomlValue*> Descend(TomlValue* table, const std::vector<std::string>& path,
                               size_t count) {
    for (size_t i = 0; i < count; ++i) {
      TomlValue* child = FindChild(table, path[i]);
      if (child == nullptr) {
        TomlValue t;
        t.type = TomlValue::Type::kTable;
        t.line = line_;
        table->table.push_back(TomlKeyValue{path[i], std::move(t)});
        child = &table->table.back().second;
      } else if (child->type == TomlValue::Type::kArray && child->array_of_tables) {
        child = &child->array.back();
      } else if (child->type != TomlValue::Type::kTable || child->inline_table) {
        return Error("key '" + path[i] + "' is already defined as a value");
      }
      table = child;
    }
    return table;
  }

  StatusOr<TomlValue*> CurrentTable() { return Descend(&root_, current_, current_.size()); }

  Status ParseHeader() {
    Advance();  // '['
    bool array = Peek() == '[';
    if (array) Advance();
    OUTPOST_ASSIGN_OR_RETURN(std::vector<std::string> path, ParseKey());
    if (Peek() != ']') return Error("expected ']' to close the table header");
    Advance();
    if (array) {
      if (Peek() != ']') return Error("expected ']]' to close the array-of-tables header");
      Advance();
      OUTPOST_ASSIGN_OR_RETURN(TomlValue* parent, Descend(&root_, path, path.size() - 1));
      TomlValue* arr = FindChild(parent, path.back());
      if (arr == nullptr) {
        TomlValue a;
        a.type = TomlValue::Type::kArray;
        a.array_of_tables = true;
        a.line = line_;
        parent->table.push_back(TomlKeyValue{path.back(), std::move(a)});
        arr = &parent->table.back().second;
      } else if (!arr->array_of_tables) {
        return Error("'" + path.back() + "' is not an array of tables");
      }
      TomlValue t;
      t.type = TomlValue::Type::kTable;
      t.line = line_;
      arr->array.push_back(std::move(t));
    } else {
      std::string joined;
      for (const std::string& p : path) {
        if (!joined.empty()) joined.push_back('.');
        joined.append(p);
      }
      for (const std::string& d : defined_) {
        if (d == joined) return Error("table [" + joined + "] defined twice");
      }
      defined_.push_back(joined);
      OUTPOST_RETURN_IF_ERROR(Descend(&root_, path, path.size()).status());
    }
    current_ = std::move(path);
    return Status::Ok();
  }

  Status ParseKeyValue(TomlValue* table) {
    int key_line = line_;
    OUTPOST_ASSIGN_OR_RETURN(std::vector<std::string> key, ParseKey());
    if (Peek() != '=') return Error("expected '=' after key");
    Advance();
    SkipSpaces();
    OUTPOST_ASSIGN_OR_RETURN(TomlValue value, ParseValue(0));
    value.line = key_line;
    OUTPOST_ASSIGN_OR_RETURN(TomlValue* parent, Descend(table, key, key.size() - 1));
    if (FindChild(parent, key.back()) != nullptr) {
      return Error("key '" + key.back() + "' defined twice");
    }
    parent->table.push_back(TomlKeyValue{key.back(), std::move(value)});
    return Status::Ok();
  }

  StatusOr<TomlValue> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error("values nested too deeply");
    TomlValue v;
    v.line = line_;
    char c = Peek();
    if (c == '"' || c == '\'') {
      v.type = TomlValue::Type::kString;
      OUTPOST_ASSIGN_OR_RETURN(v.str, ParseString());
    } else if (c == '[') {
      Advance();
      v.type = TomlValue::Type::kArray;
      while (true) {
        SkipBlankLines();
        if (Peek() == ']') {
          Advance();
          break;
        }
        OUTPOST_ASSIGN_OR_RETURN(TomlValue item, ParseValue(depth + 1));
        v.array.push_back(std::move(item));
        SkipBlankLines();
        if (Peek() == ',') {
          Advance();
        } else if (Peek() == ']') {
          Advance();
          break;
        } else {
          return Error("expected ',' or ']' in array");
        }
      }
    } else if (c == '{') {
      Advance();
      v.type = TomlValue::Type::kTable;
      SkipSpaces();
      if (Peek() == '}') {
        Advance();
      } else {
        while (true) {
          OUTPOST_ASSIGN_OR_RETURN(std::vector<std::string> key, ParseKey());
          if (Peek() != '=') return Error("expected '=' in inline table");
          Advance();
          SkipSpaces();
          OUTPOST_ASSIGN_OR_RETURN(TomlValue item, ParseValue(depth + 1));
          OUTPOST_ASSIGN_OR_RETURN(TomlValue* parent, Descend(&v, key, key.size() - 1));
          if (FindChild(parent, key.back()) != nullptr) {
            return Error("key '" + key.back() + "' defined twice");
          }
          parent->table.push_back(TomlKeyValue{key.back(), std::move(item)});
          SkipSpaces();
          if (Peek() == ',') {
            Advance();
          } else if (Peek() == '}') {
            Advance();
            break;
          } else {
            return Error("expected ',' or '}' in inline table");
          }
        }
      }
      v.inline_table = true;
    } else {
      OUTPOST_RETURN_IF_ERROR(ParseScalar(&v));
    }
    return v;
  }

  Status ParseScalar(TomlValue* v) {
    size_t start = pos_;
    while (!AtEnd() && (IsBareKeyChar(Peek()) || Peek() == '+' || Peek() == '.')) Advance();
    std::string_view word = s_.substr(start, pos_ - start);
    if (word == "true" || word == "false") {
      v->type = TomlValue::Type::kBool;
      v->boolean = word == "true";
      return Status::Ok();
    }
    if (word.empty()) {
      return Error(AtEnd() || Peek() == '\n' ? std::string("missing value")
                                             : std::string("unexpected '") + Peek() + "'");
    }
    std::string digits;
    for (char c : word) {
      if (c != '_') digits.push_back(c);
    }
    std::string_view d = digits;
    bool negative = false;
    if (!d.empty() && (d[0] == '+' || d[0] == '-')) {
      negative = d[0] == '-';
      d.remove_prefix(1);
    }
    int base = 10;
    if (d.size() > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b')) {
      base = d[1] == 'x' ? 16 : d[1] == 'o' ? 8 : 2;
      d.remove_prefix(2);
    }
    int64_t i = 0;
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), i, base);
    if (ec == std::errc() && p == d.data() + d.size()) {
      v->type = TomlValue::Type::kInteger;
      v->integer = negative ? -i : i;
      return Status::Ok();
    }
    if (base == 10) {
      double f = 0;
      auto [fp, fec] = std::from_chars(d.data(), d.data() + d.size(), f);
      if (fec == std::errc() && fp == d.data() + d.size()) {
        v->type = TomlValue::Type::kFloat;
        v->floating = negative ? -f : f;
        return Status::Ok();
      }
    }
    return Error("invalid value '" + std::string(word) + "' (strings need quotes)");
  }

  StatusOr<std::string> ParseString() {
    char quote = Peek();
    bool multi = Peek(1) == quote && Peek(2) == quote;
    Advance();
    if (multi) {
      Advance();
      Advance();
      if (Peek() == '\n') {
        Advance();
      } else if (Peek() == '\r' && Peek(1) == '\n') {
        Advance();
        Advance();
      }
    }
    std::string out;
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      char c = Peek();
      if (c == quote && (!multi || (Peek(1) == quote && Peek(2) == quote))) {
        Advance();
        if (multi) {
          Advance();
          Advance();
        }
        return out;
      }
      if (c == '\n' && !multi) return Error("unterminated string");
      if (c == '\\' && quote == '"') {
        Advance();
        OUTPOST_RETURN_IF_ERROR(ParseEscape(multi, &out));
        continue;
      }
      out.push_back(c);
      Advance();
    }
  }

  Status ParseEscape(bool multi, std::string* out) {
    if (AtEnd()) return Error("unterminated string");
    char e = Peek();
    Advance();
    switch (e) {
      case 'n': out->push_back('\n'); return Status::Ok();
      case 't': out->push_back('\t'); return Status::Ok();
      case 'r': out->push_back('\r'); return Status::Ok();
      case 'b': out->push_back('\b'); return Status::Ok();
      case 'f': out->push_back('\f'); return Status::Ok();
      case '"': out->push_back('"'); return Status::Ok();
      case '\\': out->push_back('\\'); return Status::Ok();
      case 'u':
      case 'U': {
        size_t n = e == 'u' ? 4 : 8;
        if (pos_ + n > s_.size()) return Error("truncated \\" + std::string(1, e) + " escape");
        uint32_t cp = 0;
        auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + n, cp, 16);
        if (ec != std::errc() || p != s_.data() + pos_ + n || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Error("invalid unicode escape");
        }
        for (size_t i = 0; i < n; ++i) Advance();
        AppendUtf8(cp, out);
        return Status::Ok();
      }
      default:
        if (multi && (e == '\n' || e == ' ' || e == '\t' || e == '\r')) {
          // Line-ending backslash: trim the newline and leading whitespace that follow.
          while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
            Advance();
          }
          return Status::Ok();
        }
        return Error(std::string("invalid escape '\\") + e + "'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
  TomlValue root_;
  std::vector<std::string> current_;
  std::vector<std::string> defined_;
};

}  // namespace

const TomlValue* TomlValue::Find(std::string_view key) const {
  for (const auto& [k, v] : table) {
    if (k == key) return &v;
  }
  return nullptr;
}

StatusOr<TomlValue> ParseToml(std::string_view text) { return TomlParser(text).Parse(); }

}  // namespace outpost::router
