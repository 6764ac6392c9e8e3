#include "router/expression.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "router/functions.h"
#include "router/units.h"

namespace outpost::router {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxRegexLength = 1024;
constexpr uint64_t kMaxRegexRepetition = 10'000;
constexpr uint32_t kNoAux = UINT32_MAX;

struct Token {
  enum class Kind { kEnd, kInt, kFloat, kString, kIdent, kCapture, kOp, kLParen, kRParen,
                    kLBracket, kRBracket, kComma };
  Kind kind = Kind::kEnd;
  std::string text;  // decoded string literal, identifier or operator
  int64_t i = 0;
  double f = 0;
  size_t col = 1;  // 1-based
};

Status ErrorAt(size_t col, std::string_view what) {
  return Status::InvalidArgument("column " + std::to_string(col) + ": " + std::string(what));
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '$' || c == '.';
}

// Classifies a run of identifier characters that starts with a digit: integer, float or
// duration literal (milliseconds).
Status NumberToken(std::string_view word, Token* t) {
  int64_t i = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), i);
  if (ec == std::errc() && p == word.data() + word.size()) {
    t->kind = Token::Kind::kInt;
    t->i = i;
    return Status::Ok();
  }
  if (ec == std::errc::result_out_of_range) return ErrorAt(t->col, "integer out of range");
  double f = 0;
  auto [fp, fec] = std::from_chars(word.data(), word.data() + word.size(), f,
                                   std::chars_format::fixed);
  if (fec == std::errc() && fp == word.data() + word.size()) {
    t->kind = Token::Kind::kFloat;
    t->f = f;
    return Status::Ok();
  }
  if (auto d = ParseDuration(word)) {
    t->kind = Token::Kind::kInt;
    t->i = d->count();
    return Status::Ok();
  }
  return ErrorAt(t->col, "invalid number or duration '" + std::string(word) + "'");
}

StatusOr<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    Token t;
    t.col = i + 1;
    if (i >= s.size()) {
      out.push_back(t);
      return out;
    }
    char c = s[i];
    if (c == '\'' || c == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char d = s[i++];
        if (d == c) {
          closed = true;
          break;
        }
        if (d == '\\' && i < s.size()) {
          char e = s[i++];
          t.text.push_back(e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
        } else {
          t.text.push_back(d);
        }
      }
      if (!closed) return ErrorAt(t.col, "unterminated string");
      t.kind = Token::Kind::kString;
    } else if (IsIdentChar(c)) {
      size_t start = i;
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      std::string_view word = s.substr(start, i - start);
      if (c >= '0' && c <= '9') {
        OUTPOST_RETURN_IF_ERROR(NumberToken(word, &t));
      } else if (c == '$') {
        uint32_t n = 0;
        auto [p, ec] = std::from_chars(word.data() + 1, word.data() + word.size(), n);
        if (word.size() < 2 || ec != std::errc() || p != word.data() + word.size() || n > 99) {
          return ErrorAt(t.col, "unknown capture group '" + std::string(word) + "'");
        }
        t.kind = Token::Kind::kCapture;
        t.i = n;
      } else {
        t.kind = Token::Kind::kIdent;
        t.text = word;
      }
    } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',') {
      t.kind = c == '('   ? Token::Kind::kLParen
               : c == ')' ? Token::Kind::kRParen
               : c == '[' ? Token::Kind::kLBracket
               : c == ']' ? Token::Kind::kRBracket
                          : Token::Kind::kComma;
      ++i;
    } else {
      static constexpr std::string_view kTwo[] = {"&&", "||", ">=", "=>", "<=", "=<", "==", "!="};
      static constexpr std::string_view kOne = "*/+-<>=!^&|";
      t.kind = Token::Kind::kOp;
      for (std::string_view op : kTwo) {
        if (s.substr(i, 2) == op) t.text = op;
      }
      if (t.text.empty() && kOne.find(c) != std::string_view::npos) t.text = std::string(1, c);
      if (t.text.empty()) {
        return ErrorAt(t.col, "unexpected character '" + std::string(1, c) + "'");
      }
      i += t.text.size();
    }
    out.push_back(std::move(t));
  }
}

