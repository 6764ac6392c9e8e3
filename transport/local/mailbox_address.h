#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/api/delivery.h"

namespace outpost::transport::local {

// Which local mailboxes exist.
struct LocalMailboxPolicy {
  std::vector<std::string> local_domains;  // any case; only these are delivered locally
  // `local.users`: nullopt accepts every safe local part; otherwise entries are "user"
  // (that local part in every local domain) or "user@domain". Compared case-insensitively.
  std::optional<std::vector<std::string>> users;
};

// A validated mailbox: both parts are lower case and safe as single path components.
struct MaildirMailbox {
  std::string domain;
  std::string local;
};

// Either the mailbox or the permanent reply refusing it.
struct MailboxLookup {
  std::optional<MaildirMailbox> mailbox;
  SmtpReply rejection;  // set when !mailbox
};

// Maps a recipient address to its mailbox (DESIGN.md §4 Maildir). The local part must be one
// safe path component: not empty, not "." or "..", no '/', no leading '.', no control
// characters or DEL, at most 255 bytes -> else 550 5.1.3. The domain must be local -> else
// 550 5.1.2. With a users list, an unknown user -> 550 5.1.1. Pure; any input is safe.
MailboxLookup LookupMailbox(std::string_view address, const LocalMailboxPolicy& policy);

}  // namespace outpost::transport::local
