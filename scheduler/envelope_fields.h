#pragma once
// The router's variable set for one recipient, built from queue records (or from a message
// being submitted). router::Envelope holds views only; EnvelopeFields owns the strings so an
// Envelope built from it stays valid as long as the EnvelopeFields lives.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "outpost_queue.pb.h"
#include "queue/types.h"
#include "router/envelope.h"

namespace outpost::scheduler {

struct EnvelopeFields {
  std::string rcpt;
  std::string rcpt_domain;
  // Shared by every recipient of a message (a 10,000-recipient message is not copied 10,000
  // times). Never null.
  std::shared_ptr<const std::vector<std::string>> recipients;
  std::string sender;
  std::string sender_domain;
  int64_t priority = 0;
  int64_t retry_num = 0;
  int64_t notify_num = 0;
  int64_t expires_in = 0;
  std::string last_status = "Scheduled";
  std::string last_error = "none";
  std::string queue_name;
  int64_t queue_age = 0;
  std::string source = "unknown";
  int64_t size = 0;
  std::string received_from_ip;
  int64_t received_via_port = 0;
  // HOST set (connection/tls expressions only).
  std::string mx;
  std::string remote_ip;
  std::string local_ip;

  // Views into this object: valid while it lives and is not modified.
  router::Envelope View() const;
};

// "authenticated", "unauthenticated", "dsn", "report", "api"; "unknown" when unspecified.
std::string_view SourceName(proto::MessageSource source);

// Lower-cased recipient addresses of a stored message, in RCPT order.
std::shared_ptr<const std::vector<std::string>> LowerRecipients(const proto::MessageRecord& m);

// The RCPT variable set of a stored recipient at `now_unix_ms`.
EnvelopeFields EnvelopeForRecord(const proto::MessageRecord& message,
                                 std::shared_ptr<const std::vector<std::string>> recipients,
                                 const proto::RecipientRecord& rcpt, int64_t now_unix_ms);

// The RCPT variable set of recipient `idx` of a message not stored yet (first attempt).
EnvelopeFields EnvelopeForNew(const queue::NewMessage& message,
                              std::shared_ptr<const std::vector<std::string>> recipients,
                              size_t idx, int64_t now_unix_ms);

}  // namespace outpost::scheduler
