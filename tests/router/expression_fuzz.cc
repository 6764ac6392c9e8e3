// libFuzzer: arbitrary bytes as an expression (both variable sets); whatever compiles is
// evaluated against a fixed envelope. Must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "router/expression.h"

using outpost::router::Envelope;
using outpost::router::EvalInputs;
using outpost::router::EvalScratch;
using outpost::router::Expression;
using outpost::router::Lookups;
using outpost::router::NamedList;
using outpost::router::VariableSet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Lookups* lookups = [] {
    auto* l = new Lookups;
    l->local_domains = {"example.org"};
    l->lists.push_back(NamedList{"domains", {{"foobar.net", "foobar.net"}}});
    l->list_index = {{"domains", 0}};
    return l;
  }();
  static const std::vector<std::string> recipients = {"a@example.org", "b@foobar.net"};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Envelope env;
  env.rcpt = "a@example.org";
  env.rcpt_domain = "example.org";
  env.recipients = recipients;
  env.sender = "s@x.net";
  env.retry_num = 3;
  env.mx = "mx.example.org";
  env.remote_ip = "192.0.2.1";
  for (VariableSet set : {VariableSet::kRcpt, VariableSet::kHost}) {
    auto e = Expression::Compile(text, set, lookups);
    if (!e.ok()) continue;
    EvalScratch scratch;
    EvalInputs in{&env, lookups};
    (void)e->Evaluate(in, scratch).ToString();
  }
  return 0;
}
