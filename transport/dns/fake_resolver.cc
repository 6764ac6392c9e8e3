#include "transport/dns/fake_resolver.h"

namespace outpost::transport::dns {

void FakeResolver::Set(std::string_view name, DnsType type, DnsResult result) {
  table_[{NormalizeDnsName(name), type}] = std::move(result);
}

void FakeResolver::SetMx(std::string_view name, std::vector<MxRecord> records) {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.ttl_seconds = 300;
  r.canonical_name = NormalizeDnsName(name);
  r.mx = std::move(records);
  Set(name, DnsType::kMx, std::move(r));
}

void FakeResolver::SetAddresses(std::string_view name, DnsType type,
                                std::vector<std::string> addresses) {
  DnsResult r;
  r.outcome = DnsOutcome::kAnswer;
  r.ttl_seconds = 300;
  r.canonical_name = NormalizeDnsName(name);
  r.addresses = std::move(addresses);
  Set(name, type, std::move(r));
}

void FakeResolver::SetOutcome(std::string_view name, DnsType type, DnsOutcome outcome) {
  DnsResult r;
  r.outcome = outcome;
  r.detail = std::string(DnsOutcomeName(outcome));
  r.canonical_name = NormalizeDnsName(name);
  Set(name, type, std::move(r));
}

void FakeResolver::Lookup(std::string_view name, DnsType type, Callback done) {
  std::string key = NormalizeDnsName(name);
  queries_.push_back(key + "/" + std::string(DnsTypeName(type)));
  auto it = table_.find({key, type});
  DnsResult result = it != table_.end() ? it->second : DnsResult::TempFail("no fake answer");
  dispatcher_.Post([alive = std::weak_ptr<bool>(alive_), done = std::move(done),
                    result = std::move(result)]() mutable {
    if (alive.lock()) done(std::move(result));
  });
}

}  // namespace outpost::transport::dns