struct BinaryOp {
  std::string_view text;
  int prec;
  Expression::Op op;
};

constexpr BinaryOp kBinary[] = {
    {"*", 7, Expression::Op::kMul},     {"/", 7, Expression::Op::kDiv},
    {"+", 6, Expression::Op::kAdd},     {"-", 6, Expression::Op::kSub},
    {">", 5, Expression::Op::kGt},      {">=", 5, Expression::Op::kGe},
    {"=>", 5, Expression::Op::kGe},     {"<", 5, Expression::Op::kLt},
    {"<=", 5, Expression::Op::kLe},     {"=<", 5, Expression::Op::kLe},
    {"==", 4, Expression::Op::kEq},     {"=", 4, Expression::Op::kEq},
    {"!=", 4, Expression::Op::kNe},     {"^", 3, Expression::Op::kXor},
    {"&&", 2, Expression::Op::kAndJump}, {"&", 2, Expression::Op::kAndJump},
    {"||", 1, Expression::Op::kOrJump},  {"|", 1, Expression::Op::kOrJump},
};

const BinaryOp* FindBinary(const Token& t) {
  if (t.kind != Token::Kind::kOp) return nullptr;
  for (const BinaryOp& b : kBinary) {
    if (b.text == t.text) return &b;
  }
  return nullptr;
}

}  // namespace

// Precedence climbing over the token list, emitting postfix code into an Expression.
class ExpressionParser {
 public:
  ExpressionParser(std::vector<Token> tokens, VariableSet vars, const Lookups* lookups,
                   Expression* out)
      : tokens_(std::move(tokens)), vars_(vars), lookups_(lookups), out_(out) {}

  Status Parse() {
    OUTPOST_RETURN_IF_ERROR(ParseBinary(1));
    if (Peek().kind != Token::Kind::kEnd) return ErrorAt(Peek().col, "unexpected '" + Describe(Peek()) + "'");
    out_->regexes_ = std::make_shared<const std::vector<std::regex>>(std::move(regexes_));
    return Status::Ok();
  }

