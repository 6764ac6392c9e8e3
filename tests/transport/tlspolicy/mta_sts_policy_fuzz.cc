// libFuzzer target for the MTA-STS policy parser (and the other text a policy peer or DNS
// controls: the _mta-sts and _smtp._tls TXT records, and our cache record). Any bytes must give
// a value or a Status, never a crash; a parsed policy must survive Format -> Parse unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/tlspolicy/mta_sts.h"
#include "transport/tlspolicy/policy_cache.h"
#include "transport/tlspolicy/tls_rpt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace outpost::transport::tlspolicy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = ParseMtaStsPolicy(text);
  if (policy.ok()) {
    auto again = ParseMtaStsPolicy(FormatMtaStsPolicy(*policy));
    if (!again.ok() || !(*again == *policy)) abort();
    for (const auto& mx : policy->mx) (void)PolicyAllowsMx(*policy, mx);
  }
  std::vector<std::string> txt{std::string(text)};
  (void)ParseMtaStsTxt(txt);
  (void)ParseTlsRptTxt(txt);
  (void)ParseCachedMtaStsPolicy(text);
  if (size > 1) (void)MxPatternMatches(text.substr(0, size / 2), text.substr(size / 2));
  return 0;
}
