// libFuzzer: arbitrary bytes as a JSON config and as a legacy TOML file (whose conversion,
// when it succeeds, is loaded too). Must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "router/config_loader.h"
#include "router/legacy_import.h"
#include "router/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = outpost::router::LoadConfig(text, nullptr);
  if (config.ok()) {
    outpost::router::Router router(*config);
    outpost::router::Envelope env;
    env.rcpt = "a@example.org";
    env.rcpt_domain = "example.org";
    (void)outpost::router::Explain(router, env);
  }
  auto imported = outpost::router::ImportLegacyToml(text);
  if (imported.ok()) (void)outpost::router::LoadConfig(imported->json, nullptr);
  return 0;
}
