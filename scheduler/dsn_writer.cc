#include "scheduler/dsn_writer.h"

namespace outpost::scheduler {

StatusOr<queue::NewMessage> DsnWriter::Build(const proto::MessageRecord& message,
                                             std::string_view body, dsn::DsnEvent event,
                                             const std::vector<dsn::RecipientReport>& recipients,
                                             std::string_view reporting_mta,
                                             int64_t now_unix_ms) const {
  if (message.return_path().empty()) {
    return Status::InvalidArgument("no DSN for a message with the null return path");
  }
  dsn::DsnComposerOptions opts;
  opts.reporting_mta = std::string(reporting_mta);
  dsn::DsnComposer composer(std::move(opts), random_);
  dsn::OriginalMessage original;
  original.id = message.id();
  original.return_path = message.return_path();
  original.envid = message.env_id();
  switch (message.ret()) {
    case proto::RET_FULL: original.ret = dsn::DsnRet::kFull; break;
    case proto::RET_HEADERS: original.ret = dsn::DsnRet::kHeaders; break;
    default: original.ret = dsn::DsnRet::kUnspecified; break;
  }
  original.arrival_unix_ms = message.received_unix_ms();
  original.raw = body;
  OUTPOST_ASSIGN_OR_RETURN(dsn::ComposedDsn composed,
                           composer.Compose(original, event, recipients, now_unix_ms));
  queue::NewMessage out;
  out.return_path = "";
  out.body = std::move(composed.message);
  out.received_unix_ms = now_unix_ms;
  out.source = proto::SOURCE_DSN;
  out.smtputf8 = composed.smtputf8;
  out.eight_bit_mime = composed.eight_bit;
  queue::NewRecipient r;
  r.address = composed.envelope_to;
  r.notify_flags = queue::kNotifyNever;  // never a report about a report
  out.recipients.push_back(std::move(r));
  return out;
}

}  // namespace outpost::scheduler
