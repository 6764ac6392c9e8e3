#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "router/if_block.h"
#include "router/lookups.h"

namespace outpost::router {

using Millis = std::chrono::milliseconds;

// The configuration model of DESIGN.md §3 (Stalwart 0.16 objects, reference/stalwart.md §2),
// with every default applied and every cross reference checked. Built only by LoadConfig();
// immutable afterwards and shared as std::shared_ptr<const Config>.

// A secret after resolution. `source` says where it came from (for `config check` output and
// logs, which must never print `value`).
struct Secret {
  enum class Source { kNone, kValue, kEnvironmentVariable, kFile };
  Source source = Source::kNone;
  std::string reference;  // variable name or file path; "" for kNone/kValue
  std::string value;      // the resolved secret; never log it
  bool present() const { return source != Source::kNone; }
};

struct ServerConfig {
  std::string hostname;  // "" = the system host name (outpostd fills it in)
  std::string data_dir;
};

struct ListenerUser {
  std::string name;
  std::string password_hash;  // as made by `outpost passwd`
};

struct ListenerConfig {
  std::string name;
  std::string bind;  // "host:port", "[v6]:port"
  std::vector<std::string> relay_networks;  // CIDRs (validated)
  std::optional<std::string> tls_cert_file;  // both set or both unset
  std::optional<std::string> tls_key_file;
  bool require_auth = false;
  bool allow_plaintext_auth = false;
  std::vector<ListenerUser> users;
  uint32_t max_connections = 1000;
  uint32_t max_connections_per_ip = 100;  // relayNetworks are exempt
  uint32_t max_recipients = 100;
  uint32_t max_received_headers = 50;
  std::optional<uint64_t> max_message_size;  // overrides queue.maxMessageSize
  Millis command_timeout{std::chrono::minutes(5)};
  Millis data_timeout{std::chrono::minutes(10)};
};

struct AdminConfig {
  std::string bind = "127.0.0.1:8025";
  Secret token;
};

struct DnsConfig {
  std::vector<std::string> servers;  // "ip:port"; empty = the system resolver configuration
  Millis timeout{std::chrono::seconds(5)};
};

struct LocalDeliveryConfig {
  std::string maildir_root;
  std::optional<std::vector<std::string>> users;  // nullopt = every local part is accepted
};

struct QueueConfig {
  Millis failed_retention{std::chrono::hours(24 * 7)};
  Millis completed_retention{std::chrono::hours(24)};
  uint64_t max_message_size = 50ULL * 1024 * 1024;
  uint64_t min_free_space = 1024ULL * 1024 * 1024;
  uint32_t mx_concurrency = 20;  // per destination domain
};

enum class IpLookup { kV4ThenV6, kV6ThenV4, kV4Only, kV6Only };
enum class RelayProtocol { kSmtp, kLmtp };
enum class TlsRequirement { kDisable, kOptional, kRequire };

struct Route {
  enum class Kind { kLocal, kMx, kRelay };
  std::string name;
  std::string description;
  Kind kind = Kind::kMx;
  // Mx
  uint32_t max_mx_hosts = 5;
  uint32_t max_multihomed = 2;
  IpLookup ip_lookup = IpLookup::kV4ThenV6;
  // Relay
  std::string address;
  uint16_t port = 25;
  RelayProtocol protocol = RelayProtocol::kSmtp;
  bool implicit_tls = false;
  bool allow_invalid_certs = false;
  std::string auth_username;  // "" = no AUTH
  Secret auth_secret;
  uint32_t concurrency = 10;
};

struct VirtualQueue {
  std::string name;
  std::string description;
  uint32_t threads_per_node = 25;
};

struct Schedule {
  std::string name;
  std::string description;
  std::string queue_id;  // names a VirtualQueue (checked)
  std::vector<Millis> retry;   // never empty; the last interval repeats
  std::vector<Millis> notify;  // may be empty (no delay notices)
  enum class ExpiryKind { kTtl, kAttempts };
  ExpiryKind expiry = ExpiryKind::kTtl;
  Millis ttl{std::chrono::hours(24 * 5)};
  uint32_t max_attempts = 5;
};

struct SourceIp {
  std::string ip;
  std::string ehlo_hostname;  // "" = the strategy's
};

struct ConnectionStrategy {
  std::string name;
  std::string description;
  std::string ehlo_hostname;  // "" = server hostname
  std::vector<SourceIp> source_ips;
  Millis connect_timeout{std::chrono::minutes(5)};
  Millis greeting_timeout{std::chrono::minutes(5)};
  Millis ehlo_timeout{std::chrono::minutes(5)};
  Millis mail_from_timeout{std::chrono::minutes(5)};
  Millis rcpt_to_timeout{std::chrono::minutes(5)};
  Millis data_timeout{std::chrono::minutes(10)};
};

struct TlsStrategy {
  std::string name;
  std::string description;
  TlsRequirement start_tls = TlsRequirement::kOptional;
  TlsRequirement dane = TlsRequirement::kOptional;     // Mx routes only (never a relay)
  TlsRequirement mta_sts = TlsRequirement::kOptional;  // Mx routes only (never a relay)
  bool allow_invalid_certs = false;
  Millis tls_timeout{std::chrono::minutes(3)};
  Millis mta_sts_timeout{std::chrono::minutes(5)};
};

// DANE / MTA-STS / TLS-RPT settings of the daemon (DESIGN.md §3 `tlsPolicy`, docs/TLS-POLICY.md).
struct TlsPolicyConfig {
  // PEM bundle trusted instead of the system store, for MTA-STS policy fetches and the
  // certificate checks of outbound SMTP; "" = the system store. Tests point it at their CA.
  std::string ca_file;
  uint16_t mta_sts_port = 443;  // RFC 8461 fixes 443; tests serve the policy elsewhere
  bool reports = true;          // send TLS-RPT aggregate reports (RFC 8460)
  Millis report_interval{std::chrono::hours(24)};  // the reporting period (daily)
  std::string report_organization;  // "" = the server hostname
  std::string report_contact;       // "" = postmaster@<hostname>
  std::string report_sender;        // "" = noreply-smtp-tls-reporting@<hostname>
  friend bool operator==(const TlsPolicyConfig&, const TlsPolicyConfig&) = default;
};

// One of the four strategy expressions, with the object each literal result names resolved
// at load (index into the matching vector of Config; -1 when the result is computed).
struct CompiledStrategy {
  IfBlock block;
  std::vector<int> rule_targets;  // per rule
  int else_target = -1;
};

struct Config {
  ServerConfig server;
  std::vector<ListenerConfig> listeners;
  AdminConfig admin;
  DnsConfig dns;
  std::vector<std::string> local_domains;  // lower case, as configured
  Lookups lookups;  // local domains/users and named lists, for expression functions
  LocalDeliveryConfig local;
  QueueConfig queue;
  TlsPolicyConfig tls_policy;
  std::vector<Route> routes;
  std::vector<VirtualQueue> virtual_queues;
  std::vector<Schedule> schedules;
  std::vector<ConnectionStrategy> connection_strategies;
  std::vector<TlsStrategy> tls_strategies;
  CompiledStrategy route_strategy;
  CompiledStrategy schedule_strategy;
  CompiledStrategy connection_strategy;
  CompiledStrategy tls_strategy;
  StringMap<int> route_index, virtual_queue_index, schedule_index, connection_index, tls_index;

  const Route* FindRoute(std::string_view name) const;
  const VirtualQueue* FindVirtualQueue(std::string_view name) const;
  const Schedule* FindSchedule(std::string_view name) const;
  const ConnectionStrategy* FindConnectionStrategy(std::string_view name) const;
  const TlsStrategy* FindTlsStrategy(std::string_view name) const;
};

std::string_view IpLookupName(IpLookup v);
std::string_view TlsRequirementName(TlsRequirement v);
std::string_view RouteKindName(Route::Kind k);
// "tlsStrategies.<name>.dane" (or ".mtaSts") when the strategy requires DANE (or MTA-STS), which
// no relay route can satisfy; "" otherwise.
std::string RelayTlsRequirementKey(const TlsStrategy& s);

}  // namespace outpost::router
