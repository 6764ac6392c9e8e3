#include "transport/local/mailbox_address.h"

#include <algorithm>

namespace outpost::transport::local {
namespace {

constexpr size_t kMaxComponent = 255;  // NAME_MAX on Linux file systems

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

MailboxLookup Reject(std::string enhanced, std::string text) {
  MailboxLookup r;
  r.rejection = SmtpReply{550, std::move(enhanced), std::move(text)};
  return r;
}

// Why `local` cannot be a path component, or "" when it can.
std::string_view UnsafeLocalPart(std::string_view local) {
  if (local.empty()) return "empty local part";
  if (local.size() > kMaxComponent) return "local part too long";
  if (local.front() == '.') return "local part starts with '.'";
  for (unsigned char c : local) {
    if (c == '/') return "local part contains '/'";
    if (c < 0x20 || c == 0x7F) return "local part contains a control character";
  }
  return "";
}

}  // namespace

MailboxLookup LookupMailbox(std::string_view address, const LocalMailboxPolicy& policy) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return Reject("5.1.3", "address has no domain");
  const std::string local = Lower(address.substr(0, at));
  std::string domain = Lower(address.substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();

  // The domain check first: a non-local domain is a routing error whatever its local part.
  const bool is_local = std::any_of(policy.local_domains.begin(), policy.local_domains.end(),
                                    [&](const std::string& d) { return Lower(d) == domain; });
  if (domain.empty() || !is_local) {
    return Reject("5.1.2", "domain " + domain + " is not a local domain");
  }
  // Local domains come from our config, but they too become a path component.
  if (!UnsafeLocalPart(domain).empty() || domain.find('/') != std::string::npos) {
    return Reject("5.1.2", "domain " + domain + " is not a safe maildir name");
  }
  if (std::string_view why = UnsafeLocalPart(local); !why.empty()) {
    return Reject("5.1.3", "bad mailbox address: " + std::string(why));
  }
  if (policy.users) {
    const std::string full = local + "@" + domain;
    const bool known =
        std::any_of(policy.users->begin(), policy.users->end(), [&](const std::string& u) {
          const std::string lu = Lower(u);
          return lu == local || lu == full;
        });
    if (!known) return Reject("5.1.1", "mailbox " + full + " does not exist");
  }
  MailboxLookup r;
  r.mailbox = MaildirMailbox{domain, local};
  return r;
}

}  // namespace outpost::transport::local
