#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/api/delivery.h"

namespace outpost::smtp_server {

using transport::DsnRet;
using transport::NotifyFlags;

// One accepted recipient of an ingested message.
struct IngestedRecipient {
  std::string address;  // as in RCPT TO, without brackets
  std::string orcpt;    // "addr-type;address", xtext-decoded, or ""
  NotifyFlags notify;
};

// A complete, valid message handed to the queue. Everything here came from the network and
// is bounded: addresses by RFC 5321 limits, the body by maxMessageSize.
struct IngestedMessage {
  std::string return_path;  // "" for <>
  std::vector<IngestedRecipient> recipients;
  // CRLF line endings, dot-unstuffing undone, our Received header first.
  std::string body;
  std::string source;     // "authenticated" or "unauthenticated"
  std::string auth_user;  // the AUTH identity, "" when not authenticated
  std::string envid;      // ENVID, xtext-decoded
  DsnRet ret = DsnRet::kUnspecified;
  bool smtputf8 = false;
  bool eight_bit = false;  // BODY=8BITMIME
  std::string client_ip;
  int client_port = 0;
  std::string helo;
  std::string trace_id;  // the Received header's "id", also in the listener's log lines
  int64_t received_unix_ms = 0;
};

// Implemented by the daemon (the queue's accept path). All methods are called on the listener's
// loop thread and must not block it (no fsync, no RocksDB write on the caller's stack).
class IngestSink {
 public:
  using Done = std::function<void(StatusOr<uint64_t> queue_id)>;
  virtual ~IngestSink() = default;

  // Takes ownership of `message`. `done` must be called exactly once, on the loop thread,
  // after the message is durably stored (queue id) or with the error: kNoSpace -> 452 4.3.1,
  // anything else -> 451 4.3.0. The session answers the final dot only then. `done` may be
  // called after the client has gone away; the session guards against that itself.
  virtual void Submit(IngestedMessage message, Done done) = 0;

  // True while the store is below its free-space watermark: MAIL gets 452 4.3.1.
  virtual bool BelowFreeSpaceWatermark() = 0;
};

}  // namespace outpost::smtp_server
