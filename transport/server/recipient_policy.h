#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "transport/server/ip_address.h"
#include "transport/server/listener_options.h"
#include "transport/server/smtp_address.h"

namespace outpost::smtp_server {

enum class RcptDecision {
  kLocal,        // a local domain (or postmaster): accepted from anyone
  kRelay,        // a remote domain from a trusted client
  kUnknownUser,  // local domain, user not in the list: 550 5.1.1
  kRelayDenied,  // remote domain from an untrusted client: 554 5.7.1
};

// Who may send to whom, built once from ListenerOptions. Immutable and thread-compatible.
class RecipientPolicy {
 public:
  static StatusOr<RecipientPolicy> Create(const ListenerOptions& options);

  bool IsRelayNetwork(const IpAddress& ip) const;
  bool IsLocalDomain(std::string_view domain) const;
  // `trusted`: the client is in a relay network or has authenticated.
  RcptDecision Decide(const Mailbox& rcpt, bool trusted) const;

 private:
  std::vector<CidrRange> relay_networks_;
  std::unordered_set<std::string> local_domains_;               // lower case
  std::optional<std::unordered_set<std::string>> local_users_;  // lower case
};

}  // namespace outpost::smtp_server
