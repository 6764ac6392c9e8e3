#include "tools/outpostd/queue_ingest_sink.h"

#include <memory>
#include <string>
#include <utility>

#include "common/logging.h"

namespace outpost::daemon {
namespace {

uint32_t NotifyBits(const transport::NotifyFlags& n) {
  uint32_t bits = 0;
  if (n.never) bits |= queue::kNotifyNever;
  if (n.success) bits |= queue::kNotifySuccess;
  if (n.failure) bits |= queue::kNotifyFailure;
  if (n.delay) bits |= queue::kNotifyDelay;
  return bits;
}

proto::DsnRet RetOf(transport::DsnRet r) {
  switch (r) {
    case transport::DsnRet::kFull:
      return proto::RET_FULL;
    case transport::DsnRet::kHeaders:
      return proto::RET_HEADERS;
    case transport::DsnRet::kUnspecified:
      break;
  }
  return proto::RET_UNSPECIFIED;
}

}  // namespace

queue::NewMessage ToNewMessage(smtp_server::IngestedMessage m) {
  queue::NewMessage out;
  out.return_path = std::move(m.return_path);
  out.body = std::move(m.body);
  out.received_unix_ms = m.received_unix_ms;
  out.source =
      m.source == "authenticated" ? proto::SOURCE_AUTHENTICATED : proto::SOURCE_UNAUTHENTICATED;
  out.env_id = std::move(m.envid);
  out.ret = RetOf(m.ret);
  out.smtputf8 = m.smtputf8;
  out.eight_bit_mime = m.eight_bit;
  out.client_ip = std::move(m.client_ip);
  out.client_port = m.client_port > 0 ? static_cast<uint32_t>(m.client_port) : 0;
  out.recipients.reserve(m.recipients.size());
  for (auto& r : m.recipients) {
    queue::NewRecipient nr;
    nr.address = std::move(r.address);
    nr.orcpt = std::move(r.orcpt);
    nr.notify_flags = NotifyBits(r.notify);
    out.recipients.push_back(std::move(nr));
  }
  return out;
}

Status IngestErrorFor(const Status& store_error, bool below_watermark) {
  if (below_watermark) {
    return Status::NoSpace("below the free-space watermark: " + store_error.message());
  }
  if (store_error.Is(Status::Code::kNoSpace)) {
    // Disk full is a store error like any other I/O error: 451 while it resumes.
    return Status::IoError(store_error.message());
  }
  return store_error;
}

void QueueIngestSink::Submit(smtp_server::IngestedMessage message, Done done) {
  std::string trace_id = message.trace_id;
  size_t rcpts = message.recipients.size();
  submit_(ToNewMessage(std::move(message)),
          [this, trace_id, rcpts, done = std::move(done)](StatusOr<uint64_t> id) {
            if (id.ok()) {
              ++accepted_;
              done(std::move(id));
              return;
            }
            ++refused_;
            Status mapped = IngestErrorFor(id.status(), store_.BelowFreeSpaceWatermark());
            OUTPOST_LOG_WARN("ingest.store_failed", {"trace", trace_id}, {"rcpts", rcpts},
                             {"error", id.status().ToString()});
            done(std::move(mapped));
          });
}

}  // namespace outpost::daemon
