#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "router/envelope.h"
#include "router/lookups.h"
#include "router/value.h"

namespace outpost::router {

// Per-thread working memory of evaluations, reused so steady-state evaluation does not
// allocate. Not shared between threads.
struct EvalScratch {
  std::vector<Value> stack;
  std::vector<std::string> captures;  // groups of the last successful matches(): $0, $1, ...
  VariableMask read = 0;              // variables read since the caller last cleared it
};

// Everything an evaluation reads. Pointers are borrowed for the duration of one call.
struct EvalInputs {
  const Envelope* envelope = nullptr;
  const Lookups* lookups = nullptr;  // the one the expression was compiled against
};

// The value of one variable for `env` (views into it; arrays allocate).
Value ReadVariable(Variable v, const Envelope& env);

// One compiled expression of the policy language (reference/stalwart.md §1.2-§1.4): parsed
// once at load into postfix code with variables resolved to slots, regexes compiled and list
// names resolved. Immutable and cheap to copy; safe to evaluate from several threads at once
// (each with its own EvalScratch).
class Expression {
 public:
  enum class Op : uint8_t {
    kConst,
    kVar,
    kCapture,
    kNot,
    kNeg,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kXor,
    kAndJump,  // pop; if falsy push 0 and jump to arg
    kOrJump,   // pop; if truthy push 1 and jump to arg
    kToBool,
    kCall,    // fn = function id, argc, arg = aux (regex or list index, or UINT32_MAX)
    kIndex,   // a[i]
    kArray,   // build an array of the top argc... values (arg = count)
    // Peephole form of `variable <cmp> literal` (the shape of most policy conditions):
    // fn = variable slot, argc = the comparison Op, arg = constant index.
    kVarCmpConst,
  };
  struct Instr {
    Op op;
    uint8_t argc = 0;
    uint16_t fn = 0;
    uint32_t arg = 0;
  };

  Expression() = default;

  // Compiles `text`. `lookups` (may be null) resolves literal list names of key_exists/key_get
  // and rejects unknown ones. Errors are InvalidArgument "column N: <what>", N 1-based.
  static StatusOr<Expression> Compile(std::string_view text, VariableSet vars,
                                      const Lookups* lookups);
  // A literal expression (e.g. the `false` of a legacy next-hop).
  static Expression Literal(Value v);

  // Evaluates; never fails (errors in data give empty/0 values as in Stalwart). Records the
  // variables read into scratch.read.
  Value Evaluate(const EvalInputs& in, EvalScratch& scratch) const;

  // The literal value when the whole expression is a constant, else null.
  const Value* constant() const;
  const std::string& text() const { return text_; }
  // Every variable the code can read.
  VariableMask variables() const { return variables_; }
  const std::vector<Instr>& code() const { return code_; }
  // True when the whole expression is `<string variable> == '<literal>'` (lets IfBlock index
  // runs of such rules).
  bool IsVariableEqualsString(Variable* var, std::string_view* literal) const;

 private:
  friend class ExpressionParser;
  std::string text_;
  std::vector<Instr> code_;
  std::vector<Value> constants_;  // own their strings
  std::shared_ptr<const std::vector<std::regex>> regexes_;
  VariableMask variables_ = 0;
};

}  // namespace outpost::router
