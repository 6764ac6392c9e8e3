#include "router/if_block.h"

namespace outpost::router {

IfBlock::IfBlock(std::vector<Rule> rules, Expression otherwise)
    : rules_(std::move(rules)), otherwise_(std::move(otherwise)) {
  IndexEqualityRuns();
}

void IfBlock::IndexEqualityRuns() {
  run_at_.assign(rules_.size(), -1);
  size_t i = 0;
  while (i < rules_.size()) {
    Variable var;
    std::string_view literal;
    if (!rules_[i].condition.IsVariableEqualsString(&var, &literal)) {
      ++i;
      continue;
    }
    EqualityRun run;
    run.first = i;
    run.variable = var;
    size_t j = i;
    Variable next_var;
    while (j < rules_.size() && rules_[j].condition.IsVariableEqualsString(&next_var, &literal) &&
           next_var == var) {
      run.first_rule.emplace(std::string(literal), static_cast<int>(j));  // keeps the first
      ++j;
    }
    run.last = j - 1;
    if (j - i >= kMinRunLength) {
      run_at_[i] = static_cast<int>(runs_.size());
      runs_.push_back(std::move(run));
    }
    i = j;
  }
}

IfBlock::Result IfBlock::Evaluate(const EvalInputs& in, EvalScratch& scratch) const {
  scratch.captures.clear();
  static const Envelope kEmpty;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (run_at_[i] >= 0) {
      const EqualityRun& run = runs_[run_at_[i]];
      scratch.read |= VariableBit(run.variable);
      Value v = ReadVariable(run.variable, in.envelope ? *in.envelope : kEmpty);
      auto it = run.first_rule.find(v.str());
      if (it != run.first_rule.end()) {
        return {rules_[it->second].then.Evaluate(in, scratch), it->second};
      }
      i = run.last;
      continue;
    }
    if (rules_[i].condition.Evaluate(in, scratch).Truthy()) {
      return {rules_[i].then.Evaluate(in, scratch), static_cast<int>(i)};
    }
  }
  return {otherwise_.Evaluate(in, scratch), -1};
}

}  // namespace outpost::router
