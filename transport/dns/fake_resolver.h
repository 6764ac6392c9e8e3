#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/dispatcher.h"
#include "transport/dns/resolver.h"

namespace outpost::transport::dns {

// A Resolver answering from a table, for tests of the MX planner, the MX agent and the
// scheduler. Answers are posted on the dispatcher like the real resolver's. A question with no
// entry gets kTempFail "no fake answer". Loop thread only.
class FakeResolver final : public Resolver {
 public:
  explicit FakeResolver(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

  void Set(std::string_view name, DnsType type, DnsResult result);
  // Shorthands for the common answers.
  void SetMx(std::string_view name, std::vector<MxRecord> records);
  void SetAddresses(std::string_view name, DnsType type, std::vector<std::string> addresses);
  void SetOutcome(std::string_view name, DnsType type, DnsOutcome outcome);

  void Lookup(std::string_view name, DnsType type, Callback done) override;

  // Every question asked, in order, as "name/TYPE".
  const std::vector<std::string>& queries() const { return queries_; }

 private:
  Dispatcher& dispatcher_;
  std::map<std::pair<std::string, DnsType>, DnsResult> table_;
  std::vector<std::string> queries_;
  // Posted answers check this so none runs after the fake is destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::dns
