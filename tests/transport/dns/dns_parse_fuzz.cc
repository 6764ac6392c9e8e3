// libFuzzer target for the DNS answer parser: any bytes, each asked type, must give a value
// or a Status, never a crash, hang or out-of-bounds read.
#include <cstddef>
#include <cstdint>

#include "transport/dns/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using outpost::transport::dns::DnsType;
  std::span<const uint8_t> packet(data, size);
  for (DnsType type : {DnsType::kMx, DnsType::kA, DnsType::kAaaa, DnsType::kTxt, DnsType::kTlsa}) {
    auto result = outpost::transport::dns::ParseDnsResponse(packet, "example.org", type);
    if (result.ok()) {
      for (const auto& mx : result->mx) {
        (void)outpost::transport::dns::BuildDnsQuery(mx.exchange, DnsType::kA, 1);
      }
    }
  }
  return 0;
}
