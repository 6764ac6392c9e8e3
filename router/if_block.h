#pragma once

#include <string>
#include <vector>

#include "router/expression.h"
#include "router/lookups.h"

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
  IfBlock(std::vector<Rule> rules, Expression otherwise);

  // Variables read are OR-ed into scratch.read (the caller clears it).
  Result Evaluate(const EvalInputs& in, EvalScratch& scratch) const;

  const std::vector<Rule>& rules() const { return rules_; }
  const Expression& otherwise() const { return otherwise_; }

 private:
  // A run of consecutive rules all of the form `<same string variable> == '<literal>'`
  // (e.g. per-domain routes): evaluated with one hash lookup instead of one test per rule.
  // Same result as testing the rules in order: the first rule whose literal equals the value.
  struct EqualityRun {
    size_t first = 0;
    size_t last = 0;  // inclusive
    Variable variable = Variable::kRcpt;
    StringMap<int> first_rule;  // literal -> lowest rule index with it
  };
  static constexpr size_t kMinRunLength = 4;

  void IndexEqualityRuns();

  std::vector<Rule> rules_;
  Expression otherwise_;
  std::vector<EqualityRun> runs_;
  std::vector<int> run_at_;  // per rule: index into runs_ when a run starts there, else -1
};

}  // namespace outpost::router
