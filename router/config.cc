#include "router/config.h"

namespace outpost::router {
namespace {

template <typename T>
const T* Find(const StringMap<int>& index, const std::vector<T>& items, std::string_view name) {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &items[it->second];
}

}  // namespace

const Route* Config::FindRoute(std::string_view name) const {
  return Find(route_index, routes, name);
}
const VirtualQueue* Config::FindVirtualQueue(std::string_view name) const {
  return Find(virtual_queue_index, virtual_queues, name);
}
const Schedule* Config::FindSchedule(std::string_view name) const {
  return Find(schedule_index, schedules, name);
}
const ConnectionStrategy* Config::FindConnectionStrategy(std::string_view name) const {
  return Find(connection_index, connection_strategies, name);
}
const TlsStrategy* Config::FindTlsStrategy(std::string_view name) const {
  return Find(tls_index, tls_strategies, name);
}

std::string_view IpLookupName(IpLookup v) {
  switch (v) {
    case IpLookup::kV4ThenV6: return "v4ThenV6";
    case IpLookup::kV6ThenV4: return "v6ThenV4";
    case IpLookup::kV4Only: return "v4Only";
    case IpLookup::kV6Only: return "v6Only";
  }
  return "v4ThenV6";
}

std::string_view TlsRequirementName(TlsRequirement v) {
  switch (v) {
    case TlsRequirement::kDisable: return "disable";
    case TlsRequirement::kOptional: return "optional";
    case TlsRequirement::kRequire: return "require";
  }
  return "optional";
}

std::string_view RouteKindName(Route::Kind k) {
  switch (k) {
    case Route::Kind::kLocal: return "Local";
    case Route::Kind::kMx: return "Mx";
    case Route::Kind::kRelay: return "Relay";
  }
  return "Mx";
}

std::string RelayTlsRequirementKey(const TlsStrategy& s) {
  if (s.dane == TlsRequirement::kRequire) return "tlsStrategies." + s.name + ".dane";
  if (s.mta_sts == TlsRequirement::kRequire) return "tlsStrategies." + s.name + ".mtaSts";
  return "";
}

}  // namespace outpost::router
