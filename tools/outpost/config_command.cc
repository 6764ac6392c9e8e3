// `outpost config check FILE` and `outpost config import-legacy FILE.toml`.
#include <string>

#include "router/config_loader.h"
#include "router/legacy_import.h"
#include "router/secret_resolver.h"
#include "tools/outpost/args.h"
#include "tools/outpost/cli.h"

namespace outpost::cli {
namespace {

constexpr const char* kUsage =
    "usage: outpost config check FILE\n"
    "       outpost config import-legacy FILE.toml\n";

int Check(const std::string& path, Io& io) {
  router::SystemSecretResolver secrets;
  auto config = router::LoadConfigFile(path, &secrets);
  if (!config.ok()) {
    io.err << config.status().message() << "\n";
    return kExitFailure;
  }
  io.out << "ok\n";
  return kExitOk;
}

int ImportLegacy(const std::string& path, Io& io) {
  auto text = router::ReadWholeFile(path);
  if (!text.ok()) {
    io.err << "outpost: " << text.status().message() << "\n";
    return kExitFailure;
  }
  auto result = router::ImportLegacyToml(*text);
  if (!result.ok()) {
    io.err << path << ": " << result.status().message() << "\n";
    return kExitFailure;
  }
  for (const std::string& w : result->warnings) io.err << "warning: " << w << "\n";
  io.out << result->json;
  return kExitOk;
}

}  // namespace

int RunConfigCommand(std::span<const std::string> args, Io& io) {
  auto parsed = Args::Parse(args, {}, {"json"});
  if (!parsed.ok()) {
    io.err << "outpost config: " << parsed.status().message() << "\n" << kUsage;
    return kExitUsage;
  }
  const auto& pos = parsed->positional();
  if (pos.size() != 2 || (pos[0] != "check" && pos[0] != "import-legacy")) {
    io.err << kUsage;
    return kExitUsage;
  }
  return pos[0] == "check" ? Check(pos[1], io) : ImportLegacy(pos[1], io);
}

}  // namespace outpost::cli
