#pragma once

#include <string>
#include <vector>

#include "router/expression.h"

namespace outpost::router {

// The if/then/else container of an expression setting (reference/stalwart.md §1.1): the first
// rule whose condition is truthy selects its `then`, otherwise `else`. Capture groups of a
// matches() in the winning condition are visible to its `then` as $1, $2, ...
// Immutable after construction; evaluate from any thread with a per-thread EvalScratch.
class IfBlock {
 public:
  struct Rule {
    Expression condition;
    Expression then;
  };
  struct Result {
    Value value;   // may borrow from the block or the Envelope: use before they go away
    int rule = -1;  // index of the matching rule, -1 for else
  };

  IfBlock() = default;
  IfBlock(std::vector<Rule> rules, Expression otherwise)
      : rules_(std::move(rules)), otherwise_(std::move(otherwise)) {}

  // Variables read are OR-ed into scratch.read (the caller clears it).
  Result Evaluate(const EvalInputs& in, EvalScratch& scratch) const;

  const std::vector<Rule>& rules() const { return rules_; }
  const Expression& otherwise() const { return otherwise_; }

 private:
  std::vector<Rule> rules_;
  Expression otherwise_;
};

}  // namespace outpost::router
