#include "router/if_block.h"

namespace outpost::router {

IfBlock::Result IfBlock::Evaluate(const EvalInputs& in, EvalScratch& scratch) const {
  scratch.captures.clear();
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].condition.Evaluate(in, scratch).Truthy()) {
      return {rules_[i].then.Evaluate(in, scratch), static_cast<int>(i)};
    }
  }
  return {otherwise_.Evaluate(in, scratch), -1};
}

}  // namespace outpost::router
