#include "scheduler/envelope_fields.h"

#include <algorithm>

namespace outpost::scheduler {
namespace {

std::string StatusText(const proto::RecipientRecord& r) {
  const proto::SmtpReply& reply = r.last_reply();
  std::string detail;
  if (reply.code() != 0) {
    detail = std::to_string(reply.code());
    if (!reply.enhanced().empty()) detail += " " + reply.enhanced();
    if (!reply.text().empty()) detail += " " + reply.text();
  } else {
    detail = r.last_error();
  }
  const std::string entity = reply.host().empty() ? "localhost" : reply.host();
  switch (r.state()) {
    case proto::STATE_DEFERRED:
      return "Temporary Failure for " + entity + ": " + detail;
    case proto::STATE_FAILED:
      return "Permanent Failure for " + entity + ": " + detail;
    case proto::STATE_DELIVERED:
      return "Delivered: " + detail;
    default:
      return "Scheduled";
  }
}

void FillSender(std::string_view return_path, EnvelopeFields* f) {
  auto split = router::NormalizeAddress(return_path);
  f->sender = std::move(split.address);
  f->sender_domain = std::move(split.domain);
}

void FillRcpt(std::string_view address, EnvelopeFields* f) {
  auto split = router::NormalizeAddress(address);
  f->rcpt = std::move(split.address);
  f->rcpt_domain = std::move(split.domain);
}

}  // namespace

router::Envelope EnvelopeFields::View() const {
  router::Envelope e;
  e.rcpt = rcpt;
  e.rcpt_domain = rcpt_domain;
  if (recipients) e.recipients = std::span<const std::string>(*recipients);
  e.sender = sender;
  e.sender_domain = sender_domain;
  e.priority = priority;
  e.retry_num = retry_num;
  e.notify_num = notify_num;
  e.expires_in = expires_in;
  e.last_status = last_status;
  e.last_error = last_error;
  e.queue_name = queue_name;
  e.queue_age = queue_age;
  e.source = source;
  e.size = size;
  e.received_from_ip = received_from_ip;
  e.received_via_port = received_via_port;
  e.mx = mx;
  e.remote_ip = remote_ip;
  e.local_ip = local_ip;
  return e;
}

std::string_view SourceName(proto::MessageSource source) {
  switch (source) {
    case proto::SOURCE_AUTHENTICATED: return "authenticated";
    case proto::SOURCE_UNAUTHENTICATED: return "unauthenticated";
    case proto::SOURCE_DSN: return "dsn";
    case proto::SOURCE_REPORT: return "report";
    case proto::SOURCE_API: return "api";
    default: return "unknown";
  }
}

std::shared_ptr<const std::vector<std::string>> LowerRecipients(const proto::MessageRecord& m) {
  auto out = std::make_shared<std::vector<std::string>>();
  out->reserve(m.recipients_size());
  for (const auto& a : m.recipients()) out->push_back(router::NormalizeAddress(a).address);
  return out;
}

EnvelopeFields EnvelopeForRecord(const proto::MessageRecord& message,
                                 std::shared_ptr<const std::vector<std::string>> recipients,
                                 const proto::RecipientRecord& rcpt, int64_t now_unix_ms) {
  EnvelopeFields f;
  FillRcpt(rcpt.address(), &f);
  f.recipients = std::move(recipients);
  FillSender(message.return_path(), &f);
  f.priority = message.priority();
  f.retry_num = rcpt.retry_num();
  f.notify_num = rcpt.notify_num();
  if (rcpt.max_attempts() > 0) {
    f.expires_in = std::max<int64_t>(0, int64_t{rcpt.max_attempts()} - rcpt.retry_num());
  } else if (rcpt.expiry_unix_ms() > 0) {
    f.expires_in = std::max<int64_t>(0, (rcpt.expiry_unix_ms() - now_unix_ms) / 1000);
  }
  f.last_status = StatusText(rcpt);
  f.last_error = rcpt.last_error().empty() ? "none" : rcpt.last_error();
  f.queue_name = rcpt.virtual_queue();
  f.queue_age = std::max<int64_t>(0, (now_unix_ms - message.received_unix_ms()) / 1000);
  f.source = std::string(SourceName(message.source()));
  f.size = static_cast<int64_t>(message.size_bytes());
  f.received_from_ip = message.client_ip();
  // The store keeps the client's port only; the listener port is not recorded (see report).
  f.received_via_port = 0;
  return f;
}

EnvelopeFields EnvelopeForNew(const queue::NewMessage& message,
                              std::shared_ptr<const std::vector<std::string>> recipients,
                              size_t idx, int64_t now_unix_ms) {
  EnvelopeFields f;
  FillRcpt(message.recipients[idx].address, &f);
  f.recipients = std::move(recipients);
  FillSender(message.return_path, &f);
  f.priority = message.priority;
  f.queue_age = std::max<int64_t>(0, (now_unix_ms - message.received_unix_ms) / 1000);
  f.source = std::string(SourceName(message.source));
  f.size = static_cast<int64_t>(message.body.size());
  f.received_from_ip = message.client_ip;
  return f;
}

}  // namespace outpost::scheduler