 private:
  using Op = Expression::Op;

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::kEnd: return "end of expression";
      case Token::Kind::kInt: return std::to_string(t.i);
      case Token::Kind::kFloat: return "number";
      case Token::Kind::kString: return "'" + t.text + "'";
      case Token::Kind::kCapture: return "$" + std::to_string(t.i);
      case Token::Kind::kLParen: return "(";
      case Token::Kind::kRParen: return ")";
      case Token::Kind::kLBracket: return "[";
      case Token::Kind::kRBracket: return "]";
      case Token::Kind::kComma: return ",";
      default: return t.text;
    }
  }

  Status Expect(Token::Kind kind, std::string_view what) {
    if (Peek().kind != kind) {
      return ErrorAt(Peek().col, "expected " + std::string(what) + ", found '" + Describe(Peek()) + "'");
    }
    Next();
    return Status::Ok();
  }

  void Emit(Op op, uint32_t arg = 0, uint8_t argc = 0, uint16_t fn = 0) {
    auto& code = out_->code_;
    bool comparison = op == Op::kEq || op == Op::kNe || op == Op::kLt || op == Op::kLe ||
                      op == Op::kGt || op == Op::kGe;
    if (comparison && code.size() >= 2 && code[code.size() - 2].op == Op::kVar &&
        code.back().op == Op::kConst) {
      // [var][const][cmp] -> one instruction. No jump can target the const (jumps land after
      // a kToBool), so collapsing the window keeps every jump target valid.
      Expression::Instr fused{Op::kVarCmpConst, static_cast<uint8_t>(op),
                  static_cast<uint16_t>(code[code.size() - 2].arg), code.back().arg};
      code.pop_back();
      code.back() = fused;
      return;
    }
    code.push_back({op, argc, fn, arg});
  }

  void EmitConst(Value v) {
    out_->constants_.push_back(v.Detached());
    Emit(Op::kConst, static_cast<uint32_t>(out_->constants_.size() - 1));
  }

  // The constant pushed by code_[from..end) when that range is exactly one kConst.
  const Value* ConstantSince(size_t from) const {
    if (out_->code_.size() != from + 1 || out_->code_[from].op != Op::kConst) return nullptr;
    return &out_->constants_[out_->code_[from].arg];
  }

  Status ParseBinary(int min_prec) {
    if (++depth_ > kMaxDepth) return ErrorAt(Peek().col, "expression nested too deeply");
    OUTPOST_RETURN_IF_ERROR(ParseUnary());
    while (const BinaryOp* b = FindBinary(Peek())) {
      if (b->prec < min_prec) break;
      Next();
      if (b->op == Op::kAndJump || b->op == Op::kOrJump) {
        size_t jump = out_->code_.size();
        Emit(b->op);
        OUTPOST_RETURN_IF_ERROR(ParseBinary(b->prec + 1));
        Emit(Op::kToBool);
        out_->code_[jump].arg = static_cast<uint32_t>(out_->code_.size());
      } else {
        OUTPOST_RETURN_IF_ERROR(ParseBinary(b->prec + 1));
        Emit(b->op);
      }
    }
    --depth_;
    return Status::Ok();
  }

  Status ParseUnary() {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kOp && (t.text == "!" || t.text == "-")) {
      Op op = t.text == "!" ? Op::kNot : Op::kNeg;
      Next();
      if (++depth_ > kMaxDepth) return ErrorAt(Peek().col, "expression nested too deeply");
      size_t from = out_->code_.size();
      OUTPOST_RETURN_IF_ERROR(ParseUnary());
      --depth_;
      if (const Value* c = ConstantSince(from); c != nullptr && op == Op::kNeg && c->is_number()) {
        Value folded = NegateValue(*c);
        out_->code_.pop_back();
        EmitConst(folded);
        return Status::Ok();
      }
      Emit(op);
      return Status::Ok();
    }
    return ParsePostfix();
  }

  Status ParsePostfix() {
    OUTPOST_RETURN_IF_ERROR(ParsePrimary());
    while (Peek().kind == Token::Kind::kLBracket) {
      Next();
      OUTPOST_RETURN_IF_ERROR(ParseBinary(1));
      OUTPOST_RETURN_IF_ERROR(Expect(Token::Kind::kRBracket, "']'"));
      Emit(Op::kIndex);
    }
    return Status::Ok();
  }

  Status ParsePrimary() {
    const Token& t = Next();
    switch (t.kind) {
      case Token::Kind::kInt:
        EmitConst(Value::Int(t.i));
        return Status::Ok();
      case Token::Kind::kFloat:
        EmitConst(Value::Float(t.f));
        return Status::Ok();
      case Token::Kind::kString:
        EmitConst(Value::Owned(t.text));
        return Status::Ok();
      case Token::Kind::kCapture:
        Emit(Op::kCapture, static_cast<uint32_t>(t.i));
        return Status::Ok();
      case Token::Kind::kLParen: {
        OUTPOST_RETURN_IF_ERROR(ParseBinary(1));
        return Expect(Token::Kind::kRParen, "')'");
      }
      case Token::Kind::kLBracket:
        return ParseArray();
      case Token::Kind::kIdent:
        if (Peek().kind == Token::Kind::kLParen) return ParseCall(t);
        return ParseName(t);
      default:
        return ErrorAt(t.col, "unexpected '" + Describe(t) + "'");
    }
  }

  Status ParseArray() {
    size_t from = out_->code_.size();
    uint32_t count = 0;
    if (Peek().kind != Token::Kind::kRBracket) {
      while (true) {
        OUTPOST_RETURN_IF_ERROR(ParseBinary(1));
        ++count;
        if (Peek().kind != Token::Kind::kComma) break;
        Next();
      }
    }
    OUTPOST_RETURN_IF_ERROR(Expect(Token::Kind::kRBracket, "']' or ','"));
    // Fold an array of literals into one constant.
    bool all_const = out_->code_.size() == from + count;
    for (size_t i = from; all_const && i < out_->code_.size(); ++i) {
      all_const = out_->code_[i].op == Op::kConst;
    }
    if (all_const) {
      Value::Array items;
      for (size_t i = from; i < out_->code_.size(); ++i) {
        items.push_back(out_->constants_[out_->code_[i].arg]);
      }
      out_->code_.resize(from);
      EmitConst(Value::MakeArray(std::move(items)));
      return Status::Ok();
    }
    Emit(Op::kArray, count);
    return Status::Ok();
  }

  Status ParseName(const Token& t) {
    if (t.text == "true" || t.text == "false") {
      EmitConst(Value::Bool(t.text == "true"));
      return Status::Ok();
    }
    auto var = VariableByName(t.text);
    if (!var) return ErrorAt(t.col, "unknown variable '" + t.text + "'");
    if (!VariableAllowed(*var, vars_)) {
      return ErrorAt(t.col, "variable '" + t.text +
                                "' is only available in connection and tls expressions");
    }
    out_->variables_ |= VariableBit(*var);
    Emit(Op::kVar, static_cast<uint32_t>(*var));
    return Status::Ok();
  }

  Status ParseCall(const Token& name) {
    const FunctionInfo* fn = FindFunction(name.text);
    if (fn == nullptr) return ErrorAt(name.col, "unknown function '" + name.text + "'");
    Next();  // '('
    std::vector<size_t> arg_starts;
    if (Peek().kind != Token::Kind::kRParen) {
      while (true) {
        arg_starts.push_back(out_->code_.size());
        OUTPOST_RETURN_IF_ERROR(ParseBinary(1));
        if (Peek().kind != Token::Kind::kComma) break;
        Next();
      }
    }
    OUTPOST_RETURN_IF_ERROR(Expect(Token::Kind::kRParen, "')' or ','"));
    int argc = static_cast<int>(arg_starts.size());
    if (argc < fn->min_args || argc > fn->max_args) {
      std::string expected = std::to_string(fn->min_args);
      if (fn->max_args != fn->min_args) expected += " or " + std::to_string(fn->max_args);
      return ErrorAt(name.col, "function '" + name.text + "' expects " + expected +
                                   " argument" + (fn->max_args == 1 ? "" : "s") + ", got " +
                                   std::to_string(argc));
    }
    uint32_t aux = kNoAux;
    const Value* first = argc > 0 ? ConstantSinceRange(arg_starts[0], argc > 1 ? arg_starts[1] : out_->code_.size()) : nullptr;
    if (fn->id == Function::kMatches) {
      if (first == nullptr || !first->is_string()) {
        return ErrorAt(name.col, "matches() needs a literal regular expression as first argument");
      }
      OUTPOST_ASSIGN_OR_RETURN(aux, CompileRegex(std::string(first->str()), name.col));
    } else if ((fn->id == Function::kKeyExists || fn->id == Function::kKeyGet) &&
               lookups_ != nullptr && first != nullptr && first->is_string()) {
      auto it = lookups_->list_index.find(first->str());
      if (it == lookups_->list_index.end()) {
        return ErrorAt(name.col, "unknown list '" + std::string(first->str()) + "'");
      }
      aux = static_cast<uint32_t>(it->second);
    }
    Emit(Op::kCall, aux, static_cast<uint8_t>(argc), static_cast<uint16_t>(fn->id));
    return Status::Ok();
  }

  const Value* ConstantSinceRange(size_t from, size_t to) const {
    if (to != from + 1 || out_->code_[from].op != Op::kConst) return nullptr;
    return &out_->constants_[out_->code_[from].arg];
  }

  // std::regex expands counted repetitions into automaton states, so "a{1000}{1000}" would
  // build a million of them at load: bound the product of the counts.
  static bool RepetitionTooLarge(std::string_view p) {
    uint64_t product = 1;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '\\') {
        ++i;
        continue;
      }
      if (p[i] != '{') continue;
      uint64_t bound = 0;
      size_t j = i + 1;
      for (; j < p.size() && ((p[j] >= '0' && p[j] <= '9') || p[j] == ','); ++j) {
        if (p[j] == ',') continue;
        bound = std::min<uint64_t>(bound * 10 + (p[j] - '0'), 1'000'000);
      }
      if (j < p.size() && p[j] == '}' && bound > 1) product = std::min<uint64_t>(product * bound, 1'000'000);
    }
    return product > kMaxRegexRepetition;
  }

  // std::regex matches by backtracking: a repetition of a repetition (`a**`, which ECMAScript
  // forbids but libstdc++ accepts, or `((a*)*)*`) multiplies the paths tried per nesting level,
  // and a few levels hang the loop even on a 13-byte address (found by the expression
  // fuzzer). Refuses a quantifier applied directly to a quantifier (lazy `?` excepted) and
  // repetitions nested more than two deep; `([a-z0-9-]+\.)*` (two deep) stays allowed.
  static std::optional<std::string> NestedRepetition(std::string_view p) {
    constexpr int kMaxDepth = 2;
    std::vector<int> group_depth{0};  // deepest repetition inside each open group
    int atom_depth = -1;              // repetition depth of the last atom; -1: none to repeat
    bool after_quantifier = false;
    auto quantify = [&](bool lazy_allowed, char c) -> std::optional<std::string> {
      if (after_quantifier) {
        if (lazy_allowed && c == '?') {
          after_quantifier = false;  // `*?`: a lazy modifier, not a repetition
          atom_depth = -1;
          return std::nullopt;
        }
        return "a repetition of a repetition";
      }
      if (atom_depth < 0) return std::nullopt;  // nothing to repeat: std::regex reports it
      const int depth = atom_depth + 1;
      if (depth > kMaxDepth) return "repetitions nested more than " + std::to_string(kMaxDepth) + " deep";
      group_depth.back() = std::max(group_depth.back(), depth);
      after_quantifier = true;
      atom_depth = -1;
      return std::nullopt;
    };
    for (size_t i = 0; i < p.size(); ++i) {
      const char c = p[i];
      if (c == '*' || c == '+' || c == '?') {
        if (auto e = quantify(true, c)) return e;
        continue;
      }
      if (c == '{') {
        size_t j = i + 1;
        while (j < p.size() && ((p[j] >= '0' && p[j] <= '9') || p[j] == ',')) ++j;
        if (j > i + 1 && j < p.size() && p[j] == '}') {
          if (auto e = quantify(false, c)) return e;
          i = j;
          continue;
        }
      }
      after_quantifier = false;
      if (c == '\\') {
        ++i;
        atom_depth = 0;
      } else if (c == '[') {
        size_t j = i + 1;
        if (j < p.size() && p[j] == '^') ++j;
        if (j < p.size() && p[j] == ']') ++j;  // a leading ']' is a member
        while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
        i = j;
        atom_depth = 0;
      } else if (c == '(') {
        group_depth.push_back(0);
        if (i + 1 < p.size() && p[i + 1] == '?') i += 2;  // (?: (?= (?!
        atom_depth = -1;
      } else if (c == ')' && group_depth.size() > 1) {
        atom_depth = group_depth.back();
        group_depth.pop_back();
        group_depth.back() = std::max(group_depth.back(), atom_depth);
      } else if (c == '|' || c == '^' || c == '$') {
        atom_depth = -1;
      } else {
        atom_depth = 0;
      }
    }
    return std::nullopt;
  }

  StatusOr<uint32_t> CompileRegex(const std::string& pattern, size_t col) {
    if (pattern.size() > kMaxRegexLength) return ErrorAt(col, "regular expression too long");
    if (RepetitionTooLarge(pattern)) {
      return ErrorAt(col, "regular expression repeats too much (counted repetitions multiply "
                          "beyond " + std::to_string(kMaxRegexRepetition) + ")");
    }
    if (auto nested = NestedRepetition(pattern)) {
      return ErrorAt(col, "regular expression has " + *nested +
                              " (backtracking would take exponential time)");
    }
    try {
      regexes_.emplace_back(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return ErrorAt(col, "invalid regular expression '" + pattern + "': " + e.what());
    }
    return static_cast<uint32_t>(regexes_.size() - 1);
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  VariableSet vars_;
  const Lookups* lookups_;
  Expression* out_;
  std::vector<std::regex> regexes_;
};

StatusOr<Expression> Expression::Compile(std::string_view text, VariableSet vars,
                                         const Lookups* lookups) {
  Expression e;
  e.text_ = text;
  OUTPOST_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  if (tokens.size() == 1) return ErrorAt(1, "empty expression");
  ExpressionParser parser(std::move(tokens), vars, lookups, &e);
  OUTPOST_RETURN_IF_ERROR(parser.Parse());
  return e;
}

Expression Expression::Literal(Value v) {
  Expression e;
  e.text_ = v.ToString();
  e.constants_.push_back(v.Detached());
  e.code_.push_back({Op::kConst, 0, 0, 0});
  e.regexes_ = std::make_shared<const std::vector<std::regex>>();
  return e;
}

bool Expression::IsVariableEqualsString(Variable* var, std::string_view* literal) const {
  if (code_.size() != 1 || code_[0].op != Op::kVarCmpConst ||
      static_cast<Op>(code_[0].argc) != Op::kEq) {
    return false;
  }
  auto v = static_cast<Variable>(code_[0].fn);
  const Value& c = constants_[code_[0].arg];
  if (!VariableIsString(v) || !c.is_string()) return false;
  *var = v;
  *literal = c.str();
  return true;
}

const Value* Expression::constant() const {
  if (code_.size() != 1 || code_[0].op != Op::kConst) return nullptr;
  return &constants_[code_[0].arg];
}

Value ReadVariable(Variable v, const Envelope& e) {
  switch (v) {
    case Variable::kRcpt: return Value::View(e.rcpt);
    case Variable::kRcptDomain: return Value::View(e.rcpt_domain);
    case Variable::kRecipients: {
      Value::Array items;
      items.reserve(e.recipients.size());
      for (const std::string& r : e.recipients) items.push_back(Value::View(r));
      return Value::MakeArray(std::move(items));
    }
    case Variable::kSender: return Value::View(e.sender);
    case Variable::kSenderDomain: return Value::View(e.sender_domain);
    case Variable::kPriority: return Value::Int(e.priority);
    case Variable::kRetryNum: return Value::Int(e.retry_num);
    case Variable::kNotifyNum: return Value::Int(e.notify_num);
    case Variable::kExpiresIn: return Value::Int(e.expires_in);
    case Variable::kLastStatus: return Value::View(e.last_status);
    case Variable::kLastError: return Value::View(e.last_error);
    case Variable::kQueueName: return Value::View(e.queue_name);
    case Variable::kQueueAge: return Value::Int(e.queue_age);
    case Variable::kSource: return Value::View(e.source);
    case Variable::kSize: return Value::Int(e.size);
    case Variable::kReceivedFromIp: return Value::View(e.received_from_ip);
    case Variable::kReceivedViaPort: return Value::Int(e.received_via_port);
    case Variable::kMx: return Value::View(e.mx);
    case Variable::kRemoteIp: return Value::View(e.remote_ip);
    case Variable::kLocalIp: return Value::View(e.local_ip);
    case Variable::kCount: break;
  }
  return Value::Int(0);
}

Value Expression::Evaluate(const EvalInputs& in, EvalScratch& scratch) const {
  static const Envelope kEmptyEnvelope;
  const Envelope& env = in.envelope ? *in.envelope : kEmptyEnvelope;
  std::vector<Value>& st = scratch.stack;
  const size_t base = st.size();
  auto pop = [&st]() {
    Value v = std::move(st.back());
    st.pop_back();
    return v;
  };
  for (size_t pc = 0; pc < code_.size(); ++pc) {
    const Instr& ins = code_[pc];
    switch (ins.op) {
      case Op::kConst: {
        const Value& c = constants_[ins.arg];
        st.push_back(c.is_string() ? Value::View(c.str()) : c);
        break;
      }
      case Op::kVar:
        scratch.read |= VariableBit(static_cast<Variable>(ins.arg));
        st.push_back(ReadVariable(static_cast<Variable>(ins.arg), env));
        break;
      case Op::kVarCmpConst: {
        auto var = static_cast<Variable>(ins.fn);
        scratch.read |= VariableBit(var);
        Value v = ReadVariable(var, env);
        const Value& c = constants_[ins.arg];
        bool r = false;
        switch (static_cast<Op>(ins.argc)) {
          case Op::kEq: r = v.is_string() && c.is_string() ? v.str() == c.str() : ValuesEqual(v, c); break;
          case Op::kNe: r = v.is_string() && c.is_string() ? v.str() != c.str() : !ValuesEqual(v, c); break;
          case Op::kLt: r = CompareValues(v, c) < 0; break;
          case Op::kLe: r = CompareValues(v, c) <= 0; break;
          case Op::kGt: r = CompareValues(v, c) > 0; break;
          case Op::kGe: r = CompareValues(v, c) >= 0; break;
          default: break;
        }
        st.push_back(Value::Bool(r));
        break;
      }
      case Op::kCapture:
        st.push_back(ins.arg < scratch.captures.size() ? Value::Owned(scratch.captures[ins.arg])
                                                       : Value::View(std::string_view()));
        break;
      case Op::kNot:
        st.back() = Value::Bool(!st.back().Truthy());
        break;
      case Op::kNeg:
        st.back() = NegateValue(st.back());
        break;
      case Op::kToBool:
        st.back() = Value::Bool(st.back().Truthy());
        break;
      case Op::kAndJump:
      case Op::kOrJump: {
        bool truthy = pop().Truthy();
        if (truthy == (ins.op == Op::kOrJump)) {
          st.push_back(Value::Bool(truthy));
          pc = ins.arg - 1;
        }
        break;
      }
      case Op::kCall: {
        size_t argc = ins.argc;
        CallContext ctx;
        ctx.lookups = in.lookups;
        ctx.captures = &scratch.captures;
        auto fn = static_cast<Function>(ins.fn);
        if (ins.arg != kNoAux) {
          if (fn == Function::kMatches) {
            ctx.regex = &(*regexes_)[ins.arg];
          } else if (in.lookups != nullptr && ins.arg < in.lookups->lists.size()) {
            ctx.list = &in.lookups->lists[ins.arg];
          }
        }
        Value r = CallFunction(fn, std::span<const Value>(st.data() + st.size() - argc, argc), ctx);
        st.resize(st.size() - argc);
        st.push_back(std::move(r));
        break;
      }
      case Op::kIndex: {
        Value idx = pop();
        Value arr = pop();
        int64_t i = idx.ToInteger();
        if (arr.is_array() && i >= 0 && static_cast<size_t>(i) < arr.array().size()) {
          st.push_back(arr.array()[i]);
        } else {
          st.push_back(Value::View(std::string_view()));
        }
        break;
      }
      case Op::kArray: {
        Value::Array items(std::make_move_iterator(st.end() - ins.arg),
                           std::make_move_iterator(st.end()));
        st.resize(st.size() - ins.arg);
        st.push_back(Value::MakeArray(std::move(items)));
        break;
      }
      default: {
        Value b = pop();
        Value& a = st.back();
        switch (ins.op) {
          case Op::kAdd: a = AddValues(a, b); break;
          case Op::kSub: a = SubtractValues(a, b); break;
          case Op::kMul: a = MultiplyValues(a, b); break;
          case Op::kDiv: a = DivideValues(a, b); break;
          case Op::kEq: a = Value::Bool(ValuesEqual(a, b)); break;
          case Op::kNe: a = Value::Bool(!ValuesEqual(a, b)); break;
          case Op::kLt: a = Value::Bool(CompareValues(a, b) < 0); break;
          case Op::kLe: a = Value::Bool(CompareValues(a, b) <= 0); break;
          case Op::kGt: a = Value::Bool(CompareValues(a, b) > 0); break;
          case Op::kGe: a = Value::Bool(CompareValues(a, b) >= 0); break;
          case Op::kXor: a = Value::Bool(a.Truthy() != b.Truthy()); break;
          default: break;
        }
        break;
      }
    }
  }
  Value result = st.size() > base ? pop() : Value::Int(0);
  st.resize(base);
  return result;
}

}  // namespace outpost::router
