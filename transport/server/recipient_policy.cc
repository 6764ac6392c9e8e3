#include "transport/server/recipient_policy.h"

namespace outpost::smtp_server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

}  // namespace

StatusOr<RecipientPolicy> RecipientPolicy::Create(const ListenerOptions& options) {
  RecipientPolicy p;
  for (const auto& n : options.relay_networks) {
    OUTPOST_ASSIGN_OR_RETURN(CidrRange r, CidrRange::Parse(n));
    p.relay_networks_.push_back(r);
  }
  for (const auto& d : options.local_domains) p.local_domains_.insert(Lower(d));
  if (options.local_users) {
    p.local_users_.emplace();
    for (const auto& u : *options.local_users) p.local_users_->insert(Lower(u));
  }
  return p;
}

bool RecipientPolicy::IsRelayNetwork(const IpAddress& ip) const {
  for (const auto& r : relay_networks_) {
    if (r.Contains(ip)) return true;
  }
  return false;
}

bool RecipientPolicy::IsLocalDomain(std::string_view domain) const {
  return local_domains_.count(Lower(domain)) != 0;
}

RcptDecision RecipientPolicy::Decide(const Mailbox& rcpt, bool trusted) const {
  // RFC 5321 4.5.1: postmaster must always be accepted.
  if (rcpt.domain.empty()) return RcptDecision::kLocal;
  if (IsLocalDomain(rcpt.domain)) {
    std::string local = Lower(rcpt.local_part);
    if (!local_users_ || local == "postmaster" || local_users_->count(local) != 0 ||
        local_users_->count(local + "@" + Lower(rcpt.domain)) != 0) {
      return RcptDecision::kLocal;
    }
    return RcptDecision::kUnknownUser;
  }
  return trusted ? RcptDecision::kRelay : RcptDecision::kRelayDenied;
}

}  // namespace outpost::smtp_server
