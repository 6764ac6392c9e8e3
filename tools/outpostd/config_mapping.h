#pragma once

#include <string>

#include "router/config.h"
#include "transport/dns/mx_planner.h"
#include "transport/local/maildir_agent.h"
#include "transport/server/listener_options.h"

namespace outpost::daemon {

// Translations from the validated config model (router/config.h) to the options of the parts
// the daemon composes. Pure.

// One `listeners[]` entry plus the global localDomains, local.users and queue.maxMessageSize
// (a listener's own maxMessageSize wins). `hostname` is the resolved server host name.
smtp_server::ListenerOptions ListenerOptionsFor(const router::Config& config,
                                                const router::ListenerConfig& listener,
                                                const std::string& hostname);

// Our names and listener endpoints, so MX planning never sends mail back to us.
transport::dns::MxSelfIdentity SelfIdentityFor(const router::Config& config,
                                               const std::string& hostname);

// `local.maildirRoot` ("" = "<dataDir>/mail"), localDomains, local.users.
transport::local::MaildirAgentOptions MaildirOptionsFor(const router::Config& config,
                                                        const std::string& hostname);

// server.hostname, or the system host name when it is empty ("localhost" if even that fails).
std::string ResolveHostname(const router::Config& config);

}  // namespace outpost::daemon
